"""Prometheus metrics under Flux v1's names, on a registry the caller owns.

Nothing registers on prometheus_client's global ``REGISTRY``: the runner makes
one ``CollectorRegistry`` and hands it to ``Metrics`` (sync and git), to
``RequestMetrics`` (the API middleware) and to whatever serves ``/metrics``.
Tests make a fresh registry each and so never see each other's numbers.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, ClassVar, Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

# CollectorRegistry is re-exported: the runner and the API name the
# registry type through the one module that imports prometheus_client.
__all__ = [
    "CONTENT_TYPE_LATEST",
    "SYNC_BUCKETS",
    "CollectorRegistry",
    "Metrics",
    "RegistryMetrics",
    "RequestMetrics",
    "make_metrics_app",
    "render",
]

#: Flux v1's buckets for a sync pass, in seconds.
SYNC_BUCKETS: Final = (0.5, 5, 10, 20, 30, 40, 50, 60, 75, 90, 120, 240)


def _flag(value: bool) -> str:
    # Flux v1 labelled with Go's fmt of a bool.
    return "true" if value else "false"


class Metrics:
    """What the sync engine and the git mirror report."""

    def __init__(self, registry: CollectorRegistry, *, clock: Callable[[], float] = time.time):
        self._clock = clock
        self.sync_duration = Histogram(
            "flux_daemon_sync_duration_seconds",
            "Duration of a sync pass, in seconds.",
            ["success"],
            buckets=SYNC_BUCKETS,
            registry=registry,
        )
        self.sync_manifests = Gauge(
            "flux_daemon_sync_manifests",
            "Resources applied (success=true) and failed (success=false) in the last pass.",
            ["success"],
            registry=registry,
        )
        self.resource_failures = Gauge(
            "flux_daemon_sync_resource_failures",
            "Number of resources that failed to apply in the last sync pass.",
            registry=registry,
        )
        self.last_success = Gauge(
            "flux_daemon_last_successful_sync_timestamp_seconds",
            "Unix time at which the last sync pass without failures finished.",
            registry=registry,
        )
        self.gc_guard_blocked, self.history_rewrites, self.sync_retries = _safety_metrics(registry)
        self.git_ready = Gauge(
            "flux_git_ready", "1 when the git mirror is ready to sync, else 0.", registry=registry
        )
        self.leader = Gauge(
            "fluxd_leader",
            "1 while this replica holds the Lease and syncs (always, without --leader-elect).",
            registry=registry,
        )
        self.leader.set(1)
        # Present from the start so that alerts on them have a series to look at.
        for success in (True, False):
            self.sync_manifests.labels(_flag(success)).set(0)

    def observe_sync(self, duration: float, success: bool, applied: int, failed: int) -> None:
        """Record one finished sync pass."""
        self.sync_duration.labels(_flag(success)).observe(duration)
        self.sync_manifests.labels("true").set(applied)
        self.sync_manifests.labels("false").set(failed)
        self.resource_failures.set(failed)
        if success and failed == 0:
            self.last_success.set(self._clock())

    def observe_guard(self, held: int) -> None:
        """Record how many deletions the guard held back in the last pass."""
        self.gc_guard_blocked.set(held)

    def observe_retry(self) -> None:
        """Count one retry of a failed pass."""
        self.sync_retries.inc()

    def observe_history_rewrite(self) -> None:
        """Count one revision that rewrote the branch's history."""
        self.history_rewrites.inc()

    def set_leader(self, leading: bool) -> None:
        """Record whether this replica leads (and so syncs)."""
        self.leader.set(1 if leading else 0)

    def set_git_ready(self, ready: bool) -> None:
        """Record whether the mirror can be synced from."""
        self.git_ready.set(1 if ready else 0)

    def track_git_ready(self, ready: Callable[[], bool]) -> None:
        """Read the mirror's readiness at every scrape, so the gauge is never stale."""
        self.git_ready.set_function(lambda: 1.0 if ready() else 0.0)


def _safety_metrics(registry: CollectorRegistry) -> tuple[Gauge, Counter, Counter]:
    """Ours, not Flux v1's: the deletion guard, rewritten histories, retries."""
    blocked = Gauge(
        "flux_daemon_gc_guard_blocked",
        "Objects the deletion guard held back in the last sync pass (0: none held).",
        registry=registry,
    )
    rewrites = Counter(
        "flux_daemon_history_rewrites",
        "Revisions synced that do not descend from the revision applied before them.",
        registry=registry,
    )
    retries = Counter(
        "flux_daemon_sync_retries",
        "Sync passes retried soon because the one before crashed or met a transient fault.",
        registry=registry,
    )
    return blocked, rewrites, retries


class RegistryMetrics:
    """The registry scan (``fluxd.registry.ScanObserver``): Flux v1's fetch histogram,
    and gauges and counters in place of its memcached request metrics."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.fetch_duration = Histogram(
            "flux_registry_fetch_duration_seconds",
            "Duration of image metadata fetches (kind=tags|metadata), in seconds.",
            ["kind", "success"],
            registry=registry,
        )
        self.repositories = Gauge(
            "flux_cache_repositories", "Repositories in the image cache.", registry=registry
        )
        self.images = Gauge(
            "flux_cache_images", "Tags with metadata in the image cache.", registry=registry
        )
        self.lookups = Counter(
            "flux_cache_requests",
            "Tag metadata looked up in the cache: found (hit) or fetched (miss).",
            ["result"],
            registry=registry,
        )

    def observe_fetch(self, kind: str, seconds: float, success: bool) -> None:
        self.fetch_duration.labels(kind, _flag(success)).observe(seconds)

    def observe_cache(self, repositories: int, images: int, hits: int, misses: int) -> None:
        self.repositories.set(repositories)
        self.images.set(images)
        if hits:
            self.lookups.labels("hit").inc(hits)
        if misses:
            self.lookups.labels("miss").inc(misses)


class RequestMetrics:
    """``flux_request_duration_seconds``, filled by the API's middleware."""

    _per_registry: ClassVar[weakref.WeakKeyDictionary[CollectorRegistry, RequestMetrics]] = (
        weakref.WeakKeyDictionary()
    )

    @classmethod
    def for_registry(cls, registry: CollectorRegistry) -> RequestMetrics:
        """The one instance for ``registry``: several apps (API, webhooks) share it."""
        existing = cls._per_registry.get(registry)
        if existing is None:
            existing = cls._per_registry[registry] = cls(registry)
        return existing

    def __init__(self, registry: CollectorRegistry) -> None:
        self.duration = Histogram(
            "flux_request_duration_seconds",
            "Time (in seconds) spent serving HTTP requests.",
            ["method", "route", "status_code"],
            registry=registry,
        )

    def observe(self, method: str, route: str, status_code: int, seconds: float) -> None:
        """Record one answered request; ``route`` is the template, not the raw path."""
        self.duration.labels(method, route, str(status_code)).observe(seconds)


def render(registry: CollectorRegistry) -> bytes:
    """The registry in the Prometheus text format."""
    return generate_latest(registry)


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def make_metrics_app(registry: CollectorRegistry) -> AsgiApp:
    """A bare ASGI app serving ``registry`` at ``/metrics`` (for ``--listen-metrics``).

    Written out rather than prometheus_client's ``make_asgi_app`` because that
    one refuses ASGI lifespan messages, which uvicorn sends first.
    """

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        found = scope.get("path") == "/metrics"
        body = render(registry) if found else b"not found: metrics are at /metrics\n"
        content_type = CONTENT_TYPE_LATEST if found else "text/plain; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 200 if found else 404,
                "headers": [(b"content-type", content_type.encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
