"""A drift watch's loop against a scripted API server: resume, relist on 410, stop."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from fluxd.cluster.client import KubeClient, Query, Response
from fluxd.cluster.metacache import MetaCache
from fluxd.cluster.watching import MetaWatch
from fluxd.errors import ClusterError
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
