"""The deletion guard and rewritten histories, one sync pass at a time, on the test bed.

Each test drives the engine as the daemon builds it (see test_sync_engine)
against the real API server and a real git repository.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from fluxd.sync.guard import APPROVAL_ANNOTATION
from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster
from fluxtestbed.objects import item, rank
from integration.test_sync_engine import Bed, config_map, make_bed

pytestmark = [pytest.mark.cluster, pytest.mark.gitserver]


def maps(count: int, prefix: str = "cm") -> dict[str, str | None]:
    return {f"{prefix}-{i}.yaml": config_map(f"{prefix}-{i}", str(i)) for i in range(count)}


def live_names(bed: Bed) -> set[str]:
    out = bed.kube.kubectl("get", "configmaps", "-n", bed.namespace, "-o", "json").stdout
    return {item["metadata"]["name"] for item in json.loads(out)["items"]}


def approve(bed: Bed, revision: str) -> None:
    bed.kube.kubectl(
        "annotate",
        "namespace",
        bed.namespace,
        "--overwrite",
        f"{APPROVAL_ANNOTATION}={revision[:12]}",
    )


@pytest.fixture
def gc_bed(kube: Cluster, git_server: GitServer, namespace: str) -> Iterator[Bed]:
    made = make_bed(kube, git_server, namespace, gc=True)
    yield made
    made.cluster.close()


def test_deleting_more_than_half_is_held_until_this_revision_is_approved(gc_bed: Bed) -> None:
    bed = gc_bed
    bed.push(maps(20))
    assert bed.sync().applied == 20
    head = bed.push({f"cm-{i}.yaml": None for i in range(11)}, "remove 11 of 20")

    held = bed.sync()
    assert held.deleted == ()
    assert held.gc_hold is not None
    assert len(held.gc_hold.deletions) == 11
    assert "delete 11 of the 20" in held.gc_hold.reason
    assert f"{APPROVAL_ANNOTATION}={head[:12]}" in held.gc_hold.help
    assert len({f"cm-{i}" for i in range(20)} & live_names(bed)) == 20
    # Still held on the next pass, and an approval of another revision changes nothing.
    approve(bed, "f" * 40)
    assert bed.sync().gc_hold is not None

    approve(bed, head)
    collected = bed.sync()
    assert collected.gc_hold is None
    assert len(collected.deleted) == 11
    assert {f"cm-{i}" for i in range(20)} & live_names(bed) == {f"cm-{i}" for i in range(11, 20)}


def test_deleting_half_or_fewer_than_the_minimum_goes_ahead(gc_bed: Bed) -> None:
    bed = gc_bed
    bed.push(maps(20))
    bed.sync()
    bed.push({f"cm-{i}.yaml": None for i in range(10)}, "remove exactly half")
    half = bed.sync()
    assert (half.gc_hold, len(half.deleted)) == (None, 10)
    bed.push({f"cm-{i}.yaml": None for i in range(10, 19)}, "remove 9 of the last 10")
    few = bed.sync()
    assert (few.gc_hold, len(few.deleted)) == (None, 9)


def test_a_commit_deleting_every_manifest_deletes_nothing_even_in_a_tiny_repo(
    gc_bed: Bed,
) -> None:
    bed = gc_bed
    bed.push(maps(2))
    bed.sync()
    bed.push({"cm-0.yaml": None, "cm-1.yaml": None}, "remove everything")
    held = bed.sync()
    assert held.deleted == ()
    assert held.gc_hold is not None
    assert "holds no manifests" in held.gc_hold.reason
    assert {"cm-0", "cm-1"} <= live_names(bed)


def test_a_vanished_git_path_deletes_nothing_and_the_other_paths_still_apply(
    kube: Cluster, git_server: GitServer, namespace: str
) -> None:
    files: dict[str, str | None] = {
        "apps/a.yaml": config_map("a", "1"),
        "base/b.yaml": config_map("b", "1"),
    }
    bed = make_bed(kube, git_server, namespace, gc=True, files=files, paths=("apps", "base"))
    try:
        bed.mirror.refresh()
        assert bed.sync().applied == 2
        bed.push({"apps/a.yaml": None, "base/b.yaml": config_map("b", "2")}, "apps/ is gone")
        result = bed.sync()
        assert result.deleted == ()
        assert result.gc_hold is not None
        assert "--git-path 'apps' does not exist" in result.gc_hold.reason
        assert [f.source for f in result.failures] == ["apps"]
        assert bed.get("configmap", "a", "{.data.value}") == "1"
        assert bed.get("configmap", "b", "{.data.value}") == "2"  # applied all the same
    finally:
        bed.cluster.close()


def test_a_force_push_of_an_unrelated_history_is_reported_and_synced(gc_bed: Bed) -> None:
    bed = gc_bed
    first = bed.push(maps(3))
    assert bed.sync().rewritten_from == ""
    assert bed.push({"cm-0.yaml": config_map("cm-0", "again")}, "a child") != first
    assert bed.sync().rewritten_from == ""
    unrelated = bed.git.push_files(bed.repo, maps(3), "a new root", branch="rewrite")
    bed.git.git(bed.repo, "update-ref", "refs/heads/master", unrelated)
    previous = bed.engine.applied_revision()
    assert bed.mirror.refresh() == unrelated

    result = bed.sync()
    assert result.rewritten_from == previous
    assert result.failures == ()
    assert bed.get("configmap", "cm-0", "{.data.value}") == "0"
    assert bed.sync().rewritten_from == ""  # reported against the revision applied before


def test_past_the_deadline_the_applier_sends_nothing_more(gc_bed: Bed) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "late", "namespace": gc_bed.namespace},
    }
    sent_before = gc_bed.writes()
    outcomes = gc_bed.cluster.apply([item(body)], rank=rank, deadline=time.monotonic() - 1)
    assert [(o.applied, o.transient) for o in outcomes] == [(False, True)]
    assert "--sync-timeout" in outcomes[0].error
    assert gc_bed.writes() == sent_before
    assert gc_bed.get("configmap", "late", "{.metadata.name}") == "<absent>"
