"""The sync loop coalesces requests and never runs two passes at once.

Time is a fake clock: waits up to its horizon jump at once, longer ones block
until their event fires, so the loop's schedule is checked without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fluxd.sync.loop import LoopTimings, SyncLoop
from unit.sync.fakeclock import FakeClock, until, yield_now

#: Waits this long or longer block (the fake clock's horizon is below them).
INTERVAL = 300.0
POLL = 1000.0
#: Waits this short jump.
SHORT = 5.0
HORIZON = 60.0


class FakeMirror:
    def __init__(self, heads: list[str], ready_after: int = 0) -> None:
        self.heads = heads
        self.advances = 0
        self.ready_after = ready_after
        self.fetches = 0

    @property
    def ready(self) -> bool:
        return self.advances >= self.ready_after

    @property
    def status(self) -> str:
        return "ready" if self.ready else f"step-{min(self.advances, 2)}"

    def advance(self) -> None:
        self.advances += 1

    def refresh(self) -> str:
        self.fetches += 1
        return self.heads[min(self.fetches, len(self.heads)) - 1]


async def _no_op_pass(full: bool) -> None:
    return None


@contextlib.asynccontextmanager
async def _running(loop: SyncLoop) -> AsyncIterator[None]:
    task = asyncio.create_task(loop.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _waited(clock: FakeClock, seconds: float) -> int:
    return sum(1 for _, waited in clock.waits if waited == seconds)


def test_requests_arriving_during_a_pass_cause_exactly_one_more_pass() -> None:
    async def scenario() -> tuple[int, int]:
        running = 0
        most_at_once = 0
        clock = FakeClock(horizon=HORIZON)
        loop: SyncLoop

        async def one_pass(full: bool) -> None:
            nonlocal running, most_at_once
            running += 1
            most_at_once = max(most_at_once, running)
            if loop.passes == 0:
                # Once the git loop has seen the first HEAD (and asked for a
                # pass) and gone back to polling, a hundred more requests.
                await until(lambda: _waited(clock, POLL) >= 1)
                for _ in range(100):
                    loop.ask_for_sync()
            await yield_now()  # a second pass, if one could start, would now
            running -= 1

        timings = LoopTimings(poll_interval=POLL, sync_interval=INTERVAL)
        loop = SyncLoop(FakeMirror(["a"]), one_pass, timings, clock=clock)
        async with _running(loop):
            # Three waits for the interval: before each pass, and the one now
            # blocked because nothing more was asked for.
            await until(lambda: _waited(clock, INTERVAL) >= 3)
        return loop.passes, most_at_once

    passes, most_at_once = asyncio.run(scenario())
    # The first pass comes from start-up (the first HEAD's request coalesces
    # with it or arrives during it); the hundred requests made during the
    # first pass cause one more, and nothing else does.
    assert passes == 2
    assert most_at_once == 1


def _sync_loop_idle(loop: SyncLoop, clock: FakeClock) -> bool:
    """The sync loop waits out the interval with no request pending."""
    interval_waits = [event for event, seconds in clock.waits if seconds == INTERVAL]
    return len(interval_waits) == loop.passes + 1 and not interval_waits[-1].is_set()


def test_a_new_head_found_by_polling_starts_a_pass_and_an_unchanged_one_does_not() -> None:
    async def scenario() -> tuple[int, int, int]:
        clock = FakeClock(horizon=HORIZON)
        mirror = FakeMirror(["a"])
        timings = LoopTimings(poll_interval=SHORT, sync_interval=INTERVAL)
        loop = SyncLoop(mirror, _no_op_pass, timings, clock=clock)
        async with _running(loop):
            await until(lambda: mirror.fetches >= 3 and _sync_loop_idle(loop, clock))
            settled, fetched = loop.passes, mirror.fetches
            await until(lambda: mirror.fetches >= fetched + 5)
            after_unchanged = loop.passes
            mirror.heads = ["b"]
            fetched = mirror.fetches
            await until(lambda: mirror.fetches >= fetched + 5 and _sync_loop_idle(loop, clock))
            return settled, after_unchanged, loop.passes

    settled, after_unchanged, after_new = asyncio.run(scenario())
    assert after_unchanged == settled
    assert after_new == settled + 1


def test_no_pass_runs_while_the_repo_is_not_ready() -> None:
    async def scenario() -> tuple[int, int, int]:
        clock = FakeClock(horizon=HORIZON)
        mirror = FakeMirror(["a"], ready_after=10**6)
        timings = LoopTimings(poll_interval=POLL, sync_interval=SHORT, not_ready_retry=SHORT)
        loop = SyncLoop(mirror, _no_op_pass, timings, clock=clock)
        async with _running(loop):
            await until(lambda: mirror.advances >= 3 and _waited(clock, SHORT) >= 6)
        return loop.passes, mirror.advances, mirror.fetches

    passes, advances, fetches = asyncio.run(scenario())
    assert passes == 0
    assert advances >= 3
    assert fetches == 0


def test_the_sync_interval_runs_passes_without_any_request() -> None:
    async def scenario() -> tuple[list[float], float]:
        clock = FakeClock(horizon=HORIZON)
        full_passes_at: list[float] = []

        async def one_pass(full: bool) -> None:
            if full:
                full_passes_at.append(clock.now)

        timings = LoopTimings(poll_interval=POLL, sync_interval=SHORT)
        loop = SyncLoop(FakeMirror(["a"]), one_pass, timings, clock=clock)
        async with _running(loop):
            await until(lambda: len(full_passes_at) >= 4)
        return full_passes_at[:4], clock.now

    full_passes_at, _ = asyncio.run(scenario())
    # Start-up's pass, then one each time the interval passes with no request.
    assert full_passes_at[0] == 0
    assert full_passes_at[3] >= 3 * SHORT


def test_a_repo_that_makes_progress_reaches_ready_without_waiting_for_the_retry() -> None:
    async def scenario() -> tuple[int, int, list[float]]:
        clock = FakeClock(horizon=HORIZON)
        mirror = FakeMirror(["a"], ready_after=2)
        timings = LoopTimings(poll_interval=POLL, sync_interval=INTERVAL, not_ready_retry=90)
        loop = SyncLoop(mirror, _no_op_pass, timings, clock=clock)
        async with _running(loop):
            await until(lambda: loop.passes >= 1 and _waited(clock, POLL) >= 1)
        return loop.passes, mirror.advances, [seconds for _, seconds in clock.waits]

    passes, advances, waits = asyncio.run(scenario())
    assert advances == 2  # new, cloned and ready back to back
    assert 90 not in waits  # no retry wait between them
    assert passes >= 1


def test_only_interval_and_start_up_passes_look_for_drift() -> None:
    async def scenario() -> list[bool]:
        clock = FakeClock(horizon=HORIZON)
        kinds: list[bool] = []

        async def one_pass(full: bool) -> None:
            kinds.append(full)

        def an_interval_pass_followed_the_new_head() -> bool:
            return False in kinds and True in kinds[kinds.index(False) :]

        timings = LoopTimings(poll_interval=SHORT, sync_interval=2 * SHORT)
        loop = SyncLoop(FakeMirror(["a", "a", "b"]), one_pass, timings, clock=clock)
        async with _running(loop):
            await until(an_interval_pass_followed_the_new_head)
        return kinds

    kinds = asyncio.run(scenario())
    # Start-up (full), the new HEAD "b" (changes only), then the interval (full).
    assert kinds[0] is True
    assert False in kinds
