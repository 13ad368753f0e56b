"""Flux v1's metric names on an injected registry, served at /metrics."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from fluxd.api.app import create_app
from fluxd.metrics import SYNC_BUCKETS, Metrics, make_metrics_app, render
from fluxd.settings import ApiSettings
from unit.api.fakes import FakeDaemon
from unit.api.testclient import TestClient


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, keyed by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), float("nan"))


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry) -> Metrics:
    return Metrics(registry, clock=lambda: 1_800_000_000.0)


def test_flux_v1_names_and_types_are_exposed(registry, metrics):
    families = {f.name: f.type for f in text_string_to_metric_families(render(registry).decode())}
    assert families == {
        "flux_daemon_sync_duration_seconds": "histogram",
        "flux_daemon_sync_manifests": "gauge",
        "flux_daemon_sync_resource_failures": "gauge",
        "flux_daemon_last_successful_sync_timestamp_seconds": "gauge",
        "flux_git_ready": "gauge",
        # Ours: the deletion guard and rewritten histories.
        "flux_daemon_gc_guard_blocked": "gauge",
        "flux_daemon_history_rewrites": "counter",
        "flux_daemon_history_rewrites_created": "gauge",  # prometheus_client's own
        "flux_daemon_sync_retries": "counter",
        "flux_daemon_sync_retries_created": "gauge",
        # Ours: whether this replica leads (and so syncs).
        "fluxd_leader": "gauge",
    }


def test_sync_duration_uses_flux_v1_buckets(registry, metrics):
    metrics.observe_sync(3.0, True, applied=5, failed=0)
    text = render(registry).decode()
    bounds = [
        float(dict(labels)["le"])
        for (name, labels) in samples(text)
        if name == "flux_daemon_sync_duration_seconds_bucket"
    ]
    assert sorted(bounds)[:-1] == list(SYNC_BUCKETS)
    assert SYNC_BUCKETS == (0.5, 5, 10, 20, 30, 40, 50, 60, 75, 90, 120, 240)


def test_a_clean_pass_moves_duration_manifests_and_the_success_time(registry, metrics):
    metrics.observe_sync(3.0, True, applied=7, failed=0)
    text = render(registry).decode()

    assert value(text, "flux_daemon_sync_duration_seconds_count", success="true") == 1
    assert value(text, "flux_daemon_sync_duration_seconds_sum", success="true") == 3.0
    assert value(text, "flux_daemon_sync_manifests", success="true") == 7
    assert value(text, "flux_daemon_sync_manifests", success="false") == 0
    assert value(text, "flux_daemon_last_successful_sync_timestamp_seconds") == 1_800_000_000.0


def test_a_pass_with_failures_records_them_and_keeps_the_last_success_time(registry, metrics):
    metrics.observe_sync(2.0, False, applied=4, failed=2)
    text = render(registry).decode()

    assert value(text, "flux_daemon_sync_duration_seconds_count", success="false") == 1
    assert value(text, "flux_daemon_sync_manifests", success="false") == 2
    assert value(text, "flux_daemon_sync_resource_failures") == 2
    assert value(text, "flux_daemon_last_successful_sync_timestamp_seconds") == 0


def test_git_ready_is_one_or_zero(registry, metrics):
    metrics.set_git_ready(True)
    assert value(render(registry).decode(), "flux_git_ready") == 1
    metrics.set_git_ready(False)
    assert value(render(registry).decode(), "flux_git_ready") == 0


def test_registries_are_independent():
    first, second = CollectorRegistry(), CollectorRegistry()
    Metrics(first).observe_sync(1.0, True, 1, 0)
    Metrics(second)
    count = "flux_daemon_sync_duration_seconds_count"
    assert value(render(second).decode(), count, success="true") != 1


def test_api_requests_are_counted_by_route_template(registry):
    app = create_app(FakeDaemon(), settings=ApiSettings(), registry=registry)
    with TestClient(app) as client:
        client.get("/api/flux/v6/jobs", params={"id": "nope"})
        client.get("/api/flux/v6/jobs", params={"id": "other"})
        client.get("/api/flux/v11/version")
        client.get("/api/flux/v1/anything/at/all")
        client.get("/no/such/path/123")
        text = client.get("/metrics").text

    name = "flux_request_duration_seconds_count"
    assert value(text, name, method="GET", route="/api/flux/v6/jobs", status_code="404") == 2
    assert value(text, name, method="GET", route="/api/flux/v11/version", status_code="200") == 1
    assert value(text, name, method="GET", route="/api/flux/v1/{rest:path}", status_code="410") == 1
    assert value(text, name, method="GET", route="unmatched", status_code="404") == 1
    routes = {dict(labels).get("route") for (n, labels) in samples(text) if n == name}
    assert not any("nope" in str(route) or "123" in str(route) for route in routes)


def test_metrics_route_on_the_api_app_serves_the_shared_registry(registry, metrics):
    metrics.set_git_ready(True)
    app = create_app(FakeDaemon(), settings=ApiSettings(), registry=registry)
    with TestClient(app) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert value(response.text, "flux_git_ready") == 1


def test_separate_metrics_listener_app_serves_the_registry(registry, metrics):
    metrics.observe_sync(1.0, True, 3, 0)
    with TestClient(make_metrics_app(registry)) as client:
        text = client.get("/metrics").text
    assert value(text, "flux_daemon_sync_manifests", success="true") == 3


def test_separate_metrics_listener_answers_404_elsewhere(registry):
    with TestClient(make_metrics_app(registry)) as client:
        assert client.get("/").status_code == 404
