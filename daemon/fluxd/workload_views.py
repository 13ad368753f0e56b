"""Workloads as fluxd reports them: policies from git, read-only reasons, sync errors."""

from __future__ import annotations

from fluxd.cluster import Workload
from fluxd.manifests import policies_of
from fluxd.views import ReadOnlyReason, WorkloadView


def workload_view(
    workload: Workload,
    *,
    in_repo: bool,
    repo_ready: bool,
    sync_error: str,
    repo_configured: bool = True,
    repo_readonly: bool = False,
) -> WorkloadView:
    # As Flux v1: policies are those of the manifest in git, so a workload
    # that git does not hold (or a repo not read yet) shows none.
    policies = policies_of(workload.policies) if in_repo and repo_ready else {}
    read_only: ReadOnlyReason = "" if in_repo else "NotInRepo"
    if in_repo and repo_readonly:
        # As Flux v1: in git, but fluxd may not write there (--git-readonly).
        read_only = "ReadOnlyMode"
    if not repo_ready:
        read_only = "NotReady" if repo_configured else "NoRepo"
    return WorkloadView(
        id=workload.id,
        status=workload.status.value,
        rollout=workload.rollout,
        containers=workload.containers,
        read_only=read_only,
        sync_error=sync_error,
        labels=dict(workload.labels),
        policies=dict(policies),
        automated=policies.get("automated") == "true",
        locked=policies.get("locked") == "true",
        ignore=policies.get("ignore") in ("true", "sync_only"),
    )
