"""Which workloads a release changes, and the reason shown for each one it does not."""

from __future__ import annotations

import pytest

from fluxd.cluster import Container, Rollout, Workload, WorkloadStatus
from fluxd.manifests import Resource, load
from fluxd.writeback import ALL_LATEST, NoImageData, ReleaseSpec, Status
from fluxd.writeback.imagerefs import ImageRef, tag_matches
from fluxd.writeback.release import plan_release, release_message
from fluxids import ObjectRef

MANIFEST = """\
kind: Deployment
apiVersion: apps/v1
metadata:
  name: {name}
  annotations: {annotations}
spec:
  template:
    spec:
      containers:
      - name: main
        image: {image}
"""


def defined(**workloads: tuple[str, str]) -> dict[ObjectRef, Resource]:
    files = {
        f"{name}.yaml": MANIFEST.format(name=name, image=image, annotations=notes or "{}").encode()
        for name, (image, notes) in workloads.items()
    }
    loaded = load(files, {}, scope=lambda a, k: True, default_namespace="default")
    return {r.ref: r for r in loaded.resources}


def running(**images: str) -> dict[ObjectRef, Workload]:
    return {
        ObjectRef("default", "deployment", name): Workload(
            ObjectRef("default", "Deployment", name, "apps/v1"),
            WorkloadStatus.READY,
            Rollout(),
            (Container("main", image),),
        )
        for name, image in images.items()
    }


def outcome(spec: ReleaseSpec, repo, cluster) -> dict[str, tuple[str, str]]:
    _, results = plan_release(spec, repo, cluster, NoImageData())
    return {str(w): (r.status.value, r.error) for w, r in results.items()}


REPO = defined(
    web=("nginx:1.14.2", ""),
    frozen=("nginx:1.14.2", "{fluxcd.io/locked: 'true'}"),
    db=("postgres:15", ""),
    gone=("nginx:1.14.2", ""),
    picky=("nginx:1.14.2", "{fluxcd.io/tag.main: 'semver:~1.14'}"),
)
CLUSTER = running(web="nginx:1.14.2", frozen="nginx:1.14.2", db="postgres:15", picky="nginx:1.14.2")


def test_all_workloads_get_a_reason_in_flux_v1s_words() -> None:
    spec = ReleaseSpec(("<all>",), "docker.io/library/nginx:1.16.1")
    assert outcome(spec, REPO, CLUSTER) == {
        "default:deployment/web": ("success", ""),
        "default:deployment/frozen": ("skipped", "locked"),
        "default:deployment/db": ("ignored", "a different image"),
        "default:deployment/gone": ("skipped", "not accessible in cluster"),
        "default:deployment/picky": ("skipped", "cannot find one or more images"),
    }


def test_named_workloads_exclude_the_rest_and_unknown_ones_are_not_in_the_repository() -> None:
    spec = ReleaseSpec(("default:deployment/web", "default:deployment/nope"), "nginx:1.16.1")
    found = outcome(spec, REPO, CLUSTER)
    assert found["default:deployment/db"] == ("ignored", "not included")
    assert found["default:deployment/nope"] == ("skipped", "not found in repository")
    assert found["default:deployment/web"] == ("success", "")


def test_force_on_a_named_workload_overrides_the_lock_and_the_tag_filter() -> None:
    for name in ("frozen", "picky"):
        spec = ReleaseSpec((f"default:deployment/{name}",), "nginx:1.16.1", force=True)
        assert outcome(spec, REPO, CLUSTER)[f"default:deployment/{name}"] == ("success", "")


def test_excludes_and_an_up_to_date_image() -> None:
    spec = ReleaseSpec(
        ("<all>",), "nginx:1.14.2", excludes=(ObjectRef.parse("default:deployment/frozen"),)
    )
    found = outcome(spec, REPO, CLUSTER)
    assert found["default:deployment/frozen"] == ("ignored", "excluded")
    assert found["default:deployment/web"] == ("skipped", "image(s) up to date")


def test_all_latest_without_registry_data_finds_no_image() -> None:
    found = outcome(ReleaseSpec(("<all>",), ALL_LATEST), REPO, CLUSTER)
    assert found["default:deployment/web"] == ("skipped", "cannot find one or more images")


def test_the_target_keeps_the_repository_as_the_cluster_spells_it() -> None:
    updates, results = plan_release(
        ReleaseSpec(("default:deployment/web",), "index.docker.io/library/nginx:1.16.1"),
        REPO,
        CLUSTER,
        NoImageData(),
    )
    (container,) = updates[0].containers
    assert (container.current, container.target) == ("nginx:1.14.2", "nginx:1.16.1")
    assert results[updates[0].workload].status is Status.SUCCESS


def test_commit_message_trims_the_angle_brackets_as_flux_v1_did() -> None:
    assert release_message(ReleaseSpec(("<all>",), ALL_LATEST)) == "Release all latest to all"


@pytest.mark.parametrize(
    ("pattern", "tag", "matches"),
    [
        ("glob:1.*", "1.16.1", True),
        ("1.*", "2.0", False),
        ("semver:~1.16", "1.16.9", True),
        ("semver:~1.16", "1.17.0", False),
        ("semver:^1", "1.99.0", True),
        ("semver:>=1.2, <2", "2.0.0", False),
        ("semver:~1", "1.16.1-alpine", False),
        ("regex:^v\\d+$", "v12", True),
        ("regexp:^v\\d+$", "v12a", False),
    ],
)
def test_tag_filters(pattern: str, tag: str, matches: bool) -> None:
    assert tag_matches(pattern, tag) is matches


def test_image_names_compare_by_their_canonical_form() -> None:
    names = ["nginx", "docker.io/library/nginx", "index.docker.io/library/nginx"]
    assert {ImageRef.parse(n).canonical_name for n in names} == {"docker.io/library/nginx"}
    assert ImageRef.parse("localhost:5000/app:v1").canonical_name == "localhost:5000/app"
    with pytest.raises(ValueError, match="invalid image name"):
        ImageRef.parse("Nginx:1")
