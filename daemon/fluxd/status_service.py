"""The status page's and ``fluxctl diff``'s use cases, beside the daemon's.

They read what the daemon and the mirror already know (the passes, the git
state) and ask the cluster only for the workloads, or, for a diff, for dry
runs; nothing here writes. ``fluxd.api.port.StatusPort`` is what the API
sees of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Protocol

from fluxd.cluster import Inventory
from fluxd.errors import FluxError, GitError, UserError
from fluxd.git import CommitInfo
from fluxd.manifests import sync_set_name
from fluxd.settings import Settings
from fluxd.sync.ports import Source
from fluxd.sync.preview import PreviewCluster, Previewer, Scope
from fluxd.sync.results import SyncResult
from fluxd.views import CommitView, DiffReport, GitStatus, ReadyStatus, Remote, StatusView
from fluxd.views import WorkloadView as _Workload

log = logging.getLogger(__name__)


class DaemonFacts(Protocol):
    """What the status reads of the daemon (``fluxd.daemon.Daemon`` fits)."""

    @property
    def version(self) -> str: ...

    def git_remote(self) -> Remote: ...

    def ready(self) -> ReadyStatus: ...

    def passes(self) -> list[SyncResult]: ...

    def resolve(self, ref: str) -> str: ...

    def list_workloads(self, namespace: str, ids: list[str]) -> list[_Workload]: ...


class MirrorFacts(Source, Protocol):
    """The git mirror as the status and a diff read it."""

    @property
    def error_help(self) -> str: ...

    def describe(self, revision: str) -> CommitInfo: ...

    def refresh(self) -> str: ...


class StatusService:
    """Implements ``fluxd.api.port.StatusPort`` (every method is blocking)."""

    def __init__(
        self,
        settings: Settings,
        *,
        daemon: DaemonFacts,
        mirror: MirrorFacts,
        cluster: PreviewCluster,
        inventory: Callable[[], Inventory],
    ) -> None:
        self._settings = settings
        self._daemon = daemon
        self._mirror = mirror
        git, sync = settings.git, settings.sync
        scope = Scope(
            set_name=sync_set_name(git.url, git.branch, git.paths),
            default_namespace=settings.cluster.default_namespace,
            allowed_namespaces=frozenset(settings.cluster.allow_namespaces),
            garbage_collection=sync.garbage_collection and not sync.garbage_collection_dry,
            instance=settings.cluster.instance_name,
        )
        self._previewer = Previewer(mirror, cluster, scope, inventory, settings.manifests)

    def status(self) -> StatusView:
        """The summary of the status page."""
        ready = self._daemon.ready()
        passes = tuple(self._daemon.passes())
        workloads: tuple[_Workload, ...] = ()
        error = ""
        try:
            workloads = tuple(self._daemon.list_workloads("", []))
        except FluxError as exc:
            error = f"{exc} ({exc.help})"
        sync = self._settings.sync
        return StatusView(
            version=self._daemon.version,
            remote=self._daemon.git_remote(),
            git_status=ready.git_status,
            git_error=ready.git_error,
            git_help=self._mirror.error_help if ready.git_error else "",
            last_synced=self._commit(ready.last_sync_revision),
            passes=passes,
            workloads=workloads,
            workloads_error=error,
            garbage_collection=sync.garbage_collection,
            garbage_collection_dry=sync.garbage_collection_dry,
        )

    def diff(self, ref: str, files: Mapping[str, bytes] | None) -> DiffReport:
        """What a sync of ``ref`` (or of exactly ``files``) would change."""
        if files is not None:
            return self._previewer.of_files(files)
        if self._git_status() != "ready":
            raise UserError(
                f"the git repo is not ready: {self._daemon.ready().git_error}",
                help="Run 'fluxctl sync' for the cause, or diff a local checkout with --from-dir.",
            )
        note = ""
        if ref in ("", "HEAD", self._settings.git.branch):
            # Diff what is in git now, not what the last poll fetched; the
            # sync loop notices the new HEAD at its next poll, as after any fetch.
            try:
                self._mirror.refresh()
            except GitError as exc:
                note = f"fetching the branch failed, so this is the last fetched HEAD: {exc}"
        report = self._previewer.of_revision(self._daemon.resolve(ref))
        return replace(report, notes=(note, *report.notes)) if note else report

    def _git_status(self) -> GitStatus:
        return self._daemon.ready().git_status

    def _commit(self, revision: str) -> CommitView | None:
        if not revision:
            return None
        try:
            info = self._mirror.describe(revision)
        except GitError as exc:
            log.debug("event=commit-unreadable revision=%s error=%r", revision[:7], str(exc))
            return CommitView(revision)
        return CommitView(revision, info.author, info.time, info.subject)
