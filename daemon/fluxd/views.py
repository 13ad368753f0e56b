"""What the daemon answers, as plain values: the API turns them into Flux v1's JSON.

These know nothing of the wire: no JSON field names, no null-versus-[] rules,
no omitted zero values. ``fluxd.api.convert`` owns those quirks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from fluxd.cluster import Container, Rollout
from fluxd.identity import PublicKeyInfo
from fluxd.jobs import JobState
from fluxd.sync.changes import Action, DiffReport, ObjectChange
from fluxd.sync.results import GcHold, ResourceFailure, SyncResult
from fluxd.writeback import Results

__all__ = [
    "ALL_WORKLOADS",
    "Action",
    "CommitView",
    "ContainerImages",
    "DiffReport",
    "GcHold",
    "GitConfig",
    "GitStatus",
    "ImageDetail",
    "JobStatus",
    "ObjectChange",
    "ReadOnlyReason",
    "ReadyStatus",
    "Remote",
    "StatusView",
    "SyncReport",
    "SyncResult",
    "WorkloadImages",
    "WorkloadView",
]

#: The image listing's "every workload" spec, as Flux v1 spelt it.
ALL_WORKLOADS = "<all>"

GitStatus = Literal["unconfigured", "new", "cloned", "ready", "unreachable"]

#: Why a workload cannot be changed through git ("" when it can).
ReadOnlyReason = Literal["", "NotInRepo", "NoRepo", "NotReady", "ReadOnlyMode"]


@dataclass(frozen=True, slots=True)
class Remote:
    """The configured repo: URL without credentials, branch, and the paths synced."""

    url: str
    branch: str
    paths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GitConfig:
    remote: Remote
    status: GitStatus
    #: None when fluxd has no key (none configured, or it could not be read).
    public_key: PublicKeyInfo | None = None
    errors: str = ""


@dataclass(frozen=True, slots=True)
class ReadyStatus:
    ready: bool
    git_status: GitStatus
    git_error: str = ""
    #: The revision the last finished sync pass applied ("" before the first).
    last_sync_revision: str = ""
    #: When that pass finished, in wall-clock seconds (None before the first).
    last_sync_finished: float | None = None
    last_sync_failures: int = 0


@dataclass(frozen=True, slots=True)
class JobStatus:
    state: JobState
    #: A sync job: the branch head it found; a write job: the commit it pushed.
    revision: str = ""
    error: str = ""
    #: The update spec as asked (write jobs only; Flux v1's JSON form).
    spec: Mapping[str, object] | None = None
    #: Per workload (write jobs only, once they ran).
    results: Results | None = None


@dataclass(frozen=True, slots=True)
class SyncReport:
    """The outcome of one sync pass as reported to users."""

    revision: str
    failures: tuple[ResourceFailure, ...] = ()
    gc_hold: GcHold | None = None
    #: The revision applied before, when this one does not descend from it.
    history_rewritten_from: str = ""
    #: The pass stopped for a passing reason and is tried again within seconds.
    retrying: bool = False


@dataclass(frozen=True, slots=True)
class WorkloadView:
    """One workload with what git and the last sync pass say about it."""

    id: str
    status: str
    rollout: Rollout
    containers: tuple[Container, ...] = ()
    read_only: ReadOnlyReason = ""
    sync_error: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    #: Flux policies of the manifest in git (empty when git does not hold it).
    policies: Mapping[str, str] = field(default_factory=dict)
    automated: bool = False
    locked: bool = False
    ignore: bool = False


@dataclass(frozen=True, slots=True)
class ImageDetail:
    """One image (``name:tag``) with what the registry says of it, when known."""

    ref: str
    digest: str = ""
    image_id: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    created: datetime | None = None
    fetched: datetime | None = None


@dataclass(frozen=True, slots=True)
class ContainerImages:
    """A container's image and the registry's images of that repository."""

    name: str
    current: ImageDetail
    #: Every tag, ordered as the container's filter orders them (None: no data).
    available: tuple[ImageDetail, ...] | None = None
    #: Why there is no data, or why the last scan failed ("" when it went through).
    error: str = ""
    latest_filtered: ImageDetail | None = None
    new_available: int = 0
    filtered: int = 0
    new_filtered: int = 0


@dataclass(frozen=True, slots=True)
class WorkloadImages:
    """A workload's containers, each with the images its registry offers."""

    id: str
    containers: tuple[ContainerImages, ...] = ()


@dataclass(frozen=True, slots=True)
class CommitView:
    """A commit as people know it: who, when, what."""

    revision: str
    author: str = ""
    #: Wall-clock seconds (None when the mirror does not hold the commit).
    time: float | None = None
    subject: str = ""


@dataclass(frozen=True, slots=True)
class StatusView:
    """Everything the status page and ``fluxctl status`` show, read at one moment."""

    version: str
    remote: Remote
    git_status: GitStatus
    git_error: str = ""
    git_help: str = ""
    #: The revision the last pass applied (None before the first pass).
    last_synced: CommitView | None = None
    #: The last pass of each recent revision, newest first.
    passes: tuple[SyncResult, ...] = ()
    workloads: tuple[WorkloadView, ...] = ()
    #: Why the workloads could not be listed ("" when they were).
    workloads_error: str = ""
    garbage_collection: bool = False
    garbage_collection_dry: bool = False
