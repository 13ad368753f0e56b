"""Installs own their objects by label; a replica that lost the Lease writes nothing more.

The sync engine here runs in-process against the real test bed, as in
test_sync_engine.py; what reached the API server is read from its audit log.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from fluxd.cluster.kube import NotLeading
from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster
from integration.test_sync_engine import ADMIN, Bed, config_map, make_bed

pytestmark = [pytest.mark.cluster, pytest.mark.gitserver]

INSTANCE = "fluxd.io/instance"


@pytest.fixture
def beds() -> Iterator[list[Bed]]:
    made: list[Bed] = []
    yield made
    for bed in made:
        bed.cluster.close()


def _label(bed: Bed, name: str) -> str:
    return bed.get("configmap", name, "{.metadata.labels.fluxd\\.io/instance}")


def test_objects_from_before_the_label_are_adopted_by_the_install_that_applied_them(
    kube: Cluster, git_server: GitServer, namespace: str, beds: list[Bed]
) -> None:
    files: dict[str, str | None] = {f"{n}.yaml": config_map(n, n) for n in ("a", "b", "c")}
    bed = make_bed(kube, git_server, namespace, gc=True, files=files)
    beds.append(bed)
    assert bed.sync().success
    assert _label(bed, "a") == namespace
    # As a fluxd from before the label left them: the gc mark only.
    kube.kubectl("label", "configmap", "a", "b", "c", f"{INSTANCE}-", "-n", namespace)

    # Another install declaring one of them refuses it: the mark is not its own.
    other_ns = f"other-{uuid.uuid4().hex[:6]}"
    kube.kubectl("create", "namespace", other_ns)
    other_files: dict[str, str | None] = {"a.yaml": config_map("a", "theirs", namespace)}
    other = make_bed(kube, git_server, other_ns, files=other_files)
    beds.append(other)
    refused = other.sync()
    (failure,) = refused.failures
    assert failure.id == f"{namespace}:configmap/a"
    assert "carries the gc mark of another fluxd" in failure.error
    assert bed.get("configmap", "a", "{.data.value}") == "a"

    # The upgraded install adopts them all, and collects the one that left git.
    bed.push({"c.yaml": None}, "c leaves the repo")
    result = bed.sync()
    assert result.success and result.deleted == (f"{namespace}:configmap/c",)
    assert [_label(bed, n) for n in ("a", "b")] == [namespace, namespace]
    assert bed.get("configmap", "c", "{.metadata.name}") == "<absent>"

    # Now labelled, it is refused by its owner's name.
    (failure,) = other.sync().failures
    assert f"owned by the fluxd install '{namespace}'" in failure.error
    assert bed.get("configmap", "a", "{.data.value}") == "a"


def test_a_takeover_flag_moves_an_object_to_the_install_that_asks(
    kube: Cluster, git_server: GitServer, namespace: str, beds: list[Bed]
) -> None:
    bed = make_bed(kube, git_server, namespace, files={"a.yaml": config_map("a", "first")})
    beds.append(bed)
    assert bed.sync().success
    other_ns = f"other-{uuid.uuid4().hex[:6]}"
    kube.kubectl("create", "namespace", other_ns)
    other = make_bed(
        kube,
        git_server,
        other_ns,
        files={"a.yaml": config_map("a", "second", namespace)},
        takeover=True,
    )
    beds.append(other)
    assert other.sync().success
    assert bed.get("configmap", "a", "{.data.value}") == "second"
    assert _label(bed, "a") == other_ns
    # The first install no longer sees it as its own: it refuses it now.
    (failure,) = bed.sync().failures
    assert f"owned by the fluxd install '{other_ns}'" in failure.error


class Fence:
    """Open for the first ``writes`` questions, closed after: the Lease lost mid-pass."""

    def __init__(self, writes: int) -> None:
        self.left = writes

    def __call__(self) -> bool:
        self.left -= 1
        return self.left >= 0


def test_a_replica_that_lost_the_lease_stops_before_its_next_apply(
    kube: Cluster, git_server: GitServer, namespace: str, beds: list[Bed]
) -> None:
    bed = make_bed(kube, git_server, namespace)
    beds.append(bed)
    bed.push({f"cm-{i}.yaml": config_map(f"cm-{i}", "v") for i in range(10)})
    bed.cluster.set_fence(Fence(3))
    audit = kube.audit
    assert audit is not None
    mark = audit.mark()
    with pytest.raises(NotLeading):  # nor is the inventory written
        bed.sync()
    writes = [w for w in audit.writes(mark, ADMIN) if w.namespace == namespace]
    assert [(w.verb, w.resource) for w in writes] == [("patch", "configmaps")] * 3


def test_a_replica_that_lost_the_lease_deletes_nothing(
    kube: Cluster, git_server: GitServer, namespace: str, beds: list[Bed]
) -> None:
    files: dict[str, str | None] = {f"cm-{i}.yaml": config_map(f"cm-{i}", "v") for i in range(4)}
    bed = make_bed(kube, git_server, namespace, gc=True, files=files)
    beds.append(bed)
    assert bed.sync().success
    bed.push({"cm-0.yaml": None, "cm-1.yaml": None}, "two leave the repo")
    bed.cluster.set_fence(Fence(0))
    audit = kube.audit
    assert audit is not None
    mark = audit.mark()
    result = bed.sync()
    assert {f.error for f in result.failures} == {
        "garbage collection: not deleted: this replica lost the leader Lease"
    }
    assert [w for w in audit.writes(mark, ADMIN) if w.namespace == namespace] == []
    assert bed.get("configmap", "cm-0", "{.metadata.name}") == "cm-0"
