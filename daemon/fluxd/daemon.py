"""The daemon as one object: what the HTTP API calls (``DaemonPort``), wired to
the git mirror, the sync passes and loop, the key ring and the cluster.

``fluxd.runner`` builds every part and hands them in."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any, Protocol, cast, get_args

from fluxd import __version__
from fluxd.cluster import EventTarget, EventType, Workload
from fluxd.errors import GitError, IdentityError, MissingError, UserError
from fluxd.identity import PublicKeyInfo
from fluxd.image_scan import ImageLoops
from fluxd.image_views import workload_images
from fluxd.jobs import JobRunner, UpdateRequest
from fluxd.manifests.yamlstream import dump_documents
from fluxd.passes import SyncPasses
from fluxd.registry import ImageCache
from fluxd.settings import Settings
from fluxd.sync.election import LeaderElector
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
from fluxd.workload_views import workload_view

log = logging.getLogger(__name__)

_SHA = re.compile(r"^[0-9a-f]{4,40}$")


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


class LoopControl(Protocol):
    """What the daemon asks of the sync loop (``fluxd.sync.loop.SyncLoop``)."""

    def ask_for_fetch(self) -> None: ...

    async def refresh_now(self) -> str: ...

    async def sync_now(self, *, full: bool = True) -> None: ...


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
        passes: SyncPasses,
        loop: LoopControl,
        keyring: KeyRingView | None,
        cluster: ClusterView,
        jobs: JobRunner,
        images: ImageCache | None = None,
        image_loops: ImageLoops | None = None,
        elector: LeaderElector | None = None,
    ) -> None:
        self._settings = settings
        self._elector = elector
        #: What the registry scan found (None: scanning is off).
        self._images = images
        self.image_loops = image_loops
        self._mirror = mirror
        self._passes = passes
        self._loop = loop
        self._keyring = keyring
        self._cluster = cluster
        self.jobs = jobs

    @property
    def last_result(self) -> SyncResult | None:
        return self._passes.last_result

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
        self._loop.ask_for_fetch()

    def notify_image_change(self, name: str) -> None:
        """A registry said ``name`` was pushed: scan soon (as Flux v1 bumped its priority)."""
        log.info("event=notified-image image=%s scanning=%s", name, self.image_loops is not None)
        if self.image_loops is not None:
            self.image_loops.scan.ask()

    def start_sync_job(self) -> str:
        return self.jobs.start_sync()

    def start_update_job(self, request: UpdateRequest) -> str:
        return self.jobs.start_update(request)

    async def plan_update(self, request: UpdateRequest) -> str:
        return await self.jobs.plan(request)

    def job_status(self, job_id: str) -> JobStatus:
        job = self.jobs.get(job_id)
        return JobStatus(
            state=job.state,
            revision=job.revision,
            error=job.error,
            spec=job.spec if job.results is not None else None,
            results=job.results,
        )

    def sync_errors(self, ref: str | None) -> SyncReport:
        result = self.last_result if not ref else self._passes.result_for(ref)
        if result is None:
            raise MissingError(
                f"no sync pass has applied {ref!r} yet" if ref else "no sync pass has run yet"
            )
        return SyncReport(
            revision=result.revision,
            failures=result.failures,
            gc_hold=result.gc_hold,
            history_rewritten_from=self._passes.rewritten_from(result.revision),
            retrying=result.needs_retry,
        )

    def passes(self) -> list[SyncResult]:
        """The last pass of each recent revision, newest first."""
        return self._passes.recent()

    # --- blocking ----------------------------------------------------------------

    def ping(self) -> None:
        self._cluster.ping()

    def sync_status(self, ref: str) -> list[str]:
        if self._mirror.status == "unconfigured":
            # A user error (422) as in Flux v1: fluxd was started without a repo.
            raise UserError("git repo has no URL configured", help="Start fluxd with --git-url.")
        revision = self.resolve(ref)
        applied = self._passes.applied_revision()
        if applied == revision:
            return []
        try:
            return self._mirror.commits_between(applied, revision)
        except GitError as exc:
            if revision != ref.strip().lower():
                raise  # a revision we resolved ourselves: the mirror is at fault
            raise _unknown_revision(ref) from exc

    def resolve(self, ref: str) -> str:
        """The full revision ``ref`` names (the branch, HEAD, or a known sha)."""
        text = ref.strip().lower()
        if not _SHA.match(text):
            if ref in (self._settings.git.branch, "HEAD", ""):
                return self._mirror.head()
            raise UserError(
                f"ref {ref!r} is not a commit id",
                help="Pass a commit sha (7 to 40 hex digits), as 'fluxctl sync' does.",
            )
        known = [
            self._mirror.head(),
            self._passes.applied_revision() or "",
            *self._passes.revisions(),
        ]
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
        known = {value: value for value in get_args(GitStatus)}
        return cast(GitStatus, known.get(status, "new"))

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
                repo_readonly=self._settings.git.readonly,
            )
            for w in workloads
        ]

    def list_images(self, spec: str, namespace: str) -> list[WorkloadImages]:
        workloads = self._cluster.list_workloads(namespace or None)
        if spec and spec != ALL_WORKLOADS:
            workloads = [w for w in workloads if w.id == spec]
        return [workload_images(w, self._images) for w in workloads]

    def export(self) -> str:
        return dump_documents(self._cluster.export_workloads())


def _unknown_revision(ref: str) -> UserError:
    # A user error (422), as Flux v1 answered a revision git could not find.
    return UserError(
        f"revision {ref!r} is not known to fluxd",
        help="Push it to the configured branch, or pass the full 40-digit sha.",
    )
