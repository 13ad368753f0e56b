"""The drift check's watched metadata: events, relists, and when it may be trusted."""

from __future__ import annotations

from typing import Any

import pytest

from fluxd.cluster import GC_MARK_LABEL
from fluxd.cluster.metacache import MetaCache, WatchExpired, compact_meta
from fluxd.errors import ClusterError
from fluxids import ObjectRef


def obj(name: str, rv: int, *, generation: int | None = None, mark: str = "m") -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": "ns",
        "uid": f"uid-{name}",
        "resourceVersion": str(rv),
        "labels": {GC_MARK_LABEL: mark, "app": "web"},
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "x" * 1000},
        "managedFields": [{"manager": "fluxd", "fieldsV1": {"f:data": {}}}],
    }
    if generation is not None:
        meta["generation"] = generation
    return {"kind": "PartialObjectMetadata", "metadata": meta}


def ref(name: str) -> ObjectRef:
    return ObjectRef("ns", "ConfigMap", name, "v1")


def listed(*items: dict[str, Any], rv: int) -> MetaCache:
    cache = MetaCache("v1", "ConfigMap")
    cache.relisted(cache.compact(items), str(rv))
    cache.connected()
    return cache


def test_only_what_the_drift_check_compares_is_kept() -> None:
    meta = compact_meta("apps/v1", "Deployment", obj("web", 7, generation=3))
    assert meta.ref == ObjectRef("ns", "Deployment", "web", "apps/v1")
    assert (meta.uid, meta.generation, meta.resource_version) == ("uid-web", 3, "7")
    assert dict(meta.labels) == {GC_MARK_LABEL: "m"}
    assert dict(meta.annotations) == {}


def test_events_add_change_and_remove_objects() -> None:
    cache = listed(obj("a", 10), obj("b", 11), rv=12)
    cache.apply({"type": "ADDED", "object": obj("c", 13)})
    cache.apply({"type": "MODIFIED", "object": obj("a", 14, mark="other")})
    cache.apply({"type": "DELETED", "object": obj("b", 15)})
    view = cache.view(15)
    assert view is not None
    assert set(view) == {ref("a"), ref("c")}
    assert view[ref("a")].resource_version == "14"
    assert view[ref("a")].labels[GC_MARK_LABEL] == "other"
    assert cache.resume_from == "15"


def test_a_bookmark_moves_the_resume_point_only() -> None:
    cache = listed(obj("a", 10), rv=10)
    cache.apply({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "40"}}})
    assert cache.resume_from == "40"
    view = cache.view(40)
    assert view is not None and set(view) == {ref("a")}


def test_the_cache_is_not_trusted_before_it_saw_our_last_apply() -> None:
    # We applied "a" and the server answered resourceVersion 20; the watch is at 12.
    cache = listed(obj("a", 10), rv=12)
    assert cache.view(20) is None
    cache.apply({"type": "MODIFIED", "object": obj("a", 20)})
    view = cache.view(20)
    assert view is not None and view[ref("a")].resource_version == "20"


def test_the_cache_is_not_trusted_while_no_watch_is_open() -> None:
    cache = listed(obj("a", 10), rv=10)
    cache.disconnected()
    assert cache.view(0) is None
    cache.connected()  # resumed from the same resourceVersion
    assert cache.view(0) is not None


def test_a_resource_version_that_is_not_a_number_is_never_trusted() -> None:
    cache = MetaCache("v1", "ConfigMap")
    cache.relisted([], "opaque-token")
    cache.connected()
    assert cache.view(0) is None


def test_410_gone_asks_for_a_relist_and_the_relist_replaces_everything() -> None:
    cache = listed(obj("a", 10), obj("b", 11), rv=11)
    gone = {"kind": "Status", "code": 410, "message": "too old resource version: 11 (900)"}
    with pytest.raises(WatchExpired):
        cache.apply({"type": "ERROR", "object": gone})
    cache.invalidate()
    assert not cache.synced and cache.view(0) is None
    cache.relisted(cache.compact([obj("b", 950)]), "960")
    cache.connected()
    view = cache.view(950)
    assert view is not None and set(view) == {ref("b")}


def test_other_error_events_and_garbage_are_errors() -> None:
    cache = listed(rv=1)
    with pytest.raises(ClusterError) as error:
        cache.apply({"type": "ERROR", "object": {"code": 500, "message": "etcd is away"}})
    assert not isinstance(error.value, WatchExpired)
    with pytest.raises(ClusterError, match="no object"):
        cache.apply({"type": "ADDED"})
    with pytest.raises(ClusterError, match="unreadable"):
        cache.apply({"type": "ADDED", "object": {"metadata": {"resourceVersion": "3"}}})
    with pytest.raises(ClusterError, match="unknown event"):
        cache.apply({"type": "SHRUG", "object": obj("a", 4)})


def test_a_view_does_not_wait_for_a_broken_watch() -> None:
    cache = listed(rv=1)
    cache.invalidate()
    # A broken watch answers at once (the kind is listed instead), however long the wait.
    assert cache.view(5, wait=30.0) is None
