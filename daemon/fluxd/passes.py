"""The sync passes as the daemon keeps them: run, counted, logged, remembered.

The sync loop calls ``SyncPasses.run``; the daemon answers from what it
remembers (the last pass, the recent ones by revision, history rewrites).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import OrderedDict
from typing import Protocol

from fluxd.cluster import EventTarget, EventType
from fluxd.errors import FluxError
from fluxd.metrics import Metrics
from fluxd.sync.election import OnePass
from fluxd.sync.results import SyncResult
from fluxids import ObjectRef

log = logging.getLogger(__name__)

_KEEP_RESULTS = 20
#: Transient failures logged one by one per pass; the rest are counted.
_SHOW_TRANSIENT = 5


class Engine(Protocol):
    """The part of ``fluxd.sync.engine.SyncEngine`` the passes use."""

    def run_pass(self, *, check_drift: bool = True) -> SyncResult: ...

    def applied_revision(self) -> str | None: ...

    def forget(self) -> None: ...


class EventRecorder(Protocol):
    def record_event(
        self, target: EventTarget, *, reason: str, message: str, type: EventType = ...
    ) -> None: ...


class SyncPasses:
    """Runs passes of the engine and keeps the recent results."""

    def __init__(
        self, engine: Engine, *, events: EventRecorder, metrics: Metrics, namespace: str
    ) -> None:
        self._engine = engine
        self._events = events
        self._metrics = metrics
        self._namespace = namespace
        #: Passes (and what must not overlap one) run here, one at a time.
        self._one = OnePass()
        self._results: OrderedDict[str, SyncResult] = OrderedDict()
        #: Revisions that rewrote history, with the revision applied before them.
        self._rewrites: OrderedDict[str, str] = OrderedDict()
        self.last_result: SyncResult | None = None

    def applied_revision(self) -> str | None:
        """The revision the sync marker records."""
        return self._engine.applied_revision()

    def revisions(self) -> list[str]:
        """The revisions of the recent passes, oldest first."""
        return list(self._results)

    def recent(self) -> list[SyncResult]:
        """The last pass of each recent revision, newest first."""
        return list(reversed(self._results.values()))

    def result_for(self, ref: str) -> SyncResult | None:
        """The newest recent pass whose revision starts with ``ref``."""
        for revision in reversed(self._results):
            if revision.startswith(ref.lower()):
                return self._results[revision]
        return None

    def rewritten_from(self, revision: str) -> str:
        """The revision applied before ``revision`` when it rewrote history, else ""."""
        return self._rewrites.get(revision, "")

    async def forget(self) -> None:
        """Drop what the engine read from the cluster (another replica may have synced
        since), once a pass still running from an earlier leadership has ended."""
        await self._one.run(self._engine.forget)

    async def run(self, full: bool = True) -> SyncResult:
        """One pass (``full``: also check drift), then its metrics, log lines and Events."""
        result = self._remember(
            await self._one.run(lambda: self._engine.run_pass(check_drift=full))
        )
        # Flux v1 counted every manifest in sync, not only those sent this pass.
        in_sync = result.applied + result.unchanged
        success = result.success and result.gc_hold is None
        self._metrics.observe_sync(result.duration, success, in_sync, len(result.failures))
        self._metrics.observe_guard(len(result.gc_hold.deletions) if result.gc_hold else 0)
        new_rewrite = self._note_rewrite(result)
        level = logging.INFO if success else logging.WARNING
        log.log(level, "event=sync %s", result.summary())
        self._log_failures(result)
        # A pass that changed nothing and failed nothing writes nothing, not
        # even an Event: a quiet cluster stays quiet.
        if result.applied or result.deleted or result.failures or result.gc_hold:
            await asyncio.to_thread(self._record_event, result)
        if new_rewrite:
            await asyncio.to_thread(self._record_rewrite, result)
        return result

    def _remember(self, result: SyncResult) -> SyncResult:
        """Keep ``result`` as the last pass and among the recent ones.

        Passes of one tree ask for the same objects, so a result shares the
        previous one's set of ids instead of keeping a copy: with 20,000
        objects each copy is ~3 MiB, and the recent results are 20.
        """
        last = self.last_result
        if last is not None and result.desired == last.desired:
            result = dataclasses.replace(result, desired=last.desired)
        self.last_result = result
        self._results[result.revision] = result
        self._results.move_to_end(result.revision)
        while len(self._results) > _KEEP_RESULTS:
            self._results.popitem(last=False)
        return result

    def _log_failures(self, result: SyncResult) -> None:
        # An unreachable API server fails every object alike, pass after
        # pass while it is retried: a few lines tell it, thousands would bury it.
        transient = [f for f in result.failures if f.transient]
        shown = [f for f in result.failures if not f.transient] + transient[:_SHOW_TRANSIENT]
        for failure in shown:
            log.warning(
                "event=resource-failed id=%s source=%s error=%r",
                failure.id or "-",
                failure.source or "-",
                failure.error,
            )
        if len(transient) > _SHOW_TRANSIENT:
            log.warning(
                "event=resource-failed-transient more=%d (not listed; fluxd retries the pass)",
                len(transient) - _SHOW_TRANSIENT,
            )

    def _note_rewrite(self, result: SyncResult) -> bool:
        """Remember (and count once) a revision that rewrote history."""
        if not result.rewritten_from or result.revision in self._rewrites:
            return False
        self._rewrites[result.revision] = result.rewritten_from
        while len(self._rewrites) > _KEEP_RESULTS:
            self._rewrites.popitem(last=False)
        self._metrics.observe_history_rewrite()
        return True

    def _record_rewrite(self, result: SyncResult) -> None:
        message = (
            f"Revision {result.revision[:7]} does not descend from {result.rewritten_from[:7]}, "
            "the revision applied before it (force-push or reset); it was synced."
        )
        self._emit("HistoryRewritten", message, EventType.WARNING)

    def _record_event(self, result: SyncResult) -> None:
        if result.success:
            message = f"Applied revision {result.revision[:7]}: {result.summary()}"
            self._emit("Synced", message, EventType.NORMAL)
        else:
            failed = ", ".join(f.id or f.source for f in result.failures[:10])
            message = f"Revision {result.revision[:7]}: {len(result.failures)} failed ({failed})"
            self._emit("SyncFailed", message, EventType.WARNING)
        if result.gc_hold is not None:
            hold = result.gc_hold
            message = f"Revision {result.revision[:7]}: nothing deleted: {hold.reason}. {hold.help}"
            self._emit("GarbageCollectionHeld", message, EventType.WARNING)

    def _emit(self, reason: str, message: str, kind: EventType) -> None:
        namespace = self._namespace
        target = EventTarget(ObjectRef(namespace, "Namespace", namespace, "v1"))
        try:
            self._events.record_event(target, reason=reason, message=message, type=kind)
        except FluxError as exc:
            log.debug("event=event-not-recorded error=%r", str(exc))
