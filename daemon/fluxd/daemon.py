"""The daemon as one object: what the HTTP API calls (``DaemonPort``), wired to
the git mirror, the sync engine and loop, the key ring and the cluster."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Protocol, get_args

from fluxd import __version__
from fluxd.clock import Clock
from fluxd.cluster import EventTarget, EventType, Workload
from fluxd.errors import FluxError, GitError, IdentityError, MissingError, UserError
from fluxd.identity import PublicKeyInfo
from fluxd.jobs import JobRing, JobState
from fluxd.manifests.yamlstream import dump_documents
from fluxd.metrics import Metrics
from fluxd.settings import Settings
from fluxd.sync.election import LeaderElector, OnePass
from fluxd.sync.engine import SyncEngine
from fluxd.sync.loop import LoopTimings, SyncLoop
from fluxd.sync.results import SyncResult
from fluxd.views import (
    ALL_WORKLOADS,
    GitConfig,
    GitStatus,
    JobStatus,
    Leadership,
    ReadyStatus,
    Remote,
    SyncReport,
    WorkloadImages,
    WorkloadView,
)
from fluxd.workload_views import workload_images, workload_view

log = logging.getLogger(__name__)

_SHA = re.compile(r"^[0-9a-f]{4,40}$")
_KEEP_RESULTS = 20
#: Transient failures logged one by one per pass; the rest are counted.
_SHOW_TRANSIENT = 5


class MirrorView(Protocol):
    """What the daemon reads of the git mirror besides what the engine uses."""

    @property
    def ready(self) -> bool: ...

    @property
    def status(self) -> str: ...

    @property
    def error(self) -> str: ...

    def safe_url(self) -> str: ...

    def advance(self) -> object: ...

    def refresh(self) -> str: ...

    def head(self) -> str: ...

    def commits_between(self, old: str | None, new: str) -> list[str]: ...


class KeyRingView(Protocol):
    def public_key(self) -> PublicKeyInfo | None: ...

    def regenerate(self) -> PublicKeyInfo: ...


class ClusterView(Protocol):
    def list_workloads(self, namespace: str | None = None) -> list[Workload]: ...

    def export_workloads(self) -> list[dict[str, Any]]: ...

    def ping(self) -> None: ...

    def record_event(
        self, target: EventTarget, *, reason: str, message: str, type: EventType = ...
    ) -> None: ...


class Daemon:
    """Implements ``fluxd.api.port.DaemonPort``; see there for quick vs blocking."""

    def __init__(
        self,
        settings: Settings,
        *,
        mirror: MirrorView,
        engine: SyncEngine,
        keyring: KeyRingView | None,
        cluster: ClusterView,
        metrics: Metrics,
        clock: Clock | None = None,
        elector: LeaderElector | None = None,
    ) -> None:
        self._settings = settings
        self._elector = elector
        #: Passes (and what must not overlap one) run here, one at a time.
        self.passes = OnePass()
        self._mirror = mirror
        self._engine = engine
        self._keyring = keyring
        self._cluster = cluster
        self._metrics = metrics
        self.loop = SyncLoop(
            mirror, self.run_pass, _timings(settings), clock=clock, on_retry=metrics.observe_retry
        )
        self._jobs = JobRing()
        self._tasks: set[asyncio.Task[None]] = set()
        self._results: OrderedDict[str, SyncResult] = OrderedDict()
        #: Revisions that rewrote history, with the revision applied before them.
        self._rewrites: OrderedDict[str, str] = OrderedDict()
        self.last_result: SyncResult | None = None
        metrics.track_git_ready(lambda: mirror.ready)

    # --- the sync pass ---------------------------------------------------------

    async def run_pass(self, full: bool = True) -> SyncResult:
        result = await self.passes.run(lambda: self._engine.run_pass(check_drift=full))
        self.last_result = result
        self._results[result.revision] = result
        self._results.move_to_end(result.revision)
        while len(self._results) > _KEEP_RESULTS:
            self._results.popitem(last=False)
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
        namespace = self._settings.cluster.namespace
        target = EventTarget("v1", "Namespace", namespace, namespace=namespace)
        try:
            self._cluster.record_event(target, reason=reason, message=message, type=kind)
        except FluxError as exc:
            log.debug("event=event-not-recorded error=%r", str(exc))

    # --- quick -------------------------------------------------------------------

    @property
    def version(self) -> str:
        return __version__

    def git_remote(self) -> Remote:
        git = self._settings.git
        return Remote(url=self._mirror.safe_url(), branch=git.branch, paths=tuple(git.paths))

    def ready(self) -> ReadyStatus:
        last = self.last_result
        return ReadyStatus(
            ready=True,
            git_status=self._git_status(),
            git_error=self._mirror.error,
            last_sync_revision=last.revision if last else "",
            last_sync_finished=last.started_at + last.duration if last else None,
            last_sync_failures=len(last.failures) if last else 0,
        )

    def leadership(self) -> Leadership:
        return self._elector.view() if self._elector is not None else Leadership()

    def notify_git_change(self, url: str, branch: str) -> None:
        log.info("event=notified url=%s branch=%s", url, branch)
        self.loop.ask_for_fetch()

    def start_sync_job(self) -> str:
        job = self._jobs.new({"type": "sync"})
        task = asyncio.get_running_loop().create_task(self._run_sync_job(job.id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job.id

    async def _run_sync_job(self, job_id: str) -> None:
        job = self._jobs.get(job_id)
        if job is None:
            return
        job.state = JobState.RUNNING
        try:
            if not self._mirror.ready:
                raise UserError(f"git repo not ready: {self._mirror.error}")
            job.revision = await self.loop.refresh_now()
            # Unlike Flux v1, run a pass even when HEAD did not move, so a manual
            # sync also corrects drift at once (and applies approved deletions);
            # the job ends with that pass, so fluxctl then reads its result.
            await self.loop.sync_now(full=True)
            job.state = JobState.SUCCEEDED
        except Exception as exc:
            # fluxctl gets the text; the log keeps the cause (and a crash's traceback).
            if isinstance(exc, FluxError):
                log.warning("event=sync-job-failed job=%s error=%r", job_id, str(exc))
            else:
                log.exception("event=sync-job-crashed job=%s", job_id)
            job.error = str(exc)
            job.state = JobState.FAILED

    def job_status(self, job_id: str) -> JobStatus:
        job = self._jobs.get(job_id)
        if job is None:
            raise MissingError(
                f"unknown job {job_id!r}",
                help="Jobs are kept in memory (the newest 100) and lost when fluxd restarts.",
            )
        return JobStatus(state=job.state, revision=job.revision, error=job.error)

    def sync_errors(self, ref: str | None) -> SyncReport:
        result = self.last_result if not ref else self._result_for(ref)
        if result is None:
            raise MissingError(
                f"no sync pass has applied {ref!r} yet" if ref else "no sync pass has run yet"
            )
        return SyncReport(
            revision=result.revision,
            failures=result.failures,
            gc_hold=result.gc_hold,
            history_rewritten_from=self._rewrites.get(result.revision, ""),
            retrying=result.needs_retry,
        )

    def _result_for(self, ref: str) -> SyncResult | None:
        for revision in reversed(self._results):
            if revision.startswith(ref.lower()):
                return self._results[revision]
        return None

    # --- blocking ----------------------------------------------------------------

    def ping(self) -> None:
        self._cluster.ping()

    def sync_status(self, ref: str) -> list[str]:
        if self._mirror.status == "unconfigured":
            # A user error (422) as in Flux v1: fluxd was started without a repo.
            raise UserError("git repo has no URL configured", help="Start fluxd with --git-url.")
        revision = self._resolve(ref)
        applied = self._engine.applied_revision()
        if applied == revision:
            return []
        try:
            return self._mirror.commits_between(applied, revision)
        except GitError as exc:
            if revision != ref.strip().lower():
                raise  # a revision we resolved ourselves: the mirror is at fault
            raise _unknown_revision(ref) from exc

    def _resolve(self, ref: str) -> str:
        text = ref.strip().lower()
        if not _SHA.match(text):
            if ref in (self._settings.git.branch, "HEAD", ""):
                return self._mirror.head()
            raise UserError(
                f"ref {ref!r} is not a commit id",
                help="Pass a commit sha (7 to 40 hex digits), as 'fluxctl sync' does.",
            )
        known = [self._mirror.head(), self._engine.applied_revision() or "", *self._results]
        for revision in known:
            if revision and revision.startswith(text):
                return revision
        if len(text) == 40:
            return text
        raise _unknown_revision(ref)

    def git_config(self, regenerate: bool) -> GitConfig:
        info: PublicKeyInfo | None = None
        errors = self._mirror.error
        if self._keyring is not None and regenerate:
            info = self._keyring.regenerate()
        elif self._keyring is not None:
            try:
                info = self._keyring.public_key()
            except IdentityError as exc:
                # Probes call this route: a broken key must not restart the pod;
                # it is reported here instead, where fluxctl shows it.
                errors = "; ".join(e for e in (errors, f"{exc} ({exc.help})") if e)
        return GitConfig(
            remote=self.git_remote(), status=self._git_status(), public_key=info, errors=errors
        )

    def _git_status(self) -> GitStatus:
        status = str(self._mirror.status)
        known: tuple[GitStatus, ...] = get_args(GitStatus)
        return next((value for value in known if value == status), "new")

    def list_workloads(self, namespace: str, ids: Sequence[str]) -> list[WorkloadView]:
        workloads = self._cluster.list_workloads(namespace or None)
        if ids:
            wanted = set(ids)
            workloads = [w for w in workloads if w.id in wanted]
        last = self.last_result
        desired = last.desired if last else frozenset()
        errors = {f.id: f.error for f in (last.failures if last else ()) if f.id}
        ready, configured = self._mirror.ready, self._mirror.status != "unconfigured"
        return [
            workload_view(
                w,
                in_repo=w.id in desired,
                repo_ready=ready,
                sync_error=errors.get(w.id, ""),
                repo_configured=configured,
            )
            for w in workloads
        ]

    def list_images(self, spec: str, namespace: str) -> list[WorkloadImages]:
        workloads = self._cluster.list_workloads(namespace or None)
        if spec and spec != ALL_WORKLOADS:
            workloads = [w for w in workloads if w.id == spec]
        return [workload_images(w) for w in workloads]

    def export(self) -> str:
        return dump_documents(self._cluster.export_workloads())


def _unknown_revision(ref: str) -> UserError:
    # A user error (422), as Flux v1 answered a revision git could not find.
    return UserError(
        f"revision {ref!r} is not known to fluxd",
        help="Push it to the configured branch, or pass the full 40-digit sha.",
    )


def _timings(settings: Settings) -> LoopTimings:
    return LoopTimings(
        poll_interval=settings.git.poll_interval,
        sync_interval=settings.sync.interval,
        retry_max_delay=settings.sync.retry_max_delay,
    )
