"""The daemon's two loops: keep the git mirror fresh, and run sync passes.

One pass runs at a time. Requests for a pass (a new HEAD, the sync interval,
an API call, a webhook) only set an event, so any number of them arriving
during a pass coalesce into exactly one more pass. Blocking work (git, the
Kubernetes API) runs in a worker thread; the event loop stays free to answer
API reads at any time.

A pass that crashed, or that reports it stopped for a passing reason (the
API server away, ``--sync-timeout``), is tried again after a capped,
jittered backoff (1 s, 2 s, 4 s ... ``retry_max_delay``) instead of at the
next sync interval; the first success returns to the interval. A failed
fetch is retried the same way (capped at ``not_ready_retry``). A crash's
traceback is logged once per streak of the same error, not at every retry.
After a transient fault, a pass with other failures (a restarted API server
briefly refuses with 403 or 404) is retried a few more times too.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from fluxd.clock import Clock, SystemClock
from fluxd.sync.backoff import Backoff

log = logging.getLogger(__name__)

#: Longest wait before a repo that is not ready is tried again (Flux v1: 10 s).
NOT_READY_RETRY = 10.0
#: Longest wait before a failed pass is tried again.
RETRY_MAX_DELAY = 30.0
#: Retries of a failed pass after a transient fault, whatever the failures
#: look like (1 s + 2 s + ... + 16 s: half a minute of settling).
AFTERSHOCK_RETRIES = 5
_HEX_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
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


class PassOutcome(Protocol):
    """What the loop reads of a finished pass (``SyncResult`` fits)."""

    @property
    def needs_retry(self) -> bool: ...

    @property
    def success(self) -> bool: ...

    @property
    def applied(self) -> int: ...


@dataclass
class LoopTimings:
    poll_interval: float
    sync_interval: float
    not_ready_retry: float = NOT_READY_RETRY
    retry_max_delay: float = RETRY_MAX_DELAY


class SyncLoop:
    """Drives fetches and sync passes; see the module docstring."""

    def __init__(
        self,
        mirror: Mirror,
        run_pass: Callable[[bool], Awaitable[PassOutcome | None]],
        timings: LoopTimings,
        *,
        clock: Clock | None = None,
        rand: Callable[[], float] | None = None,
        on_retry: Callable[[], None] = lambda: None,
    ) -> None:
        self._mirror = mirror
        self._run_pass = run_pass
        self._timings = timings
        self._clock: Clock = clock or SystemClock()
        self._on_retry = on_retry
        rand = rand or random.random
        self._pass_backoff = Backoff(cap=timings.retry_max_delay, rand=rand)
        self._fetch_backoff = Backoff(cap=timings.not_ready_retry, rand=rand)
        self._crash = ""
        self._aftershocks = 0
        #: Retries scheduled so far (all streaks); for tests and metrics.
        self.retries = 0
        self._sync_wanted = asyncio.Event()
        self._fetch_wanted = asyncio.Event()
        self._full_wanted = False
        self._last_head: str | None = None
        self.passes = 0
        self._started = 0
        self._running = False
        self._pass_done = asyncio.Condition()

    def ask_for_sync(self, *, full: bool = False) -> None:
        """Request a sync pass soon; requests during a pass coalesce into one.

        A ``full`` pass also looks for drift in the cluster; passes for a new
        commit only apply what changed in git, so a push goes live sooner.
        """
        self._full_wanted = self._full_wanted or full
        self._sync_wanted.set()

    async def sync_now(self, *, full: bool = True) -> None:
        """Ask for a pass; return once a pass begun after the request has finished.

        So whoever asked (``fluxctl sync``) reads the result of its own pass,
        not of one that began before it. Without a running loop, only asks.
        """
        target = self._started + 1
        self.ask_for_sync(full=full)
        if not self._running:
            return
        async with self._pass_done:
            await self._pass_done.wait_for(lambda: self.passes >= target)

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
        async with asyncio.TaskGroup() as group:
            group.create_task(self.run_fetching(), name="git-loop")
            group.create_task(self.run_syncing(), name="sync-loop")

    async def run_fetching(self) -> None:
        """Keep the mirror fresh until cancelled (a standby replica does only this)."""
        await self._git_loop()

    async def run_syncing(self) -> None:
        """Run sync passes until cancelled, beginning with a full one."""
        self.ask_for_sync(full=True)
        self._running = True
        try:
            await self._sync_loop()
        finally:
            self._running = False

    async def _git_loop(self) -> None:
        while True:
            if not self._mirror.ready:
                await self._advance()
                if not self._mirror.ready:
                    await self._after_fetch_failure()
                    continue
            try:
                await self.refresh_now()
            except Exception as exc:  # the mirror records the state; keep looping
                log.warning("event=fetch-failed error=%r", str(exc))
                await self._after_fetch_failure()
                continue
            self._fetch_backoff.reset()
            await self._clock.wait(self._fetch_wanted, self._timings.poll_interval)
            self._fetch_wanted.clear()

    async def _after_fetch_failure(self) -> None:
        """Wait the fetch backoff (a push webhook or ``fluxctl sync`` cuts it short)."""
        await self._clock.wait(self._fetch_wanted, self._fetch_backoff.next())
        self._fetch_wanted.clear()

    async def _advance(self) -> None:
        """Step the repo's state machine while each step makes progress.

        new -> cloned -> ready happen back to back once the key is accepted;
        only a step that fails waits for the retry.
        """
        for _ in range(_MAX_STEPS):
            before = self._mirror.status
            await asyncio.to_thread(self._mirror.advance)
            if self._mirror.ready or self._mirror.status == before:
                return

    async def _sync_loop(self) -> None:
        delay, retrying = self._timings.sync_interval, False
        while True:
            asked = await self._clock.wait(self._sync_wanted, delay)
            # Clear before the pass: a request arriving during it is kept and
            # causes exactly one more pass. The sync interval's passes are the
            # full ones, so drift is corrected within one interval.
            self._sync_wanted.clear()
            full = (not asked and not retrying) or self._full_wanted
            self._full_wanted = False
            was_retry = retrying
            delay, retrying = self._timings.sync_interval, False
            if not self._mirror.ready:
                if was_retry:  # keep the retry due until the repo is back
                    delay, retrying = self._pass_backoff.next(), True
                continue
            self._started += 1
            if await self._pass_failed(full):
                retrying = True
                # A retry repeats what the failed pass was asked to do.
                self._full_wanted = self._full_wanted or full
                delay = self._pass_backoff.next()
                self.retries += 1
                self._on_retry()
                log.warning(
                    "event=sync-retry in=%.1fs attempt=%d", delay, self._pass_backoff.attempts
                )
            else:
                self._pass_backoff.reset()
                self._crash = ""
            self.passes += 1
            async with self._pass_done:
                self._pass_done.notify_all()

    async def _pass_failed(self, full: bool) -> bool:
        """Run one pass; True when it should be retried soon."""
        began = self._clock.monotonic()
        try:
            outcome = await self._run_pass(full)
        except Exception as exc:
            took = self._clock.monotonic() - began
            # Addresses of objects in the text differ at each attempt of one crash.
            signature = _HEX_ADDRESS.sub("0x?", f"{type(exc).__name__}: {exc}")
            if signature != self._crash:
                log.exception("event=sync-crashed took=%.2fs", took)
            else:  # the traceback is in the log already
                log.warning("event=sync-crashed-again took=%.2fs error=%r", took, signature)
            self._crash = signature
            self._aftershocks = AFTERSHOCK_RETRIES
            return True
        if outcome is None or outcome.success:
            self._aftershocks = 0
            return False
        if outcome.needs_retry:
            self._aftershocks = AFTERSHOCK_RETRIES
            if outcome.applied:
                # Some objects went through: what failed is likely back too,
                # so retry at once rather than after a long wait.
                self._pass_backoff.reset()
            return True
        # Right after an outage a restarted API server answers 403 or 404 for
        # a moment (its caches are still filling): lasting-looking failures
        # then get a few more tries before the pass waits for the interval.
        if self._aftershocks > 0:
            self._aftershocks -= 1
            return True
        return False
