"""Leader election's rules, on a Lease kept in memory and a clock that jumps.

The Lease here keeps the one property of the API server the rules rely on:
a write carrying an old version is refused (409), so of two replicas racing
for the Lease exactly one wins. The real Lease is exercised by
tests/reliability/test_replicas.py.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from fluxd.cluster.lease import LeaseConflict, LeaseRecord
from fluxd.errors import ClusterError
from fluxd.settings import LeaderSettings
from fluxd.sync.election import LeaderElector, advertised
from unit.sync.fakeclock import FakeClock, until

TIMINGS = LeaderSettings(elect=True, lease_duration=15.0, renew_deadline=10.0, retry_period=2.0)


class MemoryLease:
    """A Lease with the API server's optimistic concurrency."""

    name = "flux/fluxd-leader"

    def __init__(self) -> None:
        self.record: LeaseRecord | None = None
        self.serial = 0
        self.failing: set[str] = set()  # identities whose requests fail (a partition)

    def get(self) -> LeaseRecord | None:
        return self.record

    def write(self, record: LeaseRecord, *, previous: LeaseRecord | None) -> LeaseRecord:
        if record.holder in self.failing:
            raise ClusterError("connection refused", transient=True)
        current = self.record.version if self.record else ""
        if (previous.version if previous else "") != current:
            raise LeaseConflict("written by another replica first")
        self.serial += 1
        self.record = dataclasses.replace(record, version=str(self.serial))
        return self.record


class Replica:
    def __init__(self, name: str, lease: MemoryLease, clock: FakeClock) -> None:
        self.changes: list[bool] = []
        settings = dataclasses.replace(TIMINGS, identity=name)
        self.elector = LeaderElector(
            lease, settings, address=f"{name}:3030", clock=clock, on_change=self.changes.append
        )

    def step(self) -> None:
        asyncio.run(self.elector.step())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def lease() -> MemoryLease:
    return MemoryLease()


def test_the_first_replica_takes_a_free_lease_and_the_other_follows_it(
    clock: FakeClock, lease: MemoryLease
) -> None:
    a, b = Replica("a", lease, clock), Replica("b", lease, clock)
    a.step()
    b.step()

    assert a.elector.may_write() and a.changes == [True]
    assert not b.elector.may_write() and b.changes == []
    view = b.elector.view()
    assert (view.leading, view.leader, view.leader_address) == (False, "a", "a:3030")


def test_a_standby_takes_over_only_once_the_lease_went_unrenewed_for_its_duration(
    clock: FakeClock, lease: MemoryLease
) -> None:
    a, b = Replica("a", lease, clock), Replica("b", lease, clock)
    a.step()
    b.step()  # b sees a's claim now
    lease.failing.add("a")  # a can no longer reach the API server
    clock.now += 14.9
    b.step()
    assert not b.elector.leading

    clock.now += 0.2
    b.step()
    assert b.elector.may_write()
    assert lease.record is not None and lease.record.holder == "b"
    assert lease.record.transitions == 2  # a's claim, then b's


def test_a_leader_that_cannot_renew_stops_writing_before_anyone_may_take_over(
    clock: FakeClock, lease: MemoryLease
) -> None:
    a = Replica("a", lease, clock)
    a.step()
    lease.failing.add("a")
    clock.now += 9.9
    a.step()
    assert a.elector.may_write()  # still within the renew deadline

    clock.now += 0.2  # 10.1 s after the last renewal, 4.9 s before the lease expires
    assert not a.elector.may_write()
    a.step()
    assert a.changes == [True, False]


def test_the_fence_closes_on_the_clock_alone_even_between_looks(
    clock: FakeClock, lease: MemoryLease
) -> None:
    # A pass in a worker thread asks may_write before every write; nothing
    # has to run on the event loop for the answer to turn false.
    a = Replica("a", lease, clock)
    a.step()
    clock.now += TIMINGS.renew_deadline
    assert not a.elector.may_write()


def test_of_two_replicas_claiming_a_free_lease_at_once_only_one_wins(
    clock: FakeClock, lease: MemoryLease
) -> None:
    a, b = Replica("a", lease, clock), Replica("b", lease, clock)

    async def both() -> None:
        # Both read the empty Lease before either writes.
        await asyncio.gather(a.elector.step(), b.elector.step())

    asyncio.run(both())
    assert [a.elector.leading, b.elector.leading].count(True) == 1
    assert lease.record is not None and lease.record.transitions == 1


def test_a_leader_renews_and_keeps_leading(clock: FakeClock, lease: MemoryLease) -> None:
    a, b = Replica("a", lease, clock), Replica("b", lease, clock)
    for _ in range(20):  # 40 s: far past one lease duration
        a.step()
        b.step()
        clock.now += TIMINGS.retry_period
    assert a.elector.leading and not b.elector.leading
    assert a.changes == [True]


def test_a_leader_that_stops_lets_the_lease_go_so_the_standby_need_not_wait(
    clock: FakeClock, lease: MemoryLease
) -> None:
    a, b = Replica("a", lease, clock), Replica("b", lease, clock)

    async def run_then_stop() -> None:
        task = asyncio.create_task(a.elector.run())
        await until(lambda: a.elector.leading)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run_then_stop())
    assert lease.record is not None and lease.record.holder == ""
    b.step()
    assert b.elector.leading


def test_a_restarted_replica_takes_back_its_own_lease_at_once(
    clock: FakeClock, lease: MemoryLease
) -> None:
    Replica("a", lease, clock).step()
    again = Replica("a", lease, clock)  # the same pod, its container restarted
    again.step()
    assert again.elector.leading
    assert lease.record is not None and lease.record.transitions == 1


def test_work_runs_only_while_leading(clock: FakeClock, lease: MemoryLease) -> None:
    a = Replica("a", lease, clock)
    runs: list[str] = []

    async def work() -> None:
        runs.append("started")
        try:
            await asyncio.Event().wait()
        finally:
            runs.append("stopped")

    async def scenario() -> None:
        task = asyncio.create_task(a.elector.while_leading(work))
        await a.elector.step()
        await until(lambda: runs == ["started"])
        lease.failing.add("a")
        clock.now += TIMINGS.renew_deadline + 1
        await a.elector.step()
        await until(lambda: runs == ["started", "stopped"])
        task.cancel()

    asyncio.run(scenario())
    assert runs == ["started", "stopped"]


@pytest.mark.parametrize(
    ("address", "listen", "expected"),
    [
        ("10.0.0.7", ":3030", "10.0.0.7:3030"),
        ("127.0.0.1:4000", ":3030", "127.0.0.1:4000"),
        ("fd00::7", "0.0.0.0:3030", "[fd00::7]:3030"),
        ("[fd00::7]:3030", ":3030", "[fd00::7]:3030"),
        ("", ":3030", ""),
    ],
)
def test_the_advertised_address_takes_the_listen_port_when_it_has_none(
    address: str, listen: str, expected: str
) -> None:
    assert advertised(address, listen) == expected
