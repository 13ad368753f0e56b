"""Pure parts of apply, discovery, drift, GC and the inventory format."""

from __future__ import annotations

from typing import Any, cast

import pytest

from fluxd.cluster import (
    ApplyObject,
    InventoryEntry,
    LiveMeta,
    ResourceType,
    has_drifted,
    is_first_stage,
    rank_stages,
    spare_reason,
)
from fluxd.cluster.applying import Applier, _needs_wait, _served_kinds
from fluxd.cluster.client import KubeClient
from fluxd.cluster.discovery import Discovery, _from_aggregated
from fluxd.cluster.inventory import Inventory, decode, encode, split
from fluxd.cluster.objects import ApplyOutcome, Result
from fluxd.ratelimit import RateLimiter
from fluxids import ObjectRef
from unit.sync.fakeclock import FakeClock

RANKS = {"Namespace": 0, "ServiceAccount": 1, "ConfigMap": 2, "Deployment": 3}


def rank(kind: str) -> int:
    return RANKS.get(kind, 4)


def obj(kind: str, name: str, api_version: str = "v1", body: Any = None) -> ApplyObject:
    return ApplyObject(ObjectRef("demo", kind, name, api_version), "f.yaml", body or {})


def test_namespaces_and_crds_go_first_whatever_their_rank() -> None:
    assert is_first_stage(obj("Namespace", "demo"))
    assert is_first_stage(obj("CustomResourceDefinition", "x", "apiextensions.k8s.io/v1"))
    assert not is_first_stage(obj("CustomResourceDefinition", "x", "example.com/v1"))
    assert not is_first_stage(obj("ConfigMap", "c"))


def test_stages_follow_rank_and_keep_order_within_a_rank() -> None:
    items = [
        obj("Deployment", "web"),
        obj("ConfigMap", "a"),
        obj("Widget", "w", "example.com/v1"),
        obj("ConfigMap", "b"),
        obj("ServiceAccount", "sa"),
    ]
    stages = rank_stages(items, rank)
    assert [[i.ref.name for i in stage] for stage in stages] == [["sa"], ["a", "b"], ["web"], ["w"]]


def test_no_items_no_stages() -> None:
    assert rank_stages([], rank) == []


def crd_body(*versions: tuple[str, bool]) -> dict[str, Any]:
    return {
        "spec": {
            "group": "example.com",
            "names": {"kind": "Widget", "plural": "widgets"},
            "versions": [{"name": v, "served": served} for v, served in versions],
        }
    }


def test_a_crd_waits_for_its_served_versions_only() -> None:
    assert _served_kinds(crd_body(("v1", True), ("v1beta1", False))) == [
        ("example.com/v1", "Widget")
    ]


def outcome(applied: bool) -> ApplyOutcome:
    result = Result.APPLIED if applied else Result.FAILED
    return ApplyOutcome(ObjectRef("", "CustomResourceDefinition", "x", "v"), "f", result)


def test_only_applied_crds_not_yet_established_are_waited_for() -> None:
    crd = obj("CustomResourceDefinition", "x", "apiextensions.k8s.io/v1")
    established = {"status": {"conditions": [{"type": "Established", "status": "True"}]}}
    assert _needs_wait(crd, outcome(True), {})
    assert not _needs_wait(crd, outcome(True), established)
    assert not _needs_wait(crd, outcome(False), {})
    assert not _needs_wait(obj("Namespace", "n"), outcome(True), {})


def test_aggregated_discovery_is_read_into_resource_types() -> None:
    document = {
        "kind": "APIGroupDiscoveryList",
        "items": [
            {
                "metadata": {"name": ""},
                "versions": [
                    {
                        "version": "v1",
                        "resources": [
                            {
                                "resource": "configmaps",
                                "scope": "Namespaced",
                                "responseKind": {"kind": "ConfigMap"},
                            },
                            {
                                "resource": "namespaces",
                                "scope": "Cluster",
                                "responseKind": {"kind": "Namespace"},
                            },
                        ],
                    }
                ],
            },
            {
                "metadata": {"name": "apps"},
                "versions": [
                    {
                        "version": "v1",
                        "resources": [
                            {
                                "resource": "deployments",
                                "scope": "Namespaced",
                                "responseKind": {"kind": "Deployment"},
                            },
                        ],
                    }
                ],
            },
        ],
    }
    assert _from_aggregated(document) == {
        ResourceType("v1", "ConfigMap", "configmaps", True),
        ResourceType("v1", "Namespace", "namespaces", False),
        ResourceType("apps/v1", "Deployment", "deployments", True),
    }


def test_resource_paths() -> None:
    deploy = ResourceType("apps/v1", "Deployment", "deployments", True)
    assert deploy.path("demo", "web") == "/apis/apps/v1/namespaces/demo/deployments/web"
    assert deploy.path() == "/apis/apps/v1/deployments"
    ns = ResourceType("v1", "Namespace", "namespaces", False)
    assert ns.path("ignored", "demo") == "/api/v1/namespaces/demo"


def entry(kind: str = "Deployment", generation: int | None = 2, rv: str = "100") -> InventoryEntry:
    return InventoryEntry(ObjectRef("demo", kind, "x", "apps/v1"), "sha256.m", "c1", generation, rv)


def live(
    generation: int | None = 2, rv: str = "100", labels: dict[str, str] | None = None
) -> LiveMeta:
    return LiveMeta(ObjectRef("demo", "Deployment", "x"), "uid-1", generation, rv, labels or {})


def test_status_updates_alone_are_not_drift() -> None:
    assert not has_drifted(entry(generation=2, rv="100"), live(generation=2, rv="250"))


def test_a_spec_change_is_drift() -> None:
    assert has_drifted(entry(generation=2), live(generation=3))


def test_objects_without_generation_compare_resource_versions() -> None:
    assert has_drifted(entry("ConfigMap", None, "100"), live(None, "101"))
    assert not has_drifted(entry("ConfigMap", None, "100"), live(None, "100"))


MARK = {"fluxcd.io/sync-gc-mark": "sha256.m"}


def test_gc_deletes_only_marked_unignored_objects() -> None:
    flags = {"delete_namespaces": False, "delete_crds": False}
    assert spare_reason(entry(), live(labels=MARK), **flags) == ""
    assert "not ours" in spare_reason(entry(), live(), **flags)
    other = {"fluxcd.io/sync-gc-mark": "sha256.other"}
    assert "not ours" in spare_reason(entry(), live(labels=other), **flags)
    for value in ("true", "sync_only"):
        ignored = LiveMeta(
            ObjectRef("demo", "Deployment", "x"), "u", 2, "1", MARK, {"fluxcd.io/ignore": value}
        )
        assert "fluxcd.io/ignore" in spare_reason(entry(), ignored, **flags)


@pytest.mark.parametrize("kind", ["Namespace", "CustomResourceDefinition"])
def test_gc_spares_namespaces_and_crds_unless_allowed(kind: str) -> None:
    denied = spare_reason(
        entry(kind), live(labels=MARK), delete_namespaces=False, delete_crds=False
    )
    assert "never deleted" in denied
    assert (
        spare_reason(entry(kind), live(labels=MARK), delete_namespaces=True, delete_crds=True) == ""
    )


def test_inventory_round_trips_and_is_stable() -> None:
    inventory = Inventory.of([entry("Deployment"), entry("ConfigMap", None, "7")])
    data = encode(inventory)
    assert decode(data) == inventory
    assert encode(decode(data)) == data


def test_inventory_merge_updates_and_removes() -> None:
    old = Inventory.of([entry("Deployment", 1), entry("ConfigMap", None)])
    new = old.merged([entry("Deployment", 5)], removed=["demo:configmap/x"])
    assert list(new.entries) == ["demo:deployment/x"]
    assert new.entries["demo:deployment/x"].generation == 5


def test_big_inventories_are_split_into_shards() -> None:
    data = bytes(range(256)) * 10
    shards = split(data, 1000)
    assert [len(s) for s in shards] == [1000, 1000, 560]
    assert b"".join(shards) == data
    assert split(b"", 1000) == [b""]


def test_rate_limiter_spaces_requests_after_the_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(qps=200, burst=5, clock=clock)
    for _ in range(25):
        limiter.take()
    # 5 at once, then 20 more at 200/s: each waits 1/200 s, 0.1 s in all.
    assert clock.sleeps == pytest.approx([0.005] * 20)
    assert clock.now == pytest.approx(0.1)


def test_rate_limiter_refills_while_idle() -> None:
    clock = FakeClock()
    limiter = RateLimiter(qps=10, burst=3, clock=clock)
    for _ in range(3):
        limiter.take()
    clock.now += 60  # a quiet minute refills the burst, no more
    for _ in range(4):
        limiter.take()
    assert clock.sleeps == pytest.approx([0.1])


def test_rate_limiter_off() -> None:
    clock = FakeClock()
    limiter = RateLimiter(qps=0, burst=1, clock=clock)
    for _ in range(1000):
        limiter.take()
    assert clock.sleeps == []


def test_retry_after_is_read_and_capped() -> None:
    from fluxd.cluster.client import _retry_after

    assert _retry_after("2") == 2.0
    assert _retry_after(None) == 1.0
    assert _retry_after("3600") == 5.0
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 1.0


def test_waiting_for_crds_gives_up_at_the_deadline_on_the_given_clock() -> None:
    clock = FakeClock()
    client, discovery = cast(KubeClient, None), cast(Discovery, None)  # not reached by _wait
    applier = Applier(client, discovery, wait_timeout=1.0, clock=clock)
    assert not applier._wait(lambda: False)
    assert 1.0 < sum(clock.sleeps) <= 1.2  # polled every 0.1 s of fake time, nothing slept
    assert applier._wait(lambda: True)
