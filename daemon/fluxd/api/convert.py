"""The daemon's answers (``fluxd.views``) as Flux v1's wire models.

Every quirk of Flux v1's JSON lives here: its field names, null where Go had
a nil slice or map, {} where it had an empty one, and RFC 3339 times.
"""

from __future__ import annotations

import datetime as dt

from fluxd.api import models
from fluxd.cluster import Container, Rollout
from fluxd.identity import PublicKeyInfo
from fluxd.views import (
    ContainerImages,
    GcHold,
    GitConfig,
    ImageDetail,
    JobStatus,
    ReadyStatus,
    Remote,
    SyncReport,
    WorkloadImages,
    WorkloadView,
)
from fluxd.writeback import results_wire

__all__ = [
    "controller_status",
    "gc_hold",
    "git_config",
    "image_status",
    "job_status",
    "public_key",
    "ready_report",
    "remote",
    "sync_errors",
]


def remote(value: Remote) -> models.Remote:
    # Flux v1 had one path setting, comma-separated.
    return models.Remote(url=value.url, branch=value.branch, path=",".join(value.paths))


def public_key(info: PublicKeyInfo | None) -> models.PublicKey:
    """Flux v1's ``publicSSHKey``; empty when there is no key."""
    if info is None:
        return models.PublicKey(key="")
    return models.PublicKey(
        key=info.key,
        fingerprints={
            "md5": models.Fingerprint(hash=info.md5.hash, randomart=info.md5.randomart),
            "sha256": models.Fingerprint(hash=info.sha256.hash, randomart=info.sha256.randomart),
        },
    )


def git_config(config: GitConfig) -> models.GitConfig:
    return models.GitConfig(
        remote=remote(config.remote),
        publicSSHKey=public_key(config.public_key),
        status=config.status,
        errors=config.errors,
    )


def ready_report(status: ReadyStatus) -> models.ReadyReport:
    finished = status.last_sync_finished
    return models.ReadyReport(
        ready=status.ready,
        git_status=status.git_status,
        git_error=status.git_error,
        last_sync_revision=status.last_sync_revision,
        last_sync_time=_rfc3339(finished) if finished is not None else "",
        last_sync_failures=status.last_sync_failures,
    )


def job_status(status: JobStatus) -> models.JobStatus:
    # A sync job's result is only the revision, as in Flux v1 (no spec).
    spec = models.UpdateSpec.model_validate(status.spec) if status.spec is not None else None
    results = results_wire(status.results) if status.results is not None else None
    return models.JobStatus(
        Result=models.JobResult(revision=status.revision, spec=spec, result=results or None),
        Err=status.error,
        StatusString=status.state.value,
    )


def gc_hold(hold: GcHold | None) -> models.GcHold | None:
    """The deletion guard's hold as the wire shows it (null when nothing is held)."""
    if hold is None:
        return None
    return models.GcHold(
        reason=hold.reason, deletions=list(hold.deletions), inventory=hold.inventory, help=hold.help
    )


def sync_errors(report: SyncReport) -> models.SyncErrors:
    return models.SyncErrors(
        revision=report.revision,
        errors=[
            models.ResourceError(ID=f.id, Path=f.source, Error=f.error) for f in report.failures
        ],
        gcHeld=gc_hold(report.gc_hold),
        historyRewrittenFrom=report.history_rewritten_from,
        retrying=report.retrying,
    )


def controller_status(view: WorkloadView) -> models.ControllerStatus:
    return models.ControllerStatus(
        ID=view.id,
        Containers=_containers(view.containers),
        ReadOnly=view.read_only,
        Status=view.status,
        Rollout=_rollout(view.rollout),
        SyncError=view.sync_error,
        Labels=dict(view.labels) or None,
        Automated=view.automated,
        Locked=view.locked,
        Ignore=view.ignore,
        # Flux v1 sends {} for a workload without policies, never null.
        Policies=dict(view.policies),
    )


def image_status(images: WorkloadImages) -> models.ImageStatus:
    containers = [_container_images(c) for c in images.containers]
    return models.ImageStatus(ID=images.id, Containers=containers)


def _container_images(container: ContainerImages) -> models.Container:
    available = container.available
    return models.Container(
        Name=container.name,
        Current=_image_info(container.current),
        LatestFiltered=_image_info(container.latest_filtered)
        if container.latest_filtered
        else None,
        Available=[_image_info(d) for d in available] if available is not None else None,
        AvailableError=container.error or None,
        AvailableImagesCount=len(available) if available is not None else None,
        NewAvailableImagesCount=container.new_available,
        FilteredImagesCount=container.filtered,
        NewFilteredImagesCount=container.new_filtered,
    )


def _image_info(detail: ImageDetail) -> models.ImageInfo:
    return models.ImageInfo(
        ID=detail.ref,
        Digest=detail.digest or None,
        ImageID=detail.image_id or None,
        Labels=dict(detail.labels) or None,
        CreatedAt=_rfc3339_nano(detail.created),
        LastFetched=_rfc3339_nano(detail.fetched),
    )


def _rfc3339_nano(moment: dt.datetime | None) -> str | None:
    """Go's RFC3339Nano in UTC: fractional seconds without trailing zeros."""
    if moment is None:
        return None
    utc = moment.astimezone(dt.UTC)
    fraction = f"{utc.microsecond:06d}".rstrip("0")
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def _containers(containers: tuple[Container, ...]) -> list[models.Container]:
    return [models.Container(Name=c.name, Current=models.ImageInfo(ID=c.image)) for c in containers]


def _rollout(rollout: Rollout) -> models.Rollout:
    return models.Rollout(
        Desired=rollout.desired,
        Updated=rollout.updated,
        Ready=rollout.ready,
        Available=rollout.available,
        Outdated=rollout.outdated,
        Messages=list(rollout.messages) or None,
    )


def _rfc3339(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
