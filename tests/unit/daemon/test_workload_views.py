"""Workloads shown as Flux v1's ControllerStatus: policies, read-only reasons, errors."""

from __future__ import annotations

from fluxd.cluster import Container, Rollout, Workload, WorkloadStatus
from fluxd.workload_views import controller_status, image_status


def web(**annotations: str) -> Workload:
    return Workload(
        id="apps:deployment/web",
        kind="Deployment",
        namespace="apps",
        name="web",
        status=WorkloadStatus.READY,
        rollout=Rollout(desired=3, updated=3, ready=3, available=3),
        containers=(Container("nginx", "nginx:1.17.7"), Container("log", "busybox:1")),
        policies=annotations,
    )


def test_policies_from_current_legacy_and_filter_annotations() -> None:
    status = controller_status(
        web(
            **{
                "fluxcd.io/automated": "true",
                "flux.weave.works/locked": "true",
                "filter.fluxcd.io/nginx": "semver:~1.17",
            }
        ),
        in_repo=True,
        repo_ready=True,
        sync_error="",
    )
    assert status.Automated and status.Locked and not status.Ignore
    assert status.Policies == {"automated": "true", "locked": "true", "tag.nginx": "semver:~1.17"}
    assert status.Status == "ready"
    assert [c.Name for c in status.Containers or []] == ["nginx", "log"]


def test_read_only_reasons_and_the_last_apply_error() -> None:
    outside = controller_status(web(), in_repo=False, repo_ready=True, sync_error="")
    assert outside.ReadOnly == "NotInRepo"
    not_ready = controller_status(web(), in_repo=True, repo_ready=False, sync_error="boom")
    assert (not_ready.ReadOnly, not_ready.SyncError) == ("NotReady", "boom")
    # Flux v1 sends {} for a workload without policies, never null.
    assert controller_status(web(), in_repo=True, repo_ready=True, sync_error="").Policies == {}
    no_repo = controller_status(web(), in_repo=False, repo_ready=False, sync_error="",
                                repo_configured=False)  # fmt: skip
    assert no_repo.ReadOnly == "NoRepo"


def test_policies_come_from_git_so_workloads_git_does_not_hold_show_none() -> None:
    annotated = web(**{"fluxcd.io/automated": "true"})
    for in_repo, repo_ready in [(False, True), (True, False)]:
        status = controller_status(annotated, in_repo=in_repo, repo_ready=repo_ready, sync_error="")
        assert (status.Policies, status.Automated) == ({}, False)


def test_images_are_the_current_ones_per_container() -> None:
    images = image_status(web())
    assert [(c.Name, c.Current.ID if c.Current else "") for c in images.Containers or []] == [
        ("nginx", "nginx:1.17.7"),
        ("log", "busybox:1"),
    ]
