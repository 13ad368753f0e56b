"""The sync loop coalesces requests and never runs two passes at once."""

from __future__ import annotations

import asyncio
import contextlib

from fluxd.sync.loop import LoopTimings, SyncLoop


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


async def _run_for(loop: SyncLoop, seconds: float) -> None:
    task = asyncio.create_task(loop.run())
    await asyncio.sleep(seconds)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_requests_arriving_during_a_pass_cause_exactly_one_more_pass() -> None:
    async def scenario() -> tuple[int, int]:
        running = 0
        most_at_once = 0
        loop: SyncLoop

        async def one_pass(full: bool) -> None:
            nonlocal running, most_at_once
            running += 1
            most_at_once = max(most_at_once, running)
            if loop.passes == 0:
                for _ in range(100):
                    loop.ask_for_sync()
            await asyncio.sleep(0.05)
            running -= 1

        loop = SyncLoop(
            FakeMirror(["a"]), one_pass, LoopTimings(poll_interval=60, sync_interval=60)
        )
        await _run_for(loop, 0.5)
        return loop.passes, most_at_once

    passes, most_at_once = asyncio.run(scenario())
    # The first pass comes from start-up (the first HEAD's request coalesces
    # with it or arrives during it); the hundred requests made during the
    # first pass cause one more, and nothing else does.
    assert passes == 2
    assert most_at_once == 1


def test_a_new_head_found_by_polling_starts_a_pass_and_an_unchanged_one_does_not() -> None:
    async def scenario() -> tuple[int, int]:
        loop = SyncLoop(
            FakeMirror(["a", "a", "a", "b"]),
            lambda full: asyncio.sleep(0),
            LoopTimings(poll_interval=0.05, sync_interval=60),
        )
        mirror = loop._mirror
        await _run_for(loop, 0.4)
        return loop.passes, mirror.fetches  # type: ignore[attr-defined]

    passes, fetches = asyncio.run(scenario())
    assert fetches >= 4
    assert passes == 2  # HEAD "a" at start, then "b"


def test_no_pass_runs_while_the_repo_is_not_ready() -> None:
    async def scenario() -> tuple[int, int]:
        mirror = FakeMirror(["a"], ready_after=10**6)
        loop = SyncLoop(
            mirror,
            lambda full: asyncio.sleep(0),
            LoopTimings(poll_interval=60, sync_interval=0.01, not_ready_retry=0.01),
        )
        await _run_for(loop, 0.2)
        return loop.passes, mirror.advances

    passes, advances = asyncio.run(scenario())
    assert passes == 0
    assert advances >= 2


def test_the_sync_interval_runs_passes_without_any_request() -> None:
    async def scenario() -> int:
        loop = SyncLoop(
            FakeMirror(["a"]),
            lambda full: asyncio.sleep(0),
            LoopTimings(poll_interval=60, sync_interval=0.05),
        )
        await _run_for(loop, 0.4)
        return loop.passes

    assert asyncio.run(scenario()) >= 4


def test_a_repo_that_makes_progress_reaches_ready_without_waiting_for_the_retry() -> None:
    async def scenario() -> tuple[int, int]:
        mirror = FakeMirror(["a"], ready_after=2)
        loop = SyncLoop(
            mirror,
            lambda full: asyncio.sleep(0),
            LoopTimings(poll_interval=60, sync_interval=60, not_ready_retry=60),
        )
        await _run_for(loop, 0.3)
        return loop.passes, mirror.advances

    passes, advances = asyncio.run(scenario())
    assert advances == 2  # no 60 s retry wait between new, cloned and ready
    assert passes >= 1


def test_only_interval_and_start_up_passes_look_for_drift() -> None:
    async def scenario() -> list[bool]:
        kinds: list[bool] = []

        async def one_pass(full: bool) -> None:
            kinds.append(full)
            await asyncio.sleep(0)

        loop = SyncLoop(
            FakeMirror(["a", "a", "b"]),
            one_pass,
            LoopTimings(poll_interval=0.05, sync_interval=0.3),
        )
        await _run_for(loop, 0.45)
        return kinds

    kinds = asyncio.run(scenario())
    # Start-up (full), the new HEAD "b" (changes only), then the interval (full).
    assert kinds[0] is True
    assert False in kinds
    assert kinds[-1] is True
