"""Workloads as the Flux v1 API shows them (``ControllerStatus``, ``ImageStatus``)."""

from __future__ import annotations

from fluxd.api import models
from fluxd.cluster import Workload
from fluxd.manifests import policies_of


def controller_status(
    workload: Workload,
    *,
    in_repo: bool,
    repo_ready: bool,
    sync_error: str,
    repo_configured: bool = True,
) -> models.ControllerStatus:
    # As Flux v1: policies are those of the manifest in git, so a workload
    # that git does not hold (or a repo not read yet) shows none.
    policies = policies_of(workload.policies) if in_repo and repo_ready else {}
    read_only = "" if in_repo else "NotInRepo"
    if not repo_ready:
        read_only = "NotReady" if repo_configured else "NoRepo"
    return models.ControllerStatus(
        ID=workload.id,
        Containers=[
            models.Container(Name=c.name, Current=models.ImageInfo(ID=c.image))
            for c in workload.containers
        ],
        ReadOnly=read_only,
        Status=workload.status.value,
        Rollout=models.Rollout(
            Desired=workload.rollout.desired,
            Updated=workload.rollout.updated,
            Ready=workload.rollout.ready,
            Available=workload.rollout.available,
            Outdated=workload.rollout.outdated,
            Messages=list(workload.rollout.messages) or None,
        ),
        SyncError=sync_error,
        Labels=dict(workload.labels) or None,
        Automated=policies.get("automated") == "true",
        Locked=policies.get("locked") == "true",
        Ignore=policies.get("ignore") in ("true", "sync_only"),
        # Flux v1 sends {} for a workload without policies, never null.
        Policies=dict(policies),
    )


def image_status(workload: Workload) -> models.ImageStatus:
    """Current images only: this daemon does not scan registries."""
    return models.ImageStatus(
        ID=workload.id,
        Containers=[
            models.Container(Name=c.name, Current=models.ImageInfo(ID=c.image))
            for c in workload.containers
        ],
    )
