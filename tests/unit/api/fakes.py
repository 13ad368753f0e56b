"""A ``DaemonPort`` for API tests: canned answers, and a record of what was asked."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from fluxd.api import models
from fluxd.errors import MissingError, UserError

REMOTE_URL = "git@github.com:acme/fleet.git"
REVISION = "5a3f1c9e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f"

PUBLIC_KEY = models.PublicKey(
    key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJjn4L5TeMltxtSrPPk+s9jUfyOqUZXEVzlTV4wLTrXl\n",
    fingerprints={
        "md5": models.Fingerprint(
            hash="25:88:b7:cb:cb:17:24:5c:55:42:3a:f8:a3:3b:7b:f3",
            randomart="+--[ED25519 256]--+\n|                 |\n+------[MD5]------+\n",
        ),
        "sha256": models.Fingerprint(
            hash="yU4SawoLtvB92q9t/LFkZ8Zdy4qbOWZc8TZgtK5uRWM",
            randomart="+--[ED25519 256]--+\n|                 |\n+----[SHA256]-----+\n",
        ),
    },
)


@dataclass
class FakeDaemon:
    """Implements ``fluxd.api.port.DaemonPort``; mypy checks the fit in the tests."""

    remote: models.Remote = field(
        default_factory=lambda: models.Remote(url=REMOTE_URL, branch="main", path="deploy")
    )
    status: models.GitStatus = "ready"
    git_errors: str = ""
    workloads: list[models.ControllerStatus] = field(default_factory=list)
    images: list[models.ImageStatus] = field(default_factory=list)
    jobs: dict[str, models.JobStatus] = field(default_factory=dict)
    pending: dict[str, list[str]] = field(default_factory=dict)
    errors: models.SyncErrors = field(default_factory=models.SyncErrors)
    exported: str = "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n"
    report: models.ReadyReport = field(
        default_factory=lambda: models.ReadyReport(ready=True, git_status="ready")
    )
    ping_error: Exception | None = None
    # What the API asked for:
    notified: list[tuple[str, str]] = field(default_factory=list)
    regenerated: int = 0
    listed: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    images_asked: list[tuple[str, str]] = field(default_factory=list)
    threads: set[str] = field(default_factory=set)

    @property
    def version(self) -> str:
        return "1.25.4"

    def git_remote(self) -> models.Remote:
        return self.remote

    def ready(self) -> models.ReadyReport:
        return self.report

    def notify_git_change(self, url: str, branch: str) -> None:
        self.notified.append((url, branch))

    def start_sync_job(self) -> str:
        job_id = f"job-{len(self.jobs) + 1}"
        self.jobs[job_id] = models.JobStatus(StatusString="queued")
        return job_id

    def job_status(self, job_id: str) -> models.JobStatus:
        if job_id not in self.jobs:
            raise MissingError(f"unknown job {job_id!r}", help="The job ID is not known.")
        return self.jobs[job_id]

    def sync_errors(self, ref: str | None) -> models.SyncErrors:
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

    def git_config(self, regenerate: bool) -> models.GitConfig:
        self._note_thread()
        if regenerate:
            self.regenerated += 1
        return models.GitConfig(
            remote=self.remote, publicSSHKey=PUBLIC_KEY, status=self.status, errors=self.git_errors
        )

    def list_workloads(self, namespace: str, ids: Sequence[str]) -> list[models.ControllerStatus]:
        self._note_thread()
        self.listed.append((namespace, tuple(ids)))
        return self.workloads

    def list_images(self, spec: str, namespace: str) -> list[models.ImageStatus]:
        self._note_thread()
        self.images_asked.append((spec, namespace))
        return self.images

    def export(self) -> str:
        self._note_thread()
        return self.exported

    def _note_thread(self) -> None:
        self.threads.add(threading.current_thread().name)


def check_protocol_fit() -> None:
    """Never called: makes mypy prove FakeDaemon satisfies DaemonPort."""
    from fluxd.api.port import DaemonPort

    _: DaemonPort = FakeDaemon()
    del _


__all__ = ["PUBLIC_KEY", "REMOTE_URL", "REVISION", "FakeDaemon", "UserError"]
