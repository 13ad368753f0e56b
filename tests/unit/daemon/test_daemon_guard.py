"""The daemon reports held deletions and rewritten histories: API, Events, metrics."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from fluxd.api import convert
from fluxd.daemon import Daemon
from fluxd.passes import SyncPasses
from fluxd.sync.results import GcHold, ResourceFailure, SyncResult
from unit.daemon.test_daemon_service import HEAD, OLD, FakeCluster, FakeEngine, wire

HOLD = GcHold("the revision holds no manifests", ("apps:configmap/a",), 1, "approve it")


def make(result: SyncResult) -> tuple[Daemon, SyncPasses, FakeCluster, CollectorRegistry]:
    engine = FakeEngine(None)
    engine.result = result
    cluster, registry = FakeCluster(), CollectorRegistry()
    daemon, passes = wire(engine, cluster=cluster, registry=registry)
    return daemon, passes, cluster, registry


def metric(registry: CollectorRegistry, name: str) -> Any:
    return registry.get_sample_value(name)


def test_held_deletions_are_reported_by_the_api_an_event_and_the_gauge() -> None:
    daemon, passes, cluster, registry = make(SyncResult(HEAD, 0.0, 0.1, unchanged=2, gc_hold=HOLD))
    asyncio.run(passes.run())

    answer = daemon.sync_errors(HEAD[:7])
    assert answer.gc_hold == HOLD
    assert "GarbageCollectionHeld" in cluster.events
    assert metric(registry, "flux_daemon_gc_guard_blocked") == 1
    # A held pass is no successful sync.
    assert metric(registry, "flux_daemon_last_successful_sync_timestamp_seconds") == 0


def test_the_gauge_falls_back_to_zero_when_nothing_is_held() -> None:
    daemon, passes, _, registry = make(SyncResult(HEAD, 0.0, 0.1, gc_hold=HOLD))
    asyncio.run(passes.run())
    passes._engine.result = SyncResult(HEAD, 0.0, 0.1, applied=1)  # type: ignore[attr-defined]
    asyncio.run(passes.run())
    assert metric(registry, "flux_daemon_gc_guard_blocked") == 0
    assert daemon.sync_errors(HEAD[:7]).gc_hold is None


def test_a_rewritten_history_is_counted_once_and_reported_for_its_revision() -> None:
    daemon, passes, cluster, registry = make(
        SyncResult(HEAD, 0.0, 0.1, applied=1, rewritten_from=OLD)
    )
    for _ in range(3):  # retries and later passes of the same revision
        asyncio.run(passes.run())

    assert metric(registry, "flux_daemon_history_rewrites_total") == 1
    assert cluster.events.count("HistoryRewritten") == 1
    assert daemon.sync_errors(HEAD[:7]).history_rewritten_from == OLD


def test_a_pass_cut_short_by_a_passing_fault_says_it_is_retried() -> None:
    failure = ResourceFailure("apps:configmap/a", "a.yaml", "connection refused", transient=True)
    daemon, passes, _, _ = make(SyncResult(HEAD, 0.0, 0.1, failures=(failure,)))
    asyncio.run(passes.run())
    answer = daemon.sync_errors(HEAD[:7])
    assert answer.retrying is True
    assert convert.sync_errors(answer).model_dump()["retrying"] is True
    clean, clean_passes, _, _ = make(SyncResult(HEAD, 0.0, 0.1, applied=1))
    asyncio.run(clean_passes.run())
    # Left out of the JSON when false, so a pass without news answers as before.
    assert "retrying" not in convert.sync_errors(clean.sync_errors(HEAD[:7])).model_dump()


def test_an_outage_failing_every_object_is_logged_in_a_few_lines(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refused = tuple(
        ResourceFailure(f"apps:configmap/{i}", "maps.yaml", "connection refused", transient=True)
        for i in range(3000)
    )
    invalid = ResourceFailure("apps:deployment/x", "x.yaml", "spec.replicas: Invalid value")
    _, passes, _, _ = make(SyncResult(HEAD, 0.0, 0.1, failures=(invalid, *refused)))
    with caplog.at_level(logging.WARNING, logger="fluxd.passes"):
        asyncio.run(passes.run())
    lines = [r.getMessage() for r in caplog.records]
    assert len([line for line in lines if line.startswith("event=resource-failed ")]) == 6
    assert any("apps:deployment/x" in line for line in lines)  # every lasting failure is listed
    assert any("more=2995" in line for line in lines)
