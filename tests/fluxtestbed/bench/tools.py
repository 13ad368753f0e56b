"""Each tool measured alike: first sync, no-op pass, push to live, memory, CPU.

Every tool gets its own repo and fresh namespaces (its own run tag) on a
fresh control plane, through the same git server, and runs alone. Clocks: the
first sync runs from the moment the push has landed (Flux v2: the moment its
artifact is published) to every object applied; writes come from the API
server's audit log under the tool's own user name, nothing subtracted.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fluxtestbed.audit import AuditLog
from fluxtestbed.bench.api import AdminApi
from fluxtestbed.bench.fluxd import (
    Session,
    cpu_seconds_of,
    housekeeping_cpu,
    machine_cpu,
    peak_rss_mib,
    server_cpu,
    writes_of,
)
from fluxtestbed.bench.fluxv2 import USER as FLUXV2_USER
from fluxtestbed.bench.fluxv2 import FluxV2
from fluxtestbed.bench.objects import RepoSet, with_probe
from fluxtestbed.bench.peers import FLUXV1_USER, KUBECTL_USER, FluxV1, kubectl_apply
from fluxtestbed.bench.pushing import WorkClone
from fluxtestbed.bench.settle import QUIET_S, TIMEOUT_S, settle
from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster
from fluxtestbed.procs import TestbedError


@dataclass
class Bed:
    """What every tool is measured on."""

    kube: Cluster
    git: GitServer
    api: AdminApi
    audit: AuditLog
    #: Seconds without a controller write before a measured run (bench.settle).
    quiet_s: float = QUIET_S
    settle_timeout_s: float = TIMEOUT_S

    def settle(self) -> dict[str, object]:
        """Wait for the controllers to finish what earlier runs gave them; how it went."""
        return settle(self.audit, self.quiet_s, self.settle_timeout_s).as_dict()


def _cpu(bed: Bed, pid: int | None, *, children: bool = False) -> dict[str, float]:
    tool = cpu_seconds_of(pid, children=children) if pid else 0.0
    return {
        "tool": tool,
        **server_cpu(bed.kube),
        "controllers": housekeeping_cpu(bed.kube),
        "machine": machine_cpu()["busy"],
    }


def _used(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: round(v - before[k], 2) for k, v in after.items()}


def _first(
    bed: Bed, repo: RepoSet, wall: float, cpu: dict[str, float], writes: Any
) -> dict[str, Any]:
    present = sum(bed.api.count_present(repo.run).values())
    return {
        "wall_s": round(wall, 3),
        "present": present,
        "expected": len(repo.all),
        "cpu_s": cpu,
        "writes": writes,
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }


def summary(samples: list[float]) -> dict[str, Any]:
    live = sorted(samples)
    return {
        "samples": [round(s, 3) for s in live],
        "p50_s": round(statistics.median(live), 3),
        "p95_s": round(percentile(live, 95), 3),
    }


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of sorted ``values``."""
    rank = max(1, -(-len(values) * pct // 100))
    return values[int(rank) - 1]


def _until_live(bed: Bed, repo: RepoSet, value: str, began: float, what: str) -> float:
    probe = repo.probe()
    while bed.api.probe_value(probe) != value:
        if time.monotonic() - began > 300:
            raise TestbedError(f"{what}: change not live after 300s")
        time.sleep(0.02)
    return time.monotonic() - began


# --- fluxd (ours) -----------------------------------------------------------------------


def measure_fluxd(
    bed: Bed, repo: RepoSet, pushes: int, extra: Callable[[Session], dict[str, Any]]
) -> dict[str, Any]:
    session = Session.start(bed.kube, bed.git, bed.api, repo.run)
    try:
        waited = bed.settle()
        mark = bed.audit.mark()
        first = session.first_sync(repo)
        writes = writes_of(bed.audit, mark, session.user)
        out: dict[str, Any] = {"tool": "fluxd", "user": session.user}
        out["first_sync"] = _first(bed, repo, first["wall_s"], first["cpu_s"], writes)
        out["first_sync"]["took_s"] = first["took_s"]
        out["first_sync"]["applied"] = first["applied"]
        out["first_sync"]["settling"] = waited
        out["peak_mib"] = round(session.memory()[0], 1)
        out["noop"] = session.noop(bed.audit)
        samples = [s["live_s"] for s in session.push_live(repo, "webhook", pushes)]
        out["push_live"] = {"trigger": "webhook (GitHub push event)", **summary(samples)}
        out["peak_mib"] = round(session.memory()[0], 1)
        out.update(extra(session))
        return out
    finally:
        session.stop()


# --- kubectl ----------------------------------------------------------------------------


def measure_kubectl(bed: Bed, repo: RepoSet) -> dict[str, Any]:
    waited = bed.settle()
    before = _cpu(bed, None)
    mark = bed.audit.mark()
    run = kubectl_apply(bed.kube, repo)
    cpu = _used(_cpu(bed, None), before) | {"tool": run["tool_cpu_s"]}
    writes = writes_of(bed.audit, mark, KUBECTL_USER)
    out: dict[str, Any] = {"tool": "kubectl", "user": KUBECTL_USER, "peak_mib": run["peak_mib"]}
    out["first_sync"] = _first(bed, repo, run["wall_s"], cpu, writes) | {
        "applied": run["applied"],
        "settling": waited,
    }
    mark = bed.audit.mark()
    again = kubectl_apply(bed.kube, repo)
    out["noop"] = {"took_s": again["wall_s"], "writes": writes_of(bed.audit, mark, KUBECTL_USER)}
    out["peak_mib"] = max(run["peak_mib"], again["peak_mib"])
    out["push_live"] = None  # kubectl has no trigger of its own: someone runs it
    return out


# --- Flux v1 ----------------------------------------------------------------------------


def measure_fluxv1(bed: Bed, repo: RepoSet, pushes: int) -> dict[str, Any]:
    peer = FluxV1.start(bed.kube, bed.git, repo.run)
    try:
        out: dict[str, Any] = {"tool": "fluxv1", "user": FLUXV1_USER}
        head = bed.git.push_files(peer.repo, repo.files(), f"{len(repo.objects)} objects")
        waited = bed.settle()
        cpu, mark = _cpu(bed, peer.pid, children=True), bed.audit.mark()
        began = time.monotonic()
        peer.sync()
        wall = time.monotonic() - began
        used = _used(_cpu(bed, peer.pid, children=True), cpu)
        writes = writes_of(bed.audit, mark, FLUXV1_USER)
        out["first_sync"] = _first(bed, repo, wall, used, writes) | {
            "revision": head,
            "settling": waited,
        }
        out["peak_mib"] = round(peak_rss_mib(peer.pid), 1)
        out["noop"] = _fluxv1_noop(bed, peer)
        out["push_live"] = _fluxv1_push_live(bed, peer, repo, pushes)
        out["peak_mib"] = max(out["peak_mib"], round(peak_rss_mib(peer.pid), 1))
        return out
    finally:
        peer.stop()


def _fluxv1_noop(bed: Bed, peer: FluxV1) -> dict[str, Any]:
    """Flux v1 passes only on its timer or a new commit; a restart's first pass is one."""
    mark = bed.audit.mark()
    peer.restart()
    peer.wait_passes(1)
    took, count = peer.sync_metric()
    return {
        "took_s": round(took / max(count, 1), 3),
        "writes": writes_of(bed.audit, mark, FLUXV1_USER),
        "how": "the first pass after a restart, timed by flux_daemon_sync_duration_seconds",
    }


def _fluxv1_push_live(bed: Bed, peer: FluxV1, repo: RepoSet, pushes: int) -> dict[str, Any]:
    samples = []
    clone = WorkClone.of(bed.git, peer.repo)
    for i in range(pushes):
        value = f"v1-{i}-{time.time_ns()}"
        clone.push(with_probe(repo, value), f"probe {value}")
        began = time.monotonic()
        peer.sync()
        samples.append(_until_live(bed, repo, value, began, "Flux v1"))
    return {"trigger": "fluxctl sync (Go fluxctl 1.25.4, --url)", **summary(samples)}


# --- Flux v2 ----------------------------------------------------------------------------


def measure_fluxv2(bed: Bed, repo: RepoSet, pushes: int) -> dict[str, Any]:
    peer = FluxV2.start(bed.kube, bed.git, bed.api, repo.run)
    pid = peer.process.popen.pid
    try:
        out: dict[str, Any] = {"tool": "fluxv2", "user": FLUXV2_USER}
        head = bed.git.push_files(peer.repo, repo.files(), f"{len(repo.objects)} objects")
        waited = bed.settle()
        cpu, mark = _cpu(bed, pid), bed.audit.mark()
        began = peer.publish(head)
        peer.request_reconcile()
        done = peer.wait_ready(revision=head)
        used = _used(_cpu(bed, pid), cpu)
        writes = writes_of(bed.audit, mark, FLUXV2_USER)
        out["first_sync"] = _first(bed, repo, done - began, used, writes) | {
            "revision": head,
            "settling": waited,
        }
        out["peak_mib"] = round(peak_rss_mib(pid), 1)
        peer.wait_idle()
        mark = bed.audit.mark()
        began = time.monotonic()
        peer.wait_ready(token=peer.request_reconcile())
        took = time.monotonic() - began
        time.sleep(1.0)  # its Events land after the status
        out["noop"] = {
            "took_s": round(took, 3),
            "writes": writes_of(bed.audit, mark, FLUXV2_USER),
            "how": "reconcile.fluxcd.io/requestedAt, same artifact",
        }
        out["push_live"] = _fluxv2_push_live(bed, peer, repo, pushes)
        out["peak_mib"] = max(out["peak_mib"], round(peak_rss_mib(pid), 1))
        return out
    finally:
        peer.stop()


def _fluxv2_push_live(bed: Bed, peer: FluxV2, repo: RepoSet, pushes: int) -> dict[str, Any]:
    samples = []
    clone = WorkClone.of(bed.git, peer.repo)
    for i in range(pushes):
        value = f"v2-{i}-{time.time_ns()}"
        head = clone.push(with_probe(repo, value), f"probe {value}")
        began = peer.publish(head)
        peer.request_reconcile()
        samples.append(_until_live(bed, repo, value, began, "Flux v2"))
        peer.wait_ready(revision=head)
        peer.wait_idle()
    return {
        "trigger": "artifact published + reconcile.fluxcd.io/requestedAt (clock from publishing)",
        **summary(samples),
    }
