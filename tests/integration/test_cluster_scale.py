"""Applying thousands of objects: every one applied, at a rate the API server sets.

The count defaults to 1,000 ConfigMaps; FLUXPY_SCALE_OBJECTS raises it.
Timings are printed (run with -s) rather than asserted tightly, because
they depend on the machine; the bounds only catch a pathological slowdown.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from fluxd.cluster import ApplyObject, Cluster, Inventory, InventoryEntry
from fluxd.settings import ClusterSettings, SyncSettings
from fluxtestbed.kube import Cluster as Kube
from fluxtestbed.objects import configmap, item

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

COUNT = int(os.environ.get("FLUXPY_SCALE_OBJECTS", "1000"))


@pytest.fixture
def cluster(kube: Kube, namespace: str) -> Iterator[Cluster]:
    settings = ClusterSettings(kubeconfig=str(kube.kubeconfig), namespace=namespace, qps=0)
    connected = Cluster.connect(settings, SyncSettings(concurrency=16, timeout=60.0))
    yield connected
    connected.close()


def timed(what: str, began: float, cpu: float) -> float:
    took = time.perf_counter() - began
    used = time.process_time() - cpu
    print(f"{what}: {took:.2f}s ({COUNT / took:.0f} objects/s), client CPU {used:.2f}s")
    return took


def test_thousands_of_objects_apply_check_and_collect(cluster: Cluster, namespace: str) -> None:
    items: list[ApplyObject] = [
        item(configmap(namespace, f"cm-{i:05d}", key=f"value-{i}", pad="x" * 200))
        for i in range(COUNT)
    ]
    cluster.scope("v1", "ConfigMap")  # discovery outside the timings

    began, cpu = time.perf_counter(), time.process_time()
    outcomes = cluster.apply(items, rank=lambda kind: 2)
    created = timed(f"create {COUNT}", began, cpu)
    assert [o.error for o in outcomes if not o.applied] == []

    began, cpu = time.perf_counter(), time.process_time()
    again = cluster.apply(items, rank=lambda kind: 2)
    timed(f"unchanged re-apply {COUNT}", began, cpu)
    assert [o.resource_version for o in again] == [o.resource_version for o in outcomes]

    entries = [InventoryEntry.from_outcome(o, mark="sha256.test", checksum="c") for o in again]
    began, cpu = time.perf_counter(), time.process_time()
    assert cluster.detect_drift(entries).ids == frozenset()
    drift = timed(f"drift check of {COUNT}", began, cpu)
    assert drift < created / 5  # a few LIST pages against one write per object

    inventory = Inventory.of(entries)
    cluster.save_inventory(inventory)
    assert cluster.load_inventory() == inventory

    began, cpu = time.perf_counter(), time.process_time()
    report = cluster.collect_garbage(inventory, set(), rank=lambda kind: 2, dry_run=False)
    timed(f"garbage-collect {COUNT}", began, cpu)
    assert len(report.deleted) == COUNT and report.failed == ()
