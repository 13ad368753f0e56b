"""Drift watches against a scripted API server: resume, relist on 410, stop, vouch."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, cast

from fluxd.cluster.client import KubeClient, Query, Response
from fluxd.cluster.discovery import Discovery, ResourceType
from fluxd.cluster.metacache import MetaCache
from fluxd.cluster.objects import InventoryEntry
from fluxd.cluster.watching import DriftWatches, MetaWatch
from fluxd.errors import ClusterError
from fluxids import ObjectRef
from unit.cluster.test_metacache import obj


class ScriptedStream:
    """One watch answer: a status and event lines, or (``hang``) silence until aborted."""

    def __init__(self, status: int, events: list[dict[str, Any]], *, hang: bool = False) -> None:
        self.status, self.reason = status, ""
        self._events, self._hang = events, hang
        self._aborted = threading.Event()

    def read_all(self) -> bytes:
        return b'{"kind":"Status","message":"gone"}'

    def lines(self) -> Iterator[bytes]:
        for event in self._events:
            yield json.dumps(event).encode()
        if self._hang:
            self._aborted.wait(30)
            raise ClusterError("GET (watch): connection aborted")

    def abort(self) -> None:
        self._aborted.set()


class ScriptedServer:
    """Answers LISTs and watches from scripts, and records what was asked."""

    def __init__(self, lists: list[dict[str, Any]], watches: list[ScriptedStream]) -> None:
        self._lists, self._watches = lists, watches
        self.watched_from: list[str] = []

    def request(self, method: str, path: str, *, query: Query = (), **_: Any) -> Response:
        return Response(200, json.dumps(self._lists.pop(0)).encode())

    @contextmanager
    def stream(self, path: str, *, query: Query = (), **_: Any) -> Iterator[ScriptedStream]:
        self.watched_from.append(dict(query)["resourceVersion"])
        yield self._watches.pop(0) if self._watches else ScriptedStream(200, [], hang=True)


def listing(rv: int, *items: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"resourceVersion": str(rv)}, "items": list(items)}


def test_a_watch_resumes_where_it_ended_and_lists_again_after_410() -> None:
    server = ScriptedServer(
        lists=[listing(10, obj("a", 5)), listing(25, obj("b", 20))],
        watches=[
            ScriptedStream(200, [{"type": "MODIFIED", "object": obj("a", 12)}]),
            ScriptedStream(410, []),
        ],
    )
    cache = MetaCache("v1", "ConfigMap")
    watch = MetaWatch(
        cast(KubeClient, server), "/api/v1/configmaps", cache, selector="s", namespace=""
    )
    watch.start()
    try:
        assert cache.wait(lambda: cache.seen(25), timeout=10)
        view = cache.view(25)
        assert view is not None
        assert [m.ref.name for m in view.values()] == ["b"]
        # The first watch began at the LIST, the second where the first ended
        # (answered 410), the third at the second LIST.
        assert server.watched_from == ["10", "12", "25"]
        assert watch.lists == 2
    finally:
        watch.stop()
        watch.join(10)
    assert not cache.usable


def test_stop_ends_a_watch_waiting_for_events() -> None:
    server = ScriptedServer(lists=[listing(3)], watches=[])
    cache = MetaCache("v1", "ConfigMap")
    watch = MetaWatch(
        cast(KubeClient, server), "/api/v1/configmaps", cache, selector="s", namespace=""
    )
    watch.start()
    assert cache.wait(lambda: cache.usable, timeout=10)
    watch.stop()
    watch.join(10)
    assert not watch.running
    assert not cache.usable


class QuietServer:
    """Answers each path's LIST from a table; its watches stay open and silent."""

    def __init__(self, lists: dict[str, dict[str, Any]]) -> None:
        self._lists = lists

    def request(self, method: str, path: str, *, query: Query = (), **_: Any) -> Response:
        return Response(200, json.dumps(self._lists[path]).encode())

    @contextmanager
    def stream(self, path: str, *, query: Query = (), **_: Any) -> Iterator[ScriptedStream]:
        yield ScriptedStream(200, [], hang=True)


class OneKind:
    """Discovery that knows ConfigMaps only."""

    def lookup(self, api_version: str, kind: str) -> ResourceType | None:
        if (api_version, kind) == ("v1", "ConfigMap"):
            return ResourceType("v1", "ConfigMap", "configmaps", namespaced=True)
        return None


def usable(cache: MetaCache) -> bool:
    return cache.usable


def entry(namespace: str, name: str, rv: str) -> InventoryEntry:
    return InventoryEntry(ObjectRef(namespace, "ConfigMap", name, "v1"), "m", resource_version=rv)


def test_watches_per_namespace_vouch_only_for_what_they_have_seen() -> None:
    def at(namespace: str, rv: int) -> dict[str, Any]:
        item = obj(f"in-{namespace}", rv)
        item["metadata"]["namespace"] = namespace
        return listing(rv, item)

    server = QuietServer(
        {
            "/api/v1/namespaces/a/configmaps": at("a", 10),
            "/api/v1/namespaces/b/configmaps": at("b", 30),
        }
    )
    watches = DriftWatches(
        cast(KubeClient, server),
        cast(Discovery, OneKind()),
        selector="s",
        namespaces=("a", "b"),
        catch_up=0.0,
    )
    watches.track([("v1", "ConfigMap"), ("example.com/v1", "Unknown")])
    try:
        assert watches.kinds() == {("v1", "ConfigMap")}, "a kind the server lacks is not watched"
        for watch in watches.watches("v1", "ConfigMap"):
            assert watch.cache.wait(partial(usable, watch.cache), timeout=10)
        found = watches.cached(
            "v1", "ConfigMap", [entry("a", "in-a", "10"), entry("b", "in-b", "30")]
        )
        assert found is not None and {r.name for r in found} == {"in-a", "in-b"}
        # Namespace a's watch is at 10: an apply there answered 20 is not seen yet.
        assert watches.cached("v1", "ConfigMap", [entry("a", "in-a", "20")]) is None
        # The same revision in b, whose watch is at 30, is.
        assert watches.cached("v1", "ConfigMap", [entry("b", "in-b", "20")]) is not None
        # A recorded resourceVersion that is not a number cannot be compared.
        assert watches.cached("v1", "ConfigMap", [entry("b", "in-b", "x1")]) is None
        watches.retain([])
        assert watches.kinds() == frozenset()
        assert watches.cached("v1", "ConfigMap", [entry("b", "in-b", "20")]) is None
    finally:
        watches.stop()


class Unreachable:
    """Discovery whose server does not answer."""

    def lookup(self, api_version: str, kind: str) -> ResourceType | None:
        raise ClusterError("cannot talk to the Kubernetes API at 127.0.0.1")


def test_a_kind_that_cannot_be_looked_up_is_listed_not_watched() -> None:
    watches = DriftWatches(
        cast(KubeClient, QuietServer({})), cast(Discovery, Unreachable()), selector="s"
    )
    # Saving the inventory went through; failing to start a watch must not undo that.
    watches.retain([("v1", "ConfigMap")])
    assert watches.kinds() == frozenset()
    assert watches.cached("v1", "ConfigMap", [entry("a", "x", "1")]) is None
