"""What the HTTP API needs from the daemon: ``DaemonPort``.

The routes are thin: they validate input, call one method here and turn the
answer (a plain value of ``fluxd.views``) into Flux v1's JSON with
``fluxd.api.convert``. Methods come in two kinds, and the split is
part of the contract:

* **quick** ones are called on the event loop. They must answer from memory
  at once and never wait for a running sync (they may set an asyncio.Event).
* **blocking** ones are called through ``asyncio.to_thread``. They may talk
  to the cluster, read git or the Secret, and take a while.

Errors are ``fluxd.errors.FluxError``s; the API maps ``MissingError`` to 404,
``UserError`` to 422 and everything else to 500.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from fluxd.jobs import UpdateRequest
from fluxd.views import (
    ALL_WORKLOADS,
    DiffReport,
    GitConfig,
    JobStatus,
    Leadership,
    ReadyStatus,
    Remote,
    StatusView,
    SyncReport,
    WorkloadImages,
    WorkloadView,
)

__all__ = ["ALL_WORKLOADS", "DaemonPort", "StatusPort"]


class DaemonPort(Protocol):
    """The daemon as the API sees it."""

    @property
    def version(self) -> str:
        """fluxd's version string (quick)."""
        ...

    def git_remote(self) -> Remote:
        """The configured repo: URL without credentials, branch, paths (quick)."""
        ...

    def ready(self) -> ReadyStatus:
        """Whether fluxd is serving, plus git status and the last sync (quick)."""
        ...

    def leadership(self) -> Leadership:
        """Whether this replica syncs, and where the one that does is (quick)."""
        ...

    def notify_git_change(self, url: str, branch: str) -> None:
        """Something was pushed to the configured repo: fetch soon (quick).

        Called once per delivery; bursts are the daemon's to coalesce.
        """
        ...

    def notify_image_change(self, name: str) -> None:
        """A registry says ``name`` was pushed: scan soon (quick)."""
        ...

    def start_sync_job(self) -> str:
        """Queue "fetch and report the branch head"; return the job ID (quick)."""
        ...

    def start_update_job(self, request: UpdateRequest) -> str:
        """Queue a release or policy job (it writes to git); return its ID (quick)."""
        ...

    async def plan_update(self, request: UpdateRequest) -> str:
        """Run a release plan now; its result is the job's. Errors are the request's."""
        ...

    def job_status(self, job_id: str) -> JobStatus:
        """Status of a job; ``MissingError`` for an unknown ID (quick)."""
        ...

    def sync_errors(self, ref: str | None) -> SyncReport:
        """Per-resource failures of the last pass, or of the pass that applied ``ref``.

        ``MissingError`` when no pass applied ``ref`` (quick).
        """
        ...

    def ping(self) -> None:
        """Check that the cluster answers; raise if it does not (blocking)."""
        ...

    def sync_status(self, ref: str) -> list[str]:
        """Revisions in ``ref`` not yet applied, newest first; [] when applied (blocking).

        ``MissingError`` for an unknown ref, ``UserError`` for a malformed one.
        """
        ...

    def git_config(self, regenerate: bool) -> GitConfig:
        """Repo, status and public key; with ``regenerate`` a new key first (blocking)."""
        ...

    def list_workloads(self, namespace: str, ids: Sequence[str]) -> list[WorkloadView]:
        """Workloads in ``namespace`` ("" = all), or only ``ids`` when given (blocking)."""
        ...

    def list_images(self, spec: str, namespace: str) -> list[WorkloadImages]:
        """Images of workloads: ``spec`` is ``ALL_WORKLOADS`` or one ID (blocking)."""
        ...

    def export(self) -> str:
        """The cluster's workloads as multi-document YAML (blocking)."""
        ...


class StatusPort(Protocol):
    """The status page and diffs (``fluxd.status_service.StatusService``); all blocking."""

    def status(self) -> StatusView:
        """Git, the last passes, the workloads and the deletion guard, read now."""
        ...

    def diff(self, ref: str, files: Mapping[str, bytes] | None) -> DiffReport:
        """What a sync of ``ref`` of the branch, or of exactly ``files``, would change.

        ``UserError`` for a malformed or unknown ref, or a repo not ready.
        """
        ...
