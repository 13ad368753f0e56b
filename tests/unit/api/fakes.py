"""A ``DaemonPort`` for API tests: canned answers, and a record of what was asked."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fluxd.cluster import Container, Rollout
from fluxd.errors import MissingError, UserError
from fluxd.identity import Fingerprint, PublicKeyInfo
from fluxd.jobs import JobState, UpdateRequest
from fluxd.registry.manifests import parse_time
from fluxd.sync.results import ResourceFailure
from fluxd.views import (
    ContainerImages,
    GitConfig,
    GitStatus,
    ImageDetail,
    JobStatus,
    Leadership,
    ReadyStatus,
    Remote,
    SyncReport,
    WorkloadImages,
    WorkloadView,
)

REMOTE_URL = "git@github.com:acme/fleet.git"
REVISION = "5a3f1c9e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f"

PUBLIC_KEY = PublicKeyInfo(
    key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJjn4L5TeMltxtSrPPk+s9jUfyOqUZXEVzlTV4wLTrXl\n",
    md5=Fingerprint(
        "MD5",
        hash="25:88:b7:cb:cb:17:24:5c:55:42:3a:f8:a3:3b:7b:f3",
        randomart="+--[ED25519 256]--+\n|                 |\n+------[MD5]------+\n",
    ),
    sha256=Fingerprint(
        "SHA256",
        hash="yU4SawoLtvB92q9t/LFkZ8Zdy4qbOWZc8TZgtK5uRWM",
        randomart="+--[ED25519 256]--+\n|                 |\n+----[SHA256]-----+\n",
    ),
)


@dataclass
class FakeDaemon:
    """Implements ``fluxd.api.port.DaemonPort``; mypy checks the fit in the tests."""

    remote: Remote = field(
        default_factory=lambda: Remote(url=REMOTE_URL, branch="main", paths=("deploy",))
    )
    status: GitStatus = "ready"
    git_errors: str = ""
    public_key: PublicKeyInfo | None = PUBLIC_KEY
    workloads: list[WorkloadView] = field(default_factory=list)
    images: list[WorkloadImages] = field(default_factory=list)
    jobs: dict[str, JobStatus] = field(default_factory=dict)
    updates: list[UpdateRequest] = field(default_factory=list)
    pending: dict[str, list[str]] = field(default_factory=dict)
    errors: SyncReport = field(default_factory=lambda: SyncReport(revision=""))
    exported: str = "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n"
    report: ReadyStatus = field(default_factory=lambda: ReadyStatus(ready=True, git_status="ready"))
    ping_error: Exception | None = None
    #: A standby replica's view (leading=False, a leader address) makes the API forward.
    leader: Leadership = field(default_factory=Leadership)
    # What the API asked for:
    notified: list[tuple[str, str]] = field(default_factory=list)
    regenerated: int = 0
    listed: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    images_asked: list[tuple[str, str]] = field(default_factory=list)
    threads: set[str] = field(default_factory=set)

    @property
    def version(self) -> str:
        return "1.25.4"

    def git_remote(self) -> Remote:
        return self.remote

    def ready(self) -> ReadyStatus:
        return self.report

    def leadership(self) -> Leadership:
        return self.leader

    def notify_git_change(self, url: str, branch: str) -> None:
        self.notified.append((url, branch))

    def notify_image_change(self, name: str) -> None:
        self.notified.append(("image", name))

    def start_sync_job(self) -> str:
        job_id = f"job-{len(self.jobs) + 1}"
        self.jobs[job_id] = JobStatus(state=JobState.QUEUED)
        return job_id

    def start_update_job(self, request: UpdateRequest) -> str:
        job_id = f"job-{len(self.jobs) + 1}"
        self.jobs[job_id] = JobStatus(state=JobState.QUEUED, spec=request.wire())
        self.updates.append(request)
        return job_id

    async def plan_update(self, request: UpdateRequest) -> str:
        return self.start_update_job(request)

    def job_status(self, job_id: str) -> JobStatus:
        if job_id not in self.jobs:
            raise MissingError(f"unknown job {job_id!r}", help="The job ID is not known.")
        return self.jobs[job_id]

    def sync_errors(self, ref: str | None) -> SyncReport:
        if ref is not None and not self.errors.revision.startswith(ref):
            raise MissingError(f"no sync pass applied {ref}")
        return self.errors

    def ping(self) -> None:
        self._note_thread()
        if self.ping_error is not None:
            raise self.ping_error

    def sync_status(self, ref: str) -> list[str]:
        self._note_thread()
        if ref not in self.pending:
            raise UserError(f"unknown revision {ref!r}")
        return self.pending[ref]

    def git_config(self, regenerate: bool) -> GitConfig:
        self._note_thread()
        if regenerate:
            self.regenerated += 1
        return GitConfig(
            remote=self.remote,
            status=self.status,
            public_key=self.public_key,
            errors=self.git_errors,
        )

    def list_workloads(self, namespace: str, ids: Sequence[str]) -> list[WorkloadView]:
        self._note_thread()
        self.listed.append((namespace, tuple(ids)))
        return self.workloads

    def list_images(self, spec: str, namespace: str) -> list[WorkloadImages]:
        self._note_thread()
        self.images_asked.append((spec, namespace))
        return self.images

    def export(self) -> str:
        self._note_thread()
        return self.exported

    def _note_thread(self) -> None:
        self.threads.add(threading.current_thread().name)


# --- recorded Flux v1 answers, read back into the daemon's values ---------------


def public_key_from_wire(recorded: dict[str, Any]) -> PublicKeyInfo | None:
    if not recorded["key"]:
        return None
    prints = recorded["fingerprints"]
    return PublicKeyInfo(
        key=recorded["key"],
        md5=Fingerprint("MD5", prints["md5"]["hash"], prints["md5"]["randomart"]),
        sha256=Fingerprint("SHA256", prints["sha256"]["hash"], prints["sha256"]["randomart"]),
    )


def containers_from_wire(recorded: list[dict[str, Any]] | None) -> tuple[Container, ...]:
    return tuple(Container(c["Name"], c["Current"]["ID"]) for c in recorded or [])


def workload_from_wire(recorded: dict[str, Any]) -> WorkloadView:
    rollout = recorded["Rollout"]
    return WorkloadView(
        id=recorded["ID"],
        status=recorded["Status"],
        rollout=Rollout(
            desired=rollout["Desired"],
            updated=rollout["Updated"],
            ready=rollout["Ready"],
            available=rollout["Available"],
            outdated=rollout["Outdated"],
            messages=tuple(rollout["Messages"] or ()),
        ),
        containers=containers_from_wire(recorded["Containers"]),
        read_only=recorded["ReadOnly"],
        sync_error=recorded["SyncError"],
        labels=recorded["Labels"] or {},
        policies=recorded["Policies"] or {},
        automated=recorded["Automated"],
        locked=recorded["Locked"],
        ignore=recorded["Ignore"],
    )


def images_from_wire(recorded: dict[str, Any]) -> WorkloadImages:
    return WorkloadImages(
        id=recorded["ID"],
        containers=tuple(_container_images(c) for c in recorded["Containers"] or []),
    )


def _container_images(recorded: dict[str, Any]) -> ContainerImages:
    available = recorded.get("Available")
    latest = recorded.get("LatestFiltered") or {}
    return ContainerImages(
        name=recorded["Name"],
        current=_detail(recorded["Current"]),
        available=tuple(_detail(i) for i in available) if available is not None else None,
        error=recorded.get("AvailableError", ""),
        latest_filtered=_detail(latest) if latest.get("ID") else None,
        new_available=recorded.get("NewAvailableImagesCount", 0),
        filtered=recorded.get("FilteredImagesCount", 0),
        new_filtered=recorded.get("NewFilteredImagesCount", 0),
    )


def _detail(info: dict[str, Any]) -> ImageDetail:
    def when(key: str) -> datetime | None:
        return parse_time(info[key]) if info.get(key) else None

    return ImageDetail(
        ref=info["ID"],
        digest=info.get("Digest", ""),
        image_id=info.get("ImageID", ""),
        labels=info.get("Labels") or {},
        created=when("CreatedAt"),
        fetched=when("LastFetched"),
    )


def job_from_wire(recorded: dict[str, Any]) -> JobStatus:
    return JobStatus(
        state=JobState(recorded["StatusString"]),
        revision=recorded["Result"].get("revision", ""),
        error=recorded["Err"],
    )


def sync_report_from_wire(recorded: dict[str, Any]) -> SyncReport:
    return SyncReport(
        revision=recorded["revision"],
        failures=tuple(
            ResourceFailure(id=e["ID"], source=e["Path"], error=e["Error"])
            for e in recorded["errors"]
        ),
    )


def check_protocol_fit() -> None:
    """Never called: makes mypy prove FakeDaemon satisfies DaemonPort."""
    from fluxd.api.port import DaemonPort

    _: DaemonPort = FakeDaemon()
    del _


__all__ = [
    "PUBLIC_KEY",
    "REMOTE_URL",
    "REVISION",
    "FakeDaemon",
    "UserError",
    "images_from_wire",
    "job_from_wire",
    "public_key_from_wire",
    "sync_report_from_wire",
    "workload_from_wire",
]
