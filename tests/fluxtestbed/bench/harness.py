"""The benchmark's plan: per N, every tool alone on a fresh control plane.

Fresh cluster state: each tool, and each run of the ceiling client, starts
on a control plane of its own (about 5 s to start), so none is measured on
a cluster that earlier runs filled: the API server's cost per write grew
with every 5,050 objects an earlier run left (ceiling runs in one plane
went from 157 to 66 objects/s, the same requests). After fluxd is
measured, one more fluxd pass is recorded on a plane of its own
(fluxtestbed.bench.capture) and the ceiling client replays it
(fluxtestbed.bench.ceiling).
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fluxtestbed.audit import CONTROLLERS, WRITE_VERBS
from fluxtestbed.bench import ceiling
from fluxtestbed.bench.api import AdminApi, Endpoint
from fluxtestbed.bench.capture import recording
from fluxtestbed.bench.fluxd import (
    FLUXD_FLAGS,
    Session,
    housekeeping_cpu,
    machine_cpu,
    server_cpu,
)
from fluxtestbed.bench.objects import generate, namespace_count
from fluxtestbed.bench.settle import QUIET_S
from fluxtestbed.bench.tools import (
    Bed,
    measure_fluxd,
    measure_fluxv1,
    measure_fluxv2,
    measure_kubectl,
)
from fluxtestbed.fluxv1 import find_fluxv1_binaries
from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster, start_cluster
from fluxtestbed.procs import TestbedError

#: In this order; the ceiling is measured right after fluxd.
TOOLS = ("fluxd", "kubectl", "fluxv1", "fluxv2")


@dataclass(frozen=True)
class Plan:
    sizes: tuple[int, ...] = (5000,)
    #: Push-to-live samples of ours; the peers get fewer, as each of their passes
    #: goes over every object again (minutes each at N = 5,000 on 2 cores).
    pushes: int = 20
    fluxv1_pushes: int = 3
    fluxv2_pushes: int = 5
    ceiling_reps: int = ceiling.REPETITIONS
    #: Objects (beyond the namespaces) each ceiling run sends at most. As many as
    #: fluxd's measured first sync up to N = 5,000: a run then lasts about as long as
    #: fluxd's pass and meets the same background work (controllers, kwok, watch
    #: fan-out). Runs of 1,000 objects took 4-9 s and scattered from 105 to 284/s at
    #: one concurrency on a quiet machine.
    ceiling_limit: int = 5000
    fluxctl_reps: int = 5
    #: Seconds without a controller write before each measured run (bench.settle).
    quiet_s: float = QUIET_S
    tools: tuple[str, ...] = TOOLS
    smoke: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)


Progress = Callable[[dict[str, Any]], None]


def run(plan: Plan, progress: Progress = lambda _: None) -> dict[str, Any]:
    """Run every case of ``plan``; return the raw results (JSON-ready).

    ``progress`` gets the results so far after every tool, so an interrupted
    run still leaves what it measured.
    """
    began = time.time()
    results: dict[str, Any] = {"meta": machine(), "cases": []}
    results["meta"].update(
        {
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(began)),
            "sizes": list(plan.sizes),
            "pushes": plan.pushes,
            "fluxv1_pushes": plan.fluxv1_pushes,
            "fluxv2_pushes": plan.fluxv2_pushes,
            "ceiling_limit": plan.ceiling_limit,
            "fresh_state": (
                "a fresh control plane for each tool and for each ceiling run; each tool "
                "its own repo and fresh namespaces"
            ),
            "fluxd_extra_flags": [*FLUXD_FLAGS, "--webhook-secret=<secret>"],
            "fluxd_rate_limit": fluxd_rate_limit(),
            "settle_quiet_s": plan.quiet_s,
        }
    )

    def step() -> None:
        results["meta"]["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        results["meta"]["duration_s"] = round(time.time() - began, 1)
        progress(results)

    with _git_server() as server:
        for n in plan.sizes:
            case: dict[str, Any] = {"n": n, "tools": {}}
            results["cases"].append(case)
            run_case(plan, server, case, step)
    step()
    return results


@contextmanager
def _git_server() -> Iterator[GitServer]:
    server = GitServer().start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def _cluster(n: int, what: str) -> Iterator[Cluster]:
    say(f"N={n}: starting a fresh control plane for {what}")
    cluster = start_cluster(Path(tempfile.mkdtemp(prefix=f"fluxpy-bench-{n}-")))
    try:
        yield cluster
    finally:
        cluster.stop()


@contextmanager
def _bed(kube: Cluster, git: GitServer, plan: Plan) -> Iterator[Bed]:
    if kube.audit is None:
        raise TestbedError("the bench needs a test-bed cluster of its own (for its audit log)")
    bed = Bed(kube, git, AdminApi(Endpoint.from_kubeconfig(kube.kubeconfig)), kube.audit,
              quiet_s=plan.quiet_s)  # fmt: skip
    try:
        yield bed
    finally:
        bed.api.close()


def run_case(plan: Plan, git: GitServer, case: dict[str, Any], step: Callable[[], None]) -> None:
    """Every tool of ``plan`` at ``case["n"]``, each on its own plane, the ceiling after fluxd."""
    n = int(case["n"])
    tag = f"b{os.getpid() % 1000:03d}n{n}"
    sample = generate(tag, n)
    case.update(namespaces=namespace_count(n), objects_with_namespaces=len(sample.all))
    case["kinds"] = sample.kinds()
    for tool in plan.tools:
        with _cluster(n, tool) as kube, _bed(kube, git, plan) as bed:
            _run_tool(plan, bed, case, tool, generate(f"{tag}{tool[:2]}{tool[-1]}", n))
        if tool == "fluxd" and plan.ceiling_reps > 0:
            try:
                case["ceiling"] = ceiling_case(plan, git, tag, n)
                _verdict(case)
            except (TestbedError, subprocess.SubprocessError) as exc:
                case.setdefault("errors", {})["ceiling"] = str(exc)[:3000]
                say(f"N={n}: ceiling FAILED: {str(exc)[:3000]}")
        step()


def _run_tool(plan: Plan, bed: Bed, case: dict[str, Any], tool: str, repo: Any) -> None:
    n = case["n"]
    say(f"N={n}: {tool}")
    try:
        case["tools"][tool] = _measure(plan, bed, tool, repo)
    except (TestbedError, subprocess.SubprocessError) as exc:
        # One peer that cannot run must not lose the others' figures.
        case.setdefault("errors", {})[tool] = str(exc)[:3000]
        say(f"N={n}: {tool} FAILED: {str(exc)[:3000]}")
        return
    say(f"N={n}: {tool} " + _brief(case["tools"][tool]))


def _verdict(case: dict[str, Any]) -> None:
    fluxd = case["tools"].get("fluxd")
    if fluxd:
        rate = fluxd["first_sync"]["expected"] / max(fluxd["first_sync"]["took_s"], 1e-6)
        case["fluxd_per_second"] = round(rate, 1)
        case["ceiling"]["verdict"] = ceiling.verdict(rate, case["ceiling"]["best_per_second"])
        case["ceiling"]["others_cores"] = ceiling.others_cores(
            fluxd["first_sync"], case["ceiling"].get("runs") or [], os.cpu_count() or 1
        )


def _measure(plan: Plan, bed: Bed, tool: str, repo: Any) -> dict[str, Any]:
    if tool == "fluxd":
        return measure_fluxd(bed, repo, plan.pushes, lambda s: _fluxctl_timings(plan, s))
    if tool == "kubectl":
        return measure_kubectl(bed, repo)
    if tool == "fluxv1":
        return measure_fluxv1(bed, repo, plan.fluxv1_pushes)
    if tool == "fluxv2":
        return measure_fluxv2(bed, repo, plan.fluxv2_pushes)
    raise TestbedError(f"unknown tool {tool!r}: one of {', '.join(TOOLS)}")


def _brief(row: dict[str, Any]) -> str:
    first, noop = row["first_sync"], row["noop"]
    live = row.get("push_live") or {}
    return (
        f"first sync {first['wall_s']:.2f}s ({first['present']}/{first['expected']}), "
        f"no-op {noop['took_s']:.2f}s {noop['writes']['total']} writes, "
        f"push-to-live p50 {live.get('p50_s', 0):.2f}s, peak {row['peak_mib']:.0f}MiB"
    )


def ceiling_case(plan: Plan, git: GitServer, tag: str, n: int) -> dict[str, Any]:
    """Record one fluxd pass of a fresh repo, then replay it at every concurrency.

    The recording has a plane of its own, stopped before the runs start.
    """
    captag = f"{tag}cap"
    # Runs send at most ceiling_limit objects: recording more would only cost time.
    repo = generate(captag, min(n, plan.ceiling_limit))
    out = Path(tempfile.mkdtemp(prefix="bench-capture-")) / "requests.jsonl"
    with _cluster(n, "the ceiling's recording") as kube, _bed(kube, git, plan) as bed:
        endpoint = Endpoint.from_kubeconfig(kube.kubeconfig)
        with recording(endpoint, out.with_name("all.jsonl")) as kubeconfig:
            # No drift watches: the recorder answers whole bodies, not streams, and
            # watches send no apply request anyway.
            args = (f"--kubeconfig={kubeconfig}", "--sync-drift-watch=false")
            session = Session.start(bed.kube, bed.git, bed.api, captag, host_args=args)
            try:
                session.first_sync(repo)
            finally:
                session.stop()
    count, sent = _replay_file(out, captag, plan.ceiling_limit)
    say(f"N={n}: recorded {count} apply requests of fluxd ({len(repo.all)} objects)")
    if count != len(repo.all):
        raise TestbedError(f"recorded {count} apply requests, expected {len(repo.all)}")

    @contextmanager
    def place() -> Iterator[ceiling.Place]:
        with _cluster(n, "a ceiling run") as kube, _bed(kube, git, plan) as fresh:
            yield ceiling.Place(kube.kubeconfig, fresh.settle, lambda: _watch(fresh))

    fresh = [f"{tag}c{i:02d}" for i in range(len(ceiling.CONCURRENCIES) * plan.ceiling_reps)]
    result = ceiling.sweep(sent, captag, fresh, plan.ceiling_reps, place)
    say(f"N={n}: ceiling {result['best_per_second']:.0f}/s at c={result['best_concurrency']}")
    result["recorded_requests"] = count
    result["load_avg"] = [round(x, 2) for x in os.getloadavg()]
    return result


def _watch(bed: Bed) -> Callable[[], dict[str, Any]]:
    """Start watching a ceiling run; the result says whose CPU it used, what controllers wrote."""
    server, machine, mark = server_cpu(bed.kube), machine_cpu(), bed.audit.mark()
    housekeeping = housekeeping_cpu(bed.kube)

    def done() -> dict[str, Any]:
        events, _ = bed.audit.tail(mark)
        return {
            "server_cpu_s": _less(server_cpu(bed.kube), server),
            "machine_cpu_s": _less(machine_cpu(), machine),
            "controllers_cpu_s": round(housekeeping_cpu(bed.kube) - housekeeping, 2),
            "controller_writes": sum(
                1 for e in events if e.verb in WRITE_VERBS and e.user.startswith(CONTROLLERS)
            ),
        }

    return done


def _less(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: round(v - before[k], 2) for k, v in after.items()}


def _replay_file(out: Path, captag: str, limit: int) -> tuple[int, Path]:
    """How many requests fluxd sent for the repo, and the file the ceiling replays.

    Only the repo's objects count (fluxd's own inventory lives in its own
    namespace). Every ceiling run creates what it sends, and on a loaded
    machine 21 runs of all N take too long: above ``limit`` objects each run
    sends the namespaces and the first ``limit`` other objects.
    """
    entries = [json.loads(line) for line in out.with_name("all.jsonl").read_text().splitlines()]
    mine = [e for e in entries if f"/namespaces/{captag}-ns" in e["path"]]
    out.write_text("".join(json.dumps(e) + "\n" for e in mine))
    namespaces = [e for e in mine if e["path"].split("?")[0].count("/") == 4]
    others = [e for e in mine if e["path"].split("?")[0].count("/") > 4]
    sent = out.with_name("sent.jsonl")
    sent.write_text("".join(json.dumps(e) + "\n" for e in namespaces + others[:limit]))
    return len(mine), sent


def _fluxctl_timings(plan: Plan, session: Session) -> dict[str, Any]:
    """Ours and Flux v1's Go fluxctl 1.25.4 against our fluxd, through the port-forward."""
    reps = 1 if plan.smoke else plan.fluxctl_reps
    go = find_fluxv1_binaries().fluxctl
    out: dict[str, Any] = {}
    for name, exe in (("ours", None), ("go", go)):
        for args in (("sync",), ("list-workloads", "-a")):
            times = []
            for _ in range(reps):
                took, done = session.timed_fluxctl(*args, exe=exe)
                _check(done, f"{name} fluxctl {' '.join(args)}")
                times.append(round(took, 3))
            out[f"{name} {' '.join(args)}"] = times
    out["rows"] = max(0, len(done.stdout.strip().splitlines()) - 1)
    out["form"] = session.fluxctl_command("sync")
    return {"fluxctl": out}


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
