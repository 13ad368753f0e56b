"""The benchmark's plan: per N, interleaved fluxd / kubectl first syncs, then the rest.

Fresh cluster state: a fresh control plane per N, and within it fresh
namespace names per run (every run's objects are new to the API server and
to the applier). Nothing is deleted while an N is being measured.
"""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxtestbed.bench.api import AdminApi, Endpoint, ceiling
from fluxtestbed.bench.fluxd import FLUXD_FLAGS, Session, server_cpu
from fluxtestbed.bench.objects import RepoSet, generate, namespace_count
from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster, start_cluster
from fluxtestbed.procs import TestbedError

CONCURRENCIES = (1, 4, 8, 16, 32)


@dataclass(frozen=True)
class Plan:
    sizes: tuple[int, ...] = (100, 1000, 5000)
    reps: int = 3
    #: Push-to-live samples per mode, per N.
    pushes: dict[int, int] | None = None
    #: Objects of the concurrency sweep beyond which the sweep uses a prefix.
    sweep_limit: int = 1000
    fluxctl_reps: int = 5
    smoke: bool = False

    def pushes_for(self, n: int) -> int:
        if self.pushes and n in self.pushes:
            return self.pushes[n]
        return 20 if n >= 5000 else 10


def say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)


def run(plan: Plan, *, kube: Cluster | None = None, git: GitServer | None = None) -> dict[str, Any]:
    """Run every case of ``plan``; return the raw results (JSON-ready)."""
    began = time.time()
    results: dict[str, Any] = {"meta": machine(), "cases": []}
    results["meta"].update(
        {
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(began)),
            "sizes": list(plan.sizes),
            "repetitions": plan.reps,
            "fresh_state": (
                "a fresh control plane per N; within it fresh namespace names per run "
                "(no deletions while an N is measured)"
            ),
            "fluxd_extra_flags": [*FLUXD_FLAGS, "--webhook-secret=<secret>"],
            "fluxd_rate_limit": fluxd_rate_limit(),
        }
    )
    with _git_server(git) as server:
        for n in plan.sizes:
            with _cluster(kube, n) as cluster:
                results["cases"].append(run_case(plan, cluster, server, n))
    results["meta"]["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    results["meta"]["duration_s"] = round(time.time() - began, 1)
    return results


@contextmanager
def _git_server(git: GitServer | None) -> Iterator[GitServer]:
    if git is not None:
        yield git
        return
    server = GitServer().start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def _cluster(kube: Cluster | None, n: int) -> Iterator[Cluster]:
    if kube is not None:
        yield kube
        return
    say(f"N={n}: starting a fresh control plane")
    cluster = start_cluster(Path(tempfile.mkdtemp(prefix=f"fluxpy-bench-{n}-")))
    try:
        yield cluster
    finally:
        cluster.stop()


def run_case(plan: Plan, kube: Cluster, git: GitServer, n: int) -> dict[str, Any]:
    endpoint = Endpoint.from_kubeconfig(kube.kubeconfig)
    api = AdminApi(endpoint)
    tag = f"b{os.getpid() % 1000}n{n}"
    sample = generate(f"{tag}", n)
    case: dict[str, Any] = {
        "n": n,
        "namespaces": namespace_count(n),
        "objects_with_namespaces": len(sample.all),
        "kinds": sample.kinds(),
        "first_sync": [],
        "noop": [],
        "memory": [],
        "fluxctl": {"sync_s": [], "list_workloads_s": [], "list_workloads_rows": []},
    }
    try:
        last: tuple[Session, RepoSet] | None = None
        for rep in range(plan.reps):
            order = ("fluxd", "kubectl") if rep % 2 == 0 else ("kubectl", "fluxd")
            row: dict[str, Any] = {"rep": rep + 1, "order": "/".join(order)}
            for who in order:
                repo = generate(f"{tag}r{rep}{who[0]}", n)
                if who == "kubectl":
                    row["kubectl"] = kubectl_apply(kube, api, repo)
                    say(f"N={n} rep {rep + 1}: kubectl {row['kubectl']['wall_s']:.2f}s")
                    continue
                if last is not None:
                    last[0].stop()
                session = Session.start(kube, git, api, repo.run)
                last = (session, repo)
                row["fluxd"] = session.first_sync(repo)
                row["fluxd"]["load_avg"] = os.getloadavg()[0]
                time.sleep(2.0)
                peak, rest = session.memory()
                case["memory"].append({"rep": rep + 1, "peak_mib": peak, "rest_mib": rest})
                say(
                    f"N={n} rep {rep + 1}: fluxd took={row['fluxd']['took_s']:.2f}s "
                    f"wall={row['fluxd']['wall_s']:.2f}s peak={peak:.0f}MiB"
                )
                case["noop"].append(session.noop())
                _fluxctl_timings(plan, session, case["fluxctl"])
            row["ratio_took"] = _ratio(row["fluxd"]["took_s"], row["kubectl"]["wall_s"])
            row["ratio_wall"] = _ratio(row["fluxd"]["wall_s"], row["kubectl"]["wall_s"])
            case["first_sync"].append(row)
        case["ceiling"] = ceiling_sweep(plan, endpoint, tag, n)
        assert last is not None
        session, repo = last
        case["push_live"] = push_live(plan, session, repo, n)
        case["fluxctl"]["form"] = session.fluxctl_command("sync")
        session.stop()
    finally:
        api.close()
    best = case["ceiling"]["best_objects_per_s"]
    for row in case["first_sync"]:
        fluxd_rate = row["fluxd"]["expected"] / row["fluxd"]["took_s"]
        row["fluxd_objects_per_s"] = round(fluxd_rate, 1)
        row["fraction_of_ceiling"] = round(fluxd_rate / best, 3) if best else 0.0
    return case


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b > 0 else 0.0


def kubectl_apply(kube: Cluster, api: AdminApi, repo: RepoSet) -> dict[str, Any]:
    """``kubectl apply --server-side -R -f <dir>`` of the same files, timed."""
    with tempfile.TemporaryDirectory(prefix="bench-kubectl-") as scratch:
        root = Path(scratch)
        for rel, text in repo.files().items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        cpu = server_cpu(kube)
        began = time.monotonic()
        out = kube.kubectl("apply", "--server-side", "-R", "-f", str(root), check=False)
        wall = time.monotonic() - began
        used = {k: round(v - cpu[k], 2) for k, v in server_cpu(kube).items()}
    if out.returncode != 0:
        raise TestbedError(f"kubectl apply failed: {out.stderr[-2000:]}")
    present = api.count_present(repo.run)
    return {
        "wall_s": round(wall, 3),
        "applied": out.stdout.count("serverside-applied"),
        "present": sum(present.values()),
        "expected": len(repo.all),
        "load_avg": os.getloadavg()[0],
        "cpu_s": used,
    }


def ceiling_sweep(plan: Plan, endpoint: Endpoint, tag: str, n: int) -> dict[str, Any]:
    """Concurrency sweep of raw server-side applies; the best rate is the ceiling.

    Above ``sweep_limit`` objects the sweep sends the namespaces and the first
    ``sweep_limit`` objects of the case's own set, and the best concurrency is
    then run again over all N: that full run is the ceiling.
    """
    prefix = n > plan.sweep_limit
    runs = []
    for c in CONCURRENCIES:
        repo = generate(f"{tag}c{c}", n)
        if prefix:
            repo = RepoSet(repo.run, repo.namespaces, repo.objects[: plan.sweep_limit])
        result = ceiling(endpoint, repo, c)
        if result.errors:
            raise TestbedError(f"ceiling c={c}: {result.errors} errors, e.g. {result.first_error}")
        say(f"N={n} ceiling c={c}: {result.per_second:.0f} objects/s ({result.took:.2f}s)")
        runs.append(result.as_json() | {"prefix": prefix})
    best = max(runs, key=lambda r: float(r["objects_per_s"]))
    # The same at the best concurrency with httpx's asyncio client, in case the
    # threads' client is what limits; the faster of the two counts.
    repo = generate(f"{tag}casync", n)
    if prefix:
        repo = RepoSet(repo.run, repo.namespaces, repo.objects[: plan.sweep_limit])
    other = ceiling(endpoint, repo, int(best["concurrency"]), client="async")
    if other.errors:
        raise TestbedError(f"ceiling async: {other.first_error}")
    say(f"N={n} ceiling async c={other.concurrency}: {other.per_second:.0f} objects/s")
    async_run = other.as_json() | {"prefix": prefix}
    best = max([best, async_run], key=lambda r: float(r["objects_per_s"]))
    client = str(best.get("client", "threads"))
    out: dict[str, Any] = {
        "sweep": runs,
        "async_at_best": async_run,
        "sweep_objects": runs[0]["objects"],
    }
    if prefix:
        full = ceiling(
            endpoint, generate(f"{tag}cfull", n), int(best["concurrency"]), client=client
        )
        if full.errors:
            raise TestbedError(f"ceiling full run: {full.first_error}")
        say(f"N={n} ceiling full c={full.concurrency}: {full.per_second:.0f} objects/s")
        out["full"] = full.as_json()
        best = out["full"]
    out["best_concurrency"] = best["concurrency"]
    out["best_objects_per_s"] = best["objects_per_s"]
    out["best_took_s"] = best["took_s"]
    out["best_client_cpu_s"] = best.get("client_cpu_s", 0.0)
    out["best_client"] = best.get("client", "threads")
    return out


def push_live(plan: Plan, session: Session, repo: RepoSet, n: int) -> dict[str, Any]:
    count = plan.pushes_for(n)
    out: dict[str, Any] = {"pushes": count}
    out["webhook"] = _summary(session.push_live(repo, "webhook", count))
    say(f"N={n} push-to-live webhook p50={out['webhook']['p50_s']:.2f}s")
    session.restart_with("--git-poll-interval", "1s")
    out["poll_1s"] = _summary(session.push_live(repo, "poll", count))
    say(f"N={n} push-to-live 1s poll p50={out['poll_1s']['p50_s']:.2f}s")
    return out


def _summary(samples: list[dict[str, float]]) -> dict[str, Any]:
    live = sorted(s["live_s"] for s in samples)
    return {
        "samples": samples,
        "p50_s": round(statistics.median(live), 3),
        "p95_s": round(percentile(live, 95), 3),
        "min_s": live[0],
        "max_s": live[-1],
    }


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of sorted ``values``."""
    rank = max(1, -(-len(values) * pct // 100))
    return values[int(rank) - 1]


def _fluxctl_timings(plan: Plan, session: Session, into: dict[str, Any]) -> None:
    reps = 1 if plan.smoke else max(1, plan.fluxctl_reps // 2)
    for _ in range(reps):
        took, out = session.timed_fluxctl("sync")
        _check(out, "fluxctl sync")
        into["sync_s"].append(round(took, 3))
        took, out = session.timed_fluxctl("list-workloads", "-a")
        _check(out, "fluxctl list-workloads -a")
        into["list_workloads_s"].append(round(took, 3))
        into["list_workloads_rows"].append(max(0, len(out.stdout.strip().splitlines()) - 1))


def _check(out: subprocess.CompletedProcess[str], what: str) -> None:
    if out.returncode != 0:
        raise TestbedError(f"{what} failed ({out.returncode}): {out.stderr[-1000:]}")


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        "kubernetes": _version(_kube_bin("kube-apiserver"), "--version"),
        "kubectl": _version(_kube_bin("kubectl"), "version", "--client"),
        "etcd": _version(Path("etcd"), "--version"),
    }


def _kube_bin(name: str) -> Path:
    out = subprocess.run(
        ["bash", str(Path(__file__).resolve().parents[1] / "build-kube.sh")],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = out.stdout.strip().splitlines()
    return Path(lines[-1]) / name if lines else Path(name)


def _version(binary: Path, *args: str) -> str:
    try:
        out = subprocess.run([str(binary), *args], capture_output=True, text=True, check=False)
    except OSError:
        return "unknown"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else ""


def fluxd_rate_limit() -> dict[str, Any]:
    """fluxd's client-side rate limit as run here: its defaults, and its flags if it has any."""
    from fluxd.settings import ClusterSettings

    defaults = ClusterSettings()
    out = subprocess.run(
        [sys.executable, "-m", "fluxd", "--help"], capture_output=True, text=True, check=False
    )
    flags = sorted(set(re.findall(r"--k8s-(?:qps|burst)\b", out.stdout)))
    return {"qps": defaults.qps, "burst": defaults.burst, "flags_available": flags}
