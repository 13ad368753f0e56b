"""Drift detection reads metadata only, finds spec changes and deletions, writes nothing."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from fluxd.cluster import Cluster, InventoryEntry
from fluxd.settings import ClusterSettings, SyncSettings
from fluxids import ObjectRef
from fluxtestbed.audit import AuditWrite
from fluxtestbed.kube import Cluster as Kube
from fluxtestbed.objects import CountingClient, configmap, deployment, item, rank

pytestmark = pytest.mark.cluster


@pytest.fixture
def counted(kube: Kube, namespace: str) -> Iterator[tuple[Cluster, CountingClient]]:
    settings = ClusterSettings(kubeconfig=str(kube.kubeconfig), namespace=namespace, qps=0)
    sync = SyncSettings(concurrency=8, timeout=30.0)
    client = CountingClient.from_settings(settings, pool_size=12)
    client.sent = Counter()
    yield Cluster(client, settings, sync), client
    client.close()


def admin_writes(kube: Kube, since: int) -> list[AuditWrite]:
    """Writes the API server's audit log recorded for the admin user since a mark."""
    assert kube.audit is not None, "the test bed's API server keeps an audit log"
    return kube.audit.writes(since, user="fluxpy-admin")


def wait_observed(kube: Kube, namespace: str, name: str) -> None:
    """Wait until the controller wrote the Deployment's status (a resourceVersion bump)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        out = kube.kubectl("get", "-n", namespace, "deployment", name, "-o", "json").stdout
        if json.loads(out).get("status", {}).get("observedGeneration"):
            return
        time.sleep(0.2)
    raise AssertionError("the deployment controller never observed the Deployment")


def test_drift_is_found_and_corrected_and_no_drift_costs_no_writes(
    kube: Kube, namespace: str, counted: tuple[Cluster, CountingClient]
) -> None:
    cluster, client = counted
    items = [item(deployment(namespace)), item(configmap(namespace, "settings", color="blue"))]
    outcomes = cluster.apply(items, rank=rank)
    entries = [InventoryEntry.from_outcome(o, mark="sha256.test", checksum="c") for o in outcomes]
    wait_observed(kube, namespace, "web")

    # No drift: status updates by controllers are not drift, and we only read.
    client.sent.clear()
    assert kube.audit is not None
    mark = kube.audit.mark()
    drift = cluster.detect_drift(entries)
    assert drift.ids == frozenset()
    assert admin_writes(kube, mark) == []
    assert set(client.sent) == {"GET"}
    assert client.sent["GET"] == 2  # one metadata LIST per kind

    # Someone scales the Deployment and deletes the ConfigMap.
    kube.kubectl("scale", "-n", namespace, "deployment/web", "--replicas=5")
    kube.kubectl("delete", "-n", namespace, "configmap", "settings")
    drift = cluster.detect_drift(entries)
    assert drift.changed == {f"{namespace}:deployment/web"}
    assert drift.missing == {f"{namespace}:configmap/settings"}

    # Re-applying just those restores them, and the audit log sees those writes.
    mark = kube.audit.mark()
    again = cluster.apply([i for i in items if str(i.ref) in drift.ids], rank=rank)
    assert {w.key for w in admin_writes(kube, mark)} >= {
        f"patch deployments {namespace}/web",
        f"patch configmaps {namespace}/settings",
    }
    assert all(o.applied for o in again)
    live = json.loads(kube.kubectl("get", "-n", namespace, "deploy/web", "-o", "json").stdout)
    assert live["spec"]["replicas"] == 3
    kube.kubectl("get", "-n", namespace, "configmap", "settings")

    entries = [InventoryEntry.from_outcome(o, mark="sha256.test", checksum="c") for o in again]
    assert cluster.detect_drift(entries).ids == frozenset()


def test_an_object_that_lost_our_label_counts_as_missing(
    kube: Kube, namespace: str, counted: tuple[Cluster, CountingClient]
) -> None:
    cluster, _ = counted
    [outcome] = cluster.apply([item(configmap(namespace, "c"))], rank=rank)
    kube.kubectl("label", "-n", namespace, "configmap", "c", "fluxcd.io/sync-gc-mark-")
    entry = InventoryEntry.from_outcome(outcome, mark="sha256.test", checksum="c")
    assert cluster.detect_drift([entry]).missing == {f"{namespace}:configmap/c"}


def test_drift_of_a_kind_whose_crd_is_gone_is_missing(
    namespace: str, counted: tuple[Cluster, CountingClient]
) -> None:
    cluster, _ = counted
    entry = InventoryEntry(
        ObjectRef(namespace, "Gadget", "g", "gone.example.com/v1"), "sha256.test"
    )
    assert cluster.detect_drift([entry]).missing == {entry.id}
