"""Workloads as fluxd reports them: policies from git, read-only reasons, errors."""

from __future__ import annotations

from fluxd.cluster import Container, Rollout, Workload, WorkloadStatus
from fluxd.image_views import workload_images
from fluxd.workload_views import workload_view
from fluxids import ObjectRef


def web(**annotations: str) -> Workload:
    return Workload(
        ref=ObjectRef("apps", "Deployment", "web", "apps/v1"),
        status=WorkloadStatus.READY,
        rollout=Rollout(desired=3, updated=3, ready=3, available=3),
        containers=(Container("nginx", "nginx:1.17.7"), Container("log", "busybox:1")),
        policies=annotations,
    )


def test_policies_from_current_legacy_and_filter_annotations() -> None:
    status = workload_view(
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
    assert status.automated and status.locked and not status.ignore
    assert status.policies == {"automated": "true", "locked": "true", "tag.nginx": "semver:~1.17"}
    assert status.status == "ready"
    assert [c.name for c in status.containers] == ["nginx", "log"]


def test_read_only_reasons_and_the_last_apply_error() -> None:
    outside = workload_view(web(), in_repo=False, repo_ready=True, sync_error="")
    assert outside.read_only == "NotInRepo"
    not_ready = workload_view(web(), in_repo=True, repo_ready=False, sync_error="boom")
    assert (not_ready.read_only, not_ready.sync_error) == ("NotReady", "boom")
    assert workload_view(web(), in_repo=True, repo_ready=True, sync_error="").policies == {}
    no_repo = workload_view(web(), in_repo=False, repo_ready=False, sync_error="",
                                repo_configured=False)  # fmt: skip
    assert no_repo.read_only == "NoRepo"


def test_policies_come_from_git_so_workloads_git_does_not_hold_show_none() -> None:
    annotated = web(**{"fluxcd.io/automated": "true"})
    for in_repo, repo_ready in [(False, True), (True, False)]:
        status = workload_view(annotated, in_repo=in_repo, repo_ready=repo_ready, sync_error="")
        assert (status.policies, status.automated) == ({}, False)


def test_with_scanning_off_images_are_the_current_ones_per_container() -> None:
    # No registry was asked, so there is no error either, as Flux v1 answered.
    images = workload_images(web(), None)
    assert [(c.name, c.current.ref, c.error) for c in images.containers] == [
        ("nginx", "nginx:1.17.7", ""),
        ("log", "busybox:1", ""),
    ]


def test_a_workload_in_git_is_read_only_mode_when_fluxd_may_not_write_to_git() -> None:
    view = workload_view(web(), in_repo=True, repo_ready=True, sync_error="", repo_readonly=True)
    assert view.read_only == "ReadOnlyMode"
    outside = workload_view(
        web(), in_repo=False, repo_ready=True, sync_error="", repo_readonly=True
    )
    assert outside.read_only == "NotInRepo"
