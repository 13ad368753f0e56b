"""What the daemon answers, as plain values: the API turns them into Flux v1's JSON.

These know nothing of the wire: no JSON field names, no null-versus-[] rules,
no omitted zero values. ``fluxd.api.convert`` owns those quirks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from fluxd.cluster import Container, Rollout
from fluxd.identity import PublicKeyInfo
from fluxd.jobs import JobState
from fluxd.sync.election import Leadership
from fluxd.sync.results import GcHold, ResourceFailure

__all__ = [
    "ALL_WORKLOADS",
    "GitConfig",
    "GitStatus",
    "JobStatus",
    "Leadership",
    "ReadOnlyReason",
    "ReadyStatus",
    "Remote",
    "SyncReport",
    "WorkloadImages",
    "WorkloadView",
]

#: The image listing's "every workload" spec, as Flux v1 spelt it.
ALL_WORKLOADS = "<all>"

GitStatus = Literal["unconfigured", "new", "cloned", "ready", "unreachable"]

#: Why a workload cannot be changed through git ("" when it can).
ReadOnlyReason = Literal["", "NotInRepo", "NoRepo", "NotReady"]


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
    #: What a finished sync job found at the branch head ("" until then).
    revision: str = ""
    error: str = ""


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
class WorkloadImages:
    """A workload's current images: this daemon does not scan registries."""

    id: str
    containers: tuple[Container, ...] = ()
