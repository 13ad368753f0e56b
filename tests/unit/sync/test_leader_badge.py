"""The leader's pod labels: on while leading, off on every way out."""

from __future__ import annotations

import asyncio

import pytest

from fluxd.errors import ClusterError
from fluxd.sync.badge import LeaderBadge


class FakePods:
    """Pod labels as a set of labelled pod names; ``broken`` pods refuse every patch."""

    def __init__(self, labelled: set[str], broken: frozenset[str] = frozenset()) -> None:
        self.labelled = labelled
        self.broken = broken

    def put_on(self, pod: str) -> None:
        self._check(pod)
        self.labelled.add(pod)

    def take_off(self, pod: str) -> None:
        self._check(pod)
        self.labelled.discard(pod)

    def _check(self, pod: str) -> None:
        if pod in self.broken:
            raise ClusterError(f"patching pod flux/{pod}: forbidden")


def test_the_leader_wears_the_labels_alone_and_takes_them_off_the_previous_leader() -> None:
    pods = FakePods({"flux-a"})  # the previous leader died wearing them
    badge = LeaderBadge(pods, pod="flux-b")
    seen: list[set[str]] = []

    async def lead() -> None:
        async with badge.worn("flux-a"):
            seen.append(set(pods.labelled))

    asyncio.run(lead())
    assert seen == [{"flux-b"}]
    assert pods.labelled == set()


def test_losing_leadership_mid_sync_takes_the_labels_off() -> None:
    pods = FakePods(set())
    badge = LeaderBadge(pods, pod="flux-b")

    async def lead_until_cancelled() -> None:
        started = asyncio.Event()

        async def syncing() -> None:
            async with badge.worn(""):
                started.set()
                await asyncio.Event().wait()

        task = asyncio.create_task(syncing())
        await started.wait()
        assert pods.labelled == {"flux-b"}
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(lead_until_cancelled())
    assert pods.labelled == set()


def test_a_replica_starting_takes_the_labels_off_its_own_pod() -> None:
    pods = FakePods({"flux-b"})  # its container restarted; the pod kept the labels
    asyncio.run(LeaderBadge(pods, pod="flux-b").take_off_own())
    assert pods.labelled == set()


def test_a_label_that_cannot_be_written_is_logged_and_leading_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pods = FakePods(set(), broken=frozenset({"flux-b"}))
    led: list[bool] = []

    async def lead() -> None:
        async with LeaderBadge(pods, pod="flux-b").worn(""):
            led.append(True)

    asyncio.run(lead())
    assert led == [True]
    assert "event=leader-label-failed pod=flux-b" in caplog.text
