"""The daemon's two loops: keep the git mirror fresh, and run sync passes.

One pass runs at a time. Requests for a pass (a new HEAD, the sync interval,
an API call, a webhook) only set an event, so any number of them arriving
during a pass coalesce into exactly one more pass. Blocking work (git, the
Kubernetes API) runs in a worker thread; the event loop stays free to answer
API reads at any time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

#: How soon a repo that is not ready is tried again (Flux v1: 10 s).
NOT_READY_RETRY = 10.0
#: Steps of the repo state machine (new, cloned, ready) tried back to back.
_MAX_STEPS = 4


class Mirror(Protocol):
    """What the loop needs of the git mirror."""

    @property
    def ready(self) -> bool: ...

    @property
    def status(self) -> object: ...

    def advance(self) -> object: ...

    def refresh(self) -> str: ...


@dataclass
class LoopTimings:
    poll_interval: float
    sync_interval: float
    not_ready_retry: float = NOT_READY_RETRY


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    """Wait for the event or the timeout; True when the event fired."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
    return event.is_set()


class SyncLoop:
    """Drives fetches and sync passes; see the module docstring."""

    def __init__(
        self,
        mirror: Mirror,
        run_pass: Callable[[bool], Awaitable[object]],
        timings: LoopTimings,
    ) -> None:
        self._mirror = mirror
        self._run_pass = run_pass
        self._timings = timings
        self._sync_wanted = asyncio.Event()
        self._fetch_wanted = asyncio.Event()
        self._full_wanted = False
        self._last_head: str | None = None
        self.passes = 0

    def ask_for_sync(self, *, full: bool = False) -> None:
        """Request a sync pass soon; requests during a pass coalesce into one.

        A ``full`` pass also looks for drift in the cluster; passes for a new
        commit only apply what changed in git, so a push goes live sooner.
        """
        self._full_wanted = self._full_wanted or full
        self._sync_wanted.set()

    def ask_for_fetch(self) -> None:
        """Request a fetch soon (e.g. a push webhook); a new HEAD then syncs."""
        self._fetch_wanted.set()

    async def refresh_now(self) -> str:
        """Fetch at once and return HEAD; a new HEAD asks for a sync."""
        head = await asyncio.to_thread(self._mirror.refresh)
        self._saw_head(head)
        return head

    def _saw_head(self, head: str) -> None:
        if head != self._last_head:
            log.info("event=refreshed head=%s previous=%s", head[:7], (self._last_head or "")[:7])
            self._last_head = head
            self.ask_for_sync()

    async def run(self) -> None:
        """Run both loops until cancelled."""
        self.ask_for_sync(full=True)
        async with asyncio.TaskGroup() as group:
            group.create_task(self._git_loop(), name="git-loop")
            group.create_task(self._sync_loop(), name="sync-loop")

    async def _git_loop(self) -> None:
        while True:
            if not self._mirror.ready:
                await self._advance()
                if not self._mirror.ready:
                    await _wait(self._fetch_wanted, self._timings.not_ready_retry)
                    self._fetch_wanted.clear()
                    continue
            try:
                await self.refresh_now()
            except Exception as exc:  # the mirror records the state; keep looping
                log.warning("event=fetch-failed error=%r", str(exc))
            await _wait(self._fetch_wanted, self._timings.poll_interval)
            self._fetch_wanted.clear()

    async def _advance(self) -> None:
        """Step the repo's state machine while each step makes progress.

        new -> cloned -> ready happen back to back once the key is accepted;
        only a step that fails waits for the retry interval.
        """
        for _ in range(_MAX_STEPS):
            before = self._mirror.status
            await asyncio.to_thread(self._mirror.advance)
            if self._mirror.ready or self._mirror.status == before:
                return

    async def _sync_loop(self) -> None:
        while True:
            asked = await _wait(self._sync_wanted, self._timings.sync_interval)
            # Clear before the pass: a request arriving during it is kept and
            # causes exactly one more pass. The sync interval's passes are the
            # full ones, so drift is corrected within one interval.
            self._sync_wanted.clear()
            full, self._full_wanted = (not asked) or self._full_wanted, False
            if not self._mirror.ready:
                continue
            began = time.monotonic()
            try:
                await self._run_pass(full)
            except Exception:
                log.exception("event=sync-crashed took=%.2fs", time.monotonic() - began)
            self.passes += 1
