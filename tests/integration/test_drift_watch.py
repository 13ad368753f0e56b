"""Drift watches on the real test bed: a no-op pass lists nothing, and still sees edits.

The engine's watches reach the API server through a TCP front, so a test can
cut their connections as a network fault would, while the engine's other
requests go straight to the server (and are counted).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from fluxd.cluster.drift import group_by_kind
from fluxd.cluster.metacache import MetaCache
from fluxd.cluster.ownership import own_selector
from fluxd.cluster.watching import MetaWatch
from fluxtestbed.faults import GitFront
from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster
from integration.test_sync_engine import ADMIN, Bed, config_map, deployment, make_bed

pytestmark = [pytest.mark.cluster, pytest.mark.gitserver]

WAIT = 60.0


@pytest.fixture
def front(kube: Cluster) -> Iterator[GitFront]:
    config = yaml.safe_load(kube.kubeconfig.read_text())
    port = urlsplit(config["clusters"][0]["cluster"]["server"]).port
    assert port is not None
    made = GitFront(port)
    yield made
    made.close()


@pytest.fixture
def bed(kube: Cluster, git_server: GitServer, namespace: str, front: GitFront) -> Iterator[Bed]:
    config = yaml.safe_load(kube.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{front.port}"
    fronted = Path(kube.workdir) / f"watch-{namespace}.kubeconfig"
    fronted.write_text(yaml.safe_dump(config))
    made = make_bed(kube, git_server, namespace, watch_kubeconfig=fronted)
    yield made
    made.cluster.close()


def watches_of(bed: Bed) -> list[tuple[MetaWatch, int]]:
    """Each watch of the inventory's kinds, with the highest revision our applies left."""
    assert bed.cluster.watches is not None
    found = []
    for (api_version, kind), entries in group_by_kind(
        bed.engine.inventory().entries.values()
    ).items():
        watches = bed.cluster.watches.watches(api_version, kind)
        assert watches, f"{kind} is in the inventory, so it is watched"
        highest = max(int(e.resource_version) for e in entries)
        found += [(watch, highest) for watch in watches]
    return found


def wait_caught_up(bed: Bed) -> None:
    """Wait until every watch is open and has seen the events of our own applies."""
    for watch, highest in watches_of(bed):
        cache = watch.cache
        assert cache.wait(partial(cache.seen, highest), WAIT), f"{cache.kind} caught up"


def wait_seen_edit(bed: Bed, kind: str, name: str, revision: int) -> None:
    """Wait until the watch of ``kind`` has delivered the edit at ``revision``."""
    for watch, _ in watches_of(bed):
        if watch.cache.kind == kind:
            cache = watch.cache
            assert cache.wait(partial(cache.seen, revision), WAIT), f"{kind}/{name} seen"


def wait_gone(bed: Bed, kind: str, name: str) -> None:
    """Wait until the watch of ``kind`` has delivered the deletion of ``name``."""
    for watch, _ in watches_of(bed):
        if watch.cache.kind == kind:
            assert watch.cache.wait(partial(without, watch.cache, name), WAIT), f"{name} gone"


def without(cache: MetaCache, name: str) -> bool:
    view = cache.view(0)
    return view is not None and all(ref.name != name for ref in view)


def drift_lists(bed: Bed) -> int:
    """LISTs the drift check made since the counts were cleared (with this install's selector)."""
    return bed.client.listed[own_selector(bed.namespace)]


def broken(cache: MetaCache) -> bool:
    return not cache.usable


def live_revision(bed: Bed, kind: str, name: str) -> int:
    return int(bed.get(kind, name, "{.metadata.resourceVersion}"))


def first_sync(bed: Bed) -> None:
    bed.push({"web.yaml": deployment("web", replicas=2), "cm.yaml": config_map("settings", "a")})
    first = bed.sync()
    assert (first.applied, first.failures) == (2, ())
    wait_caught_up(bed)


def test_a_no_op_pass_lists_nothing_and_finds_no_drift(bed: Bed) -> None:
    first_sync(bed)
    audit = bed.kube.audit
    assert audit is not None, "the test bed's API server keeps an audit log"
    bed.client.sent.clear()
    bed.client.listed.clear()
    mark = audit.mark()

    quiet = bed.sync()

    assert (quiet.applied, quiet.drifted, quiet.unchanged) == (0, 0, 2)
    # The drift check read both kinds from their watches: no request at all.
    assert sum(bed.client.sent.values()) == 0, bed.client.sent
    assert audit.writes(mark, user=ADMIN) == []
    # (The drift LISTs select this install by its label, named after the namespace.)
    assert [w for w in audit.lists(mark, user=ADMIN) if bed.namespace in w.request_uri] == []

    # Stopping (shutdown, or leadership lost) ends every watch's thread.
    watches = [watch for watch, _ in watches_of(bed)]
    bed.cluster.stop_watching()
    for watch in watches:
        watch.join(WAIT)
        assert not watch.running, f"the watch of {watch.cache.kind} stopped"


def test_an_edit_and_a_deletion_by_hand_are_found_by_the_next_pass(bed: Bed) -> None:
    first_sync(bed)
    bed.kube.kubectl("scale", "deployment/web", "--replicas=5", "-n", bed.namespace)
    wait_seen_edit(bed, "Deployment", "web", live_revision(bed, "deployment", "web"))
    bed.kube.kubectl("delete", "configmap", "settings", "-n", bed.namespace)
    wait_gone(bed, "ConfigMap", "settings")
    bed.client.sent.clear()
    bed.client.listed.clear()

    healed = bed.sync()

    assert healed.drifted == 2
    assert drift_lists(bed) == 0, "drift was read from the watches"
    assert bed.get("deployment", "web", "{.spec.replicas}") == "2"
    assert bed.get("configmap", "settings", "{.data.value}") == "a"


def test_with_its_watch_cut_off_a_pass_lists_and_still_finds_drift(
    bed: Bed, front: GitFront
) -> None:
    first_sync(bed)
    # The watches' connections are dropped, and new ones go unanswered.
    front.hang()
    assert front.cut() >= 2
    for watch, _ in watches_of(bed):
        cache = watch.cache
        assert cache.wait(partial(broken, cache), WAIT), f"{cache.kind} noticed the cut"
    bed.kube.kubectl("scale", "deployment/web", "--replicas=5", "-n", bed.namespace)
    bed.client.sent.clear()
    bed.client.listed.clear()

    healed = bed.sync()

    assert healed.drifted == 1
    assert drift_lists(bed) == 2, "without watches both kinds are listed"
    assert bed.get("deployment", "web", "{.spec.replicas}") == "2"

    # Once the front answers again the watches list, watch, and serve the pass.
    front.answer()
    wait_caught_up(bed)
    bed.kube.kubectl("scale", "deployment/web", "--replicas=4", "-n", bed.namespace)
    wait_seen_edit(bed, "Deployment", "web", live_revision(bed, "deployment", "web"))
    bed.client.sent.clear()
    bed.client.listed.clear()
    again = bed.sync()
    assert again.drifted == 1
    assert drift_lists(bed) == 0
    assert bed.get("deployment", "web", "{.spec.replicas}") == "2"
