"""The inventory of applied objects, kept in ConfigMaps, and garbage collection by it."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from fluxd.cluster import Cluster, Inventory, InventoryEntry, KubeClient
from fluxd.cluster.client import Response
from fluxd.cluster.inventory import SERIAL_ANNOTATION, InventoryStore, encode, split
from fluxd.errors import ClusterError
from fluxd.settings import ClusterSettings, SyncSettings
from fluxids import ObjectRef
from fluxtestbed.kube import Cluster as Kube
from fluxtestbed.objects import configmap, deployment, item, marked, rank

pytestmark = pytest.mark.cluster

MARK = "sha256.test"


@pytest.fixture
def client(kube: Kube) -> Iterator[KubeClient]:
    connected = KubeClient.from_settings(
        ClusterSettings(kubeconfig=str(kube.kubeconfig)), pool_size=4
    )
    yield connected
    connected.close()


@pytest.fixture
def cluster(kube: Kube, namespace: str, client: KubeClient) -> Cluster:
    settings = ClusterSettings(kubeconfig=str(kube.kubeconfig), namespace=namespace, qps=0)
    return Cluster(client, settings, SyncSettings(concurrency=8, timeout=30.0))


def entries(namespace: str, count: int) -> list[InventoryEntry]:
    return [
        InventoryEntry(
            ObjectRef(namespace, "ConfigMap", f"cm-{i:05d}", "v1"),
            mark=f"sha256.{uuid.uuid4().hex}",
            checksum=uuid.uuid4().hex,
            generation=None,
            resource_version=str(1000 + i),
        )
        for i in range(count)
    ]


def configmaps(kube: Kube, namespace: str) -> list[str]:
    out = kube.kubectl("get", "-n", namespace, "configmap", "-o", "name").stdout
    return sorted(line.removeprefix("configmap/") for line in out.split())


def test_no_inventory_yet_is_empty(cluster: Cluster) -> None:
    assert len(cluster.load_inventory()) == 0


def test_inventory_round_trip(cluster: Cluster, namespace: str) -> None:
    saved = Inventory.of(entries(namespace, 5000))
    cluster.save_inventory(saved)
    assert cluster.load_inventory() == saved
    smaller = saved.merged([], removed=list(saved.entries)[:4990])
    cluster.save_inventory(smaller)
    assert cluster.load_inventory() == smaller


def test_big_inventories_are_sharded_and_shrink_back(
    kube: Kube, client: KubeClient, namespace: str
) -> None:
    store = InventoryStore(client, namespace=namespace, name="inv", shard_bytes=4096)
    big = Inventory.of(entries(namespace, 400))
    store.save(big)
    shards = [name for name in configmaps(kube, namespace) if name.startswith("inv")]
    assert len(shards) > 3
    assert store.load() == big
    small = Inventory.of(entries(namespace, 2))
    store.save(small)
    assert [n for n in configmaps(kube, namespace) if n.startswith("inv")] == ["inv"]
    assert store.load() == small


def test_a_shard_that_does_not_match_its_head_is_detected(
    kube: Kube, client: KubeClient, namespace: str
) -> None:
    store = InventoryStore(client, namespace=namespace, name="inv", shard_bytes=4096)
    store.save(Inventory.of(entries(namespace, 400)))
    shard = next(n for n in configmaps(kube, namespace) if n.startswith("inv-"))
    kube.kubectl(
        "annotate",
        "-n",
        namespace,
        "configmap",
        shard,
        f"{SERIAL_ANNOTATION}=other",
        "--overwrite",
    )
    with pytest.raises(ClusterError, match="from another save"):
        store.load()


class HeadWriteFails(KubeClient):
    """Fails the write of the head ConfigMap, as if the API server went away then."""

    def request(self, method: str, path: str, **kwargs: Any) -> Response:
        if method == "PATCH" and path.endswith("/configmaps/inv"):
            raise ClusterError(f"{method} {path}: connection refused", transient=True)
        return super().request(method, path, **kwargs)


def test_a_save_cut_short_leaves_the_previous_inventory_whole(kube: Kube, namespace: str) -> None:
    settings = ClusterSettings(kubeconfig=str(kube.kubeconfig))
    store = InventoryStore(
        KubeClient.from_settings(settings, pool_size=2),
        namespace=namespace,
        name="inv",
        shard_bytes=4096,
    )
    before = Inventory.of(entries(namespace, 400))
    store.save(before)
    torn = InventoryStore(
        HeadWriteFails.from_settings(settings, pool_size=2),
        namespace=namespace,
        name="inv",
        shard_bytes=4096,
    )
    with pytest.raises(ClusterError, match="connection refused"):
        torn.save(Inventory.of(entries(namespace, 500)))
    assert store.load() == before
    after = Inventory.of(entries(namespace, 300))
    store.save(after)  # and the next save clears what the torn one left
    assert store.load() == after
    shards = [n for n in configmaps(kube, namespace) if n.startswith("inv")]
    assert len(shards) == len(split(encode(after), 4096))


def applied_entries(cluster: Cluster, bodies: list[dict[str, Any]]) -> list[InventoryEntry]:
    outcomes = cluster.apply([item(b) for b in bodies], rank=rank)
    assert all(o.applied for o in outcomes), [o.error for o in outcomes]
    return [InventoryEntry.from_outcome(o, mark=MARK, checksum="c") for o in outcomes]


def test_gc_deletes_only_what_is_ours_and_left_the_repo(
    kube: Kube, cluster: Cluster, namespace: str
) -> None:
    spare_ns = f"gc-{uuid.uuid4().hex[:6]}"
    ignored = configmap(namespace, "ignored")
    ignored["metadata"]["annotations"] = {"fluxcd.io/ignore": "true"}
    sync_only = configmap(namespace, "sync-only")
    sync_only["metadata"]["annotations"] = {"fluxcd.io/ignore": "sync_only"}
    bodies = [
        configmap(namespace, "keep"),
        configmap(namespace, "gone"),
        configmap(namespace, "relabelled"),
        ignored,
        sync_only,
        deployment(namespace, "old"),
        marked({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": spare_ns}}),
    ]
    try:
        inventory = Inventory.of(applied_entries(cluster, bodies))
        kube.kubectl(
            "label",
            "-n",
            namespace,
            "configmap",
            "relabelled",
            "fluxcd.io/sync-gc-mark=sha256.someone-else",
            "--overwrite",
        )
        kube.kubectl("delete", "-n", namespace, "configmap", "gone")
        kube.kubectl("create", "-n", namespace, "configmap", "unmarked")
        stray = InventoryEntry(ObjectRef(namespace, "ConfigMap", "unmarked", "v1"), MARK)
        vanished = InventoryEntry(ObjectRef(namespace, "ConfigMap", "never", "v1"), MARK)
        inventory = inventory.merged([stray, vanished])
        desired = {f"{namespace}:configmap/keep"}
        before = configmaps(kube, namespace)

        dry = cluster.collect_garbage(inventory, desired, rank=rank, dry_run=True)
        assert dry.dry_run
        assert sorted(dry.deleted) == [f"{namespace}:deployment/old"]
        assert configmaps(kube, namespace) == before
        kube.kubectl("get", "-n", namespace, "deployment", "old")

        report = cluster.collect_garbage(inventory, desired, rank=rank, dry_run=False)
        assert report.deleted == (f"{namespace}:deployment/old",)
        assert report.failed == ()
        assert sorted(report.gone) == [
            f"{namespace}:configmap/gone",
            f"{namespace}:configmap/never",
            f"{namespace}:configmap/unmarked",  # no label: invisible to us, never touched
        ]
        spared = dict(report.spared)
        assert spared[f"{namespace}:configmap/ignored"] == "annotated fluxcd.io/ignore: true"
        assert spared[f"{namespace}:configmap/sync-only"] == "annotated fluxcd.io/ignore: sync_only"
        assert "not ours" in spared[f"{namespace}:configmap/relabelled"]
        assert "never deleted" in spared[f"<cluster>:namespace/{spare_ns}"]
        assert kube.kubectl("get", "-n", namespace, "deploy/old", check=False).returncode != 0
        assert set(configmaps(kube, namespace)) >= {
            "keep",
            "ignored",
            "sync-only",
            "relabelled",
            "unmarked",
        }
        kube.kubectl("get", "namespace", spare_ns)
    finally:
        kube.kubectl("delete", "namespace", spare_ns, "--wait=false", check=False)


def test_gc_in_reverse_rank_deletes_workloads_before_their_config(
    kube: Kube, cluster: Cluster, namespace: str
) -> None:
    inventory = Inventory.of(
        applied_entries(cluster, [configmap(namespace, "conf"), deployment(namespace, "app")])
    )
    report = cluster.collect_garbage(inventory, set(), rank=rank, dry_run=False)
    assert report.deleted == (f"{namespace}:deployment/app", f"{namespace}:configmap/conf")
    assert "conf" not in configmaps(kube, namespace)


def test_an_inventory_in_the_older_shard_layout_loads_and_is_moved_over(
    kube: Kube, client: KubeClient, namespace: str
) -> None:
    old = Inventory.of(entries(namespace, 400))
    chunks = split(encode(old), 4096)
    kube.apply_objects(
        [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": "inv" if index == 0 else f"inv-{index}",
                    "namespace": namespace,
                    "annotations": {
                        SERIAL_ANNOTATION: "before",
                        "fluxd.io/inventory-shards": str(len(chunks)),
                    },
                },
                "binaryData": {"inventory.json.gz": base64.b64encode(chunk).decode()},
            }
            for index, chunk in enumerate(chunks)
        ]
    )
    store = InventoryStore(client, namespace=namespace, name="inv", shard_bytes=4096)
    assert store.load() == old
    store.save(old)
    assert store.load() == old
    assert not any(n.startswith("inv-") and n[4:].isdigit() for n in configmaps(kube, namespace))
