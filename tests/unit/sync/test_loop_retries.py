"""A pass or fetch that failed for a passing reason is retried within seconds.

Every wait goes through a fake clock: the tests check the exact schedule
(1 s, 2 s, 4 s ... capped) and the return to the interval, and never sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import pytest

from fluxd.errors import ClusterError, GitError
from fluxd.sync.loop import LoopTimings, SyncLoop
from unit.sync.fakeclock import FakeClock, until

INTERVAL = 300.0
POLL = 1000.0


@dataclass
class Outcome:
    needs_retry: bool
    success: bool = True
    applied: int = 0

    def __post_init__(self) -> None:
        self.success = self.success and not self.needs_retry


LASTING = Outcome(needs_retry=False, success=False)  # e.g. RBAC forbids an object


class ReadyMirror:
    """Always ready; ``refresh`` fails ``failures`` times first."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.fetches = 0

    ready = True
    status = "ready"

    def advance(self) -> None:
        return None

    def refresh(self) -> str:
        self.fetches += 1
        if self.fetches <= self.failures:
            raise GitError("could not connect to git.example.com")
        return "a" * 40


class ScriptedPasses:
    """Plays one step per pass: an outcome to return or an exception to raise."""

    def __init__(self, *steps: Outcome | Exception) -> None:
        self.steps = list(steps)
        self.kinds: list[bool] = []

    async def __call__(self, full: bool) -> Outcome:
        self.kinds.append(full)
        step = self.steps.pop(0) if self.steps else Outcome(False)
        if isinstance(step, Exception):
            raise step
        return step


def _loop(passes: ScriptedPasses, clock: FakeClock, mirror: ReadyMirror | None = None) -> SyncLoop:
    timings = LoopTimings(poll_interval=POLL, sync_interval=INTERVAL, retry_max_delay=30)
    return SyncLoop(mirror or ReadyMirror(), passes, timings, clock=clock, rand=lambda: 0.0)


async def _run_until(loop: SyncLoop, condition: object) -> None:
    # The first fetch's new HEAD also asks for a pass, at a moment threads
    # decide; the scripted outcomes play in order whoever asked, so the
    # tests look at the first passes and waits only.
    task = asyncio.create_task(loop.run())
    try:
        await until(condition)  # type: ignore[arg-type]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_passes_that_need_a_retry_are_retried_at_1_2_4_seconds_then_the_interval() -> None:
    async def scenario() -> list[float]:
        clock = FakeClock()
        passes = ScriptedPasses(Outcome(True), Outcome(True), Outcome(True), Outcome(False))
        loop = _loop(passes, clock)
        await _run_until(loop, lambda: loop.passes >= 4)
        await until(lambda: len(clock.waits_on(loop._sync_wanted)) >= 5)
        return clock.waits_on(loop._sync_wanted)[:5]

    waits = asyncio.run(scenario())
    # Start-up's wait (its request is already there), three retries, then the interval.
    assert waits == [INTERVAL, 1, 2, 4, INTERVAL]


def test_retries_are_capped() -> None:
    async def scenario() -> list[float]:
        clock = FakeClock()
        passes = ScriptedPasses(*[Outcome(True)] * 8)
        loop = _loop(passes, clock)
        await _run_until(loop, lambda: loop.passes >= 9)
        return clock.waits_on(loop._sync_wanted)

    assert asyncio.run(scenario())[1:9] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_a_crashed_pass_is_retried_and_its_traceback_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    crash = ClusterError("saving inventory ConfigMap flux-inventory: connection refused")

    async def scenario() -> tuple[list[float], int]:
        clock = FakeClock()
        passes = ScriptedPasses(crash, crash, crash, Outcome(False))
        loop = _loop(passes, clock)
        await _run_until(loop, lambda: loop.passes >= 4)
        return clock.waits_on(loop._sync_wanted)[1:4], loop.retries

    with caplog.at_level(logging.WARNING, logger="fluxd.sync.loop"):
        waits, retries = asyncio.run(scenario())
    assert waits == [1, 2, 4]
    assert retries == 3
    tracebacks = [r for r in caplog.records if r.exc_info is not None]
    assert len(tracebacks) == 1
    assert "sync-crashed" in tracebacks[0].getMessage()
    assert sum("sync-crashed-again" in r.getMessage() for r in caplog.records) == 2


def test_a_different_crash_logs_its_own_traceback(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        passes = ScriptedPasses(ClusterError("one"), RuntimeError("two"), Outcome(False))
        loop = _loop(passes, FakeClock())
        await _run_until(loop, lambda: loop.passes >= 3)

    with caplog.at_level(logging.WARNING, logger="fluxd.sync.loop"):
        asyncio.run(scenario())
    assert len([r for r in caplog.records if r.exc_info is not None]) == 2


def test_a_retry_repeats_a_full_pass_as_a_full_pass() -> None:
    async def scenario() -> list[bool]:
        passes = ScriptedPasses(Outcome(True), Outcome(False))
        loop = _loop(passes, FakeClock())
        await _run_until(loop, lambda: loop.passes >= 2)
        return passes.kinds

    # (A later pass may follow: the first fetch's new HEAD asks for one.)
    assert asyncio.run(scenario())[:2] == [True, True]


def test_a_failed_fetch_is_retried_within_seconds_capped_at_the_not_ready_retry() -> None:
    async def scenario() -> tuple[list[float], int]:
        clock = FakeClock()
        mirror = ReadyMirror(failures=5)
        loop = _loop(ScriptedPasses(), clock, mirror)
        await _run_until(loop, lambda: mirror.fetches == 6 and loop.passes >= 1)
        await until(lambda: POLL in clock.waits_on(loop._fetch_wanted))
        return clock.waits_on(loop._fetch_wanted), mirror.fetches

    waits, fetches = asyncio.run(scenario())
    # Capped at LoopTimings.not_ready_retry (10 s, Flux v1's fixed retry), then the poll interval.
    assert waits == [1, 2, 4, 8, 10, POLL]
    assert fetches == 6


def test_sync_now_returns_only_after_a_pass_begun_after_the_request() -> None:
    async def scenario() -> tuple[bool, int]:
        gates = [asyncio.Event(), asyncio.Event()]
        calls = 0

        async def one_pass(full: bool) -> Outcome:
            nonlocal calls
            calls += 1
            if calls <= len(gates):
                await gates[calls - 1].wait()
            return Outcome(False)

        timings = LoopTimings(poll_interval=POLL, sync_interval=INTERVAL)
        loop = SyncLoop(ReadyMirror(), one_pass, timings, clock=FakeClock(), rand=lambda: 0.0)
        task = asyncio.create_task(loop.run())
        await until(lambda: calls == 1)
        waiter = asyncio.create_task(loop.sync_now())
        await until(lambda: loop._sync_wanted.is_set())
        gates[0].set()  # the pass that began before the request ends
        await until(lambda: calls == 2)
        waited_past_the_first = not waiter.done()
        gates[1].set()
        await asyncio.wait_for(waiter, 10)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return waited_past_the_first, loop.passes

    waited, passes = asyncio.run(scenario())
    assert waited
    assert passes >= 2


def test_after_a_fault_lasting_looking_failures_get_a_few_more_tries() -> None:
    async def scenario() -> list[float]:
        clock = FakeClock()
        passes = ScriptedPasses(Outcome(True), LASTING, LASTING, Outcome(False))
        loop = _loop(passes, clock)
        await _run_until(loop, lambda: loop.passes >= 4)
        await until(lambda: len(clock.waits_on(loop._sync_wanted)) >= 5)
        return clock.waits_on(loop._sync_wanted)[:5]

    # The restarted API server's 403s are retried like the outage itself.
    assert asyncio.run(scenario()) == [INTERVAL, 1, 2, 4, INTERVAL]


def test_lasting_failures_alone_wait_for_the_interval() -> None:
    async def scenario() -> list[float]:
        clock = FakeClock()
        loop = _loop(ScriptedPasses(LASTING, LASTING), clock)
        await _run_until(loop, lambda: len(clock.waits_on(loop._sync_wanted)) >= 2)
        return clock.waits_on(loop._sync_wanted)[:2]

    assert asyncio.run(scenario()) == [INTERVAL, INTERVAL]


def test_the_extra_tries_after_a_fault_are_few() -> None:
    async def scenario() -> list[float]:
        clock = FakeClock()
        loop = _loop(ScriptedPasses(Outcome(True), *[LASTING] * 8), clock)
        await _run_until(loop, lambda: len(clock.waits_on(loop._sync_wanted)) >= 8)
        return clock.waits_on(loop._sync_wanted)[:8]

    # One retry for the fault, five for its aftershocks, then the interval.
    assert asyncio.run(scenario()) == [INTERVAL, 1, 2, 4, 8, 16, 30, INTERVAL]


def test_a_pass_that_got_some_objects_through_is_retried_at_once() -> None:
    async def scenario() -> list[float]:
        clock = FakeClock()
        came_back = Outcome(True, applied=2000)  # the API server returned during the pass
        passes = ScriptedPasses(Outcome(True), Outcome(True), Outcome(True), came_back)
        loop = _loop(passes, clock)
        await _run_until(loop, lambda: loop.passes >= 5)
        return clock.waits_on(loop._sync_wanted)[1:6]

    assert asyncio.run(scenario()) == [1, 2, 4, 1, INTERVAL]


def test_each_retry_is_reported_for_the_metric() -> None:
    async def scenario() -> tuple[int, int]:
        counted = 0

        def on_retry() -> None:
            nonlocal counted
            counted += 1

        timings = LoopTimings(poll_interval=POLL, sync_interval=INTERVAL)
        passes = ScriptedPasses(Outcome(True), RuntimeError("boom"), Outcome(False))
        loop = SyncLoop(
            ReadyMirror(), passes, timings, clock=FakeClock(), rand=lambda: 0.0, on_retry=on_retry
        )
        await _run_until(loop, lambda: loop.passes >= 3)
        return counted, loop.retries

    assert asyncio.run(scenario()) == (2, 2)
