"""The Kubernetes side fails in the middle of a first sync: kube-apiserver
stops, etcd freezes, fluxd itself is killed.

In each case some objects are live when the fault hits. Afterwards every
object of the repo must be live, no object live at the fault may have been
deleted (or deleted and re-created), an object fluxd never owned must be
untouched, and fluxd must finish a clean pass of the revision by itself:
the sync interval is 10 minutes, so only fluxd's own retries can do that
within the bounded wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from fluxtestbed.faults import (
    Ledger,
    config_maps,
    count_live,
    head,
    record,
    synced,
    time_until,
)
from fluxtestbed.fluxd_host import wait_for
from fluxtestbed.kube import Cluster
from fluxtestbed.scenario import Installation

pytestmark = [pytest.mark.cluster, pytest.mark.gitserver, pytest.mark.slow]

#: How long each fault lasts. The fault's length, not a wait for an event.
OUTAGE = 10.0
#: How long fluxd may take to finish a clean pass once the fault is over.
RECOVERY_BOUND = 120.0
#: Created by hand in the target namespace: garbage collection must never touch it.
BYSTANDER = "not-from-git"


def _first_sync_under_way(
    fluxd_factory: Callable[..., Installation], kube: Cluster, count: int, qps: int
) -> Installation:
    """fluxd applying ``count`` ConfigMaps, rate-limited so that the pass takes a while."""
    inst = fluxd_factory(
        config_maps(count, "v1"), extra_args=(f"--k8s-qps={qps}", f"--k8s-burst={qps}")
    )
    kube.kubectl("create", "configmap", BYSTANDER, "-n", inst.target)
    wait_for(
        "the first sync to be under way",
        lambda: count_live(kube, inst.target) >= count // 10,
        timeout=120,
        interval=0.1,
    )
    return inst


@contextmanager
def _fault(stop: Callable[[], None], start: Callable[[], None]) -> Iterator[None]:
    """The fault lasts ``OUTAGE`` seconds; it always ends, even when the test fails."""
    stop()
    try:
        yield
        time.sleep(OUTAGE)
    finally:
        start()


def _check_recovery(
    inst: Installation, count: int, at_fault: Ledger, scenario: str, **figures: object
) -> None:
    """Wait (bounded) for fluxd's clean pass, record the figures, then assert."""
    kube, revision = inst.kube, head(inst.git, inst.repo)
    ttr = time_until(
        lambda: synced(inst, revision) and count_live(kube, inst.target) == count,
        timeout=RECOVERY_BOUND,
    )
    after = Ledger.take(kube, inst.target)
    names = [f"cm-{i:05d}" for i in range(count)]
    live_at_fault = sum(1 for n in at_fault.objects if n.startswith("cm-"))
    wrongly_deleted = at_fault.wrongly_deleted(after)
    lost = after.lost(names, "v1")
    record(
        scenario,
        objects=count,
        live_at_fault=live_at_fault,
        time_to_recovery_s=ttr,
        recovered=ttr is not None,
        objects_lost=len(lost),
        wrongly_deleted=len(wrongly_deleted),
        peak_rss_mib=round(inst.daemon.peak_rss_mib(), 1),
        **figures,
    )
    assert 0 < live_at_fault < count, "the fault did not hit the middle of the pass"
    assert wrongly_deleted == []
    assert BYSTANDER in after.objects
    assert ttr is not None, (
        f"fluxd did not finish a clean pass within {RECOVERY_BOUND:.0f}s after the fault; "
        f"{count - len(lost)}/{count} objects live; fluxd reports {inst.daemon.readyz()}"
    )
    assert lost == []


def _api_server_outage(
    fluxd_factory: Callable[..., Installation], kube: Cluster, count: int, qps: int
) -> None:
    inst = _first_sync_under_way(fluxd_factory, kube, count, qps)
    at_fault = Ledger.take(kube, inst.target)
    with _fault(kube.stop_apiserver, kube.start_apiserver):
        # fluxd keeps answering its own API while the cluster's is gone.
        during = inst.daemon.readyz()
    _check_recovery(
        inst,
        count,
        at_fault,
        f"kube-apiserver stopped mid-sync ({count:,} objects)",
        fault_seconds=OUTAGE,
        fluxd_answered_during_fault=bool(during),
    )


def test_kube_apiserver_stopped_mid_first_sync_of_300_objects(
    fluxd_factory: Callable[..., Installation], kube: Cluster
) -> None:
    _api_server_outage(fluxd_factory, kube, 300, qps=40)


@pytest.mark.reliability
def test_kube_apiserver_stopped_mid_first_sync_of_3000_objects(
    fluxd_factory: Callable[..., Installation], kube: Cluster
) -> None:
    _api_server_outage(fluxd_factory, kube, 3000, qps=150)


@pytest.mark.reliability
def test_etcd_frozen_mid_first_sync(
    fluxd_factory: Callable[..., Installation], kube: Cluster
) -> None:
    count = 1000
    inst = _first_sync_under_way(fluxd_factory, kube, count, qps=60)
    at_fault = Ledger.take(kube, inst.target)
    with _fault(kube.pause_etcd, kube.resume_etcd):
        during = inst.daemon.readyz()
    _check_recovery(
        inst,
        count,
        at_fault,
        f"etcd frozen (SIGSTOP) mid-sync ({count:,} objects)",
        fault_seconds=OUTAGE,
        fluxd_answered_during_fault=bool(during),
    )


def test_fluxd_killed_mid_first_sync_and_restarted(
    fluxd_factory: Callable[..., Installation], kube: Cluster
) -> None:
    count = 300
    inst = _first_sync_under_way(fluxd_factory, kube, count, qps=40)
    at_fault = Ledger.take(kube, inst.target)
    inst.daemon.kill()
    inst.daemon.restart()
    _check_recovery(inst, count, at_fault, f"fluxd SIGKILLed mid-sync ({count:,} objects)")
