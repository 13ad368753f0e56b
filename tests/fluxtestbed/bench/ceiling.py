"""The honest ceiling: fluxd's recorded requests replayed by a small Go client.

tests/fluxtestbed/ceiling (stdlib only, built by build-ceiling.sh) sends the
recording over HTTP/1.1 keep-alive connections with the admin client
certificate at each concurrency, the whole sweep three times over; every run
renames the recording's run tag to a fresh one of the same length, so each
creates new objects with bodies of the same size. Each run has a fresh
control plane, settled before it (fluxtestbed.bench.settle). The ceiling is
the best median.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fluxtestbed.procs import TestbedError

HERE = Path(__file__).resolve().parents[1]
CONCURRENCIES = (1, 2, 4, 8, 16, 32, 64)
REPETITIONS = 3
#: fluxd faster than the ceiling by more than this means the ceiling is not one.
TOLERANCE = 0.05


def ceiling_binary() -> Path:
    out = subprocess.run(
        ["bash", str(HERE / "build-ceiling.sh")], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise TestbedError(f"building the ceiling client failed:\n{out.stderr[-2000:]}")
    return Path(out.stdout.strip().splitlines()[-1])


def schedule(fresh: list[str], reps: int) -> list[tuple[int, str]]:
    """(concurrency, tag) of every run: the whole sweep once, then again, ``reps`` times.

    Interleaved rather than each concurrency ``reps`` times in a row, so a
    drift of the machine's load over the sweep spreads over every concurrency.
    """
    order = [c for _ in range(reps) for c in CONCURRENCIES]
    return list(zip(order, fresh, strict=True))


@dataclass(frozen=True)
class Place:
    """Where one run replays: a cluster's kubeconfig, how to settle it, how to watch a run.

    ``settle`` waits for the cluster's controllers and says how that went;
    ``watch`` starts watching one run and returns what says, at its end, what
    else happened meanwhile (whose CPU it used, what the controllers wrote).
    """

    kubeconfig: Path
    settle: Callable[[], dict[str, Any]]
    watch: Callable[[], Callable[[], dict[str, Any]]]


def sweep(
    recording: Path,
    tag: str,
    fresh: list[str],
    reps: int,
    place: Callable[[], AbstractContextManager[Place]],
) -> dict[str, Any]:
    """Replay ``recording`` at every concurrency ``reps`` times; ``fresh`` names the runs' tags.

    The client runs once per run, each time in a ``place`` of its own (a
    fresh control plane: a cluster that earlier runs filled costs the API
    server more per write).
    """
    runs = []
    for c, run_tag in schedule(fresh, reps):
        with place() as where:
            waited = where.settle()
            watching = where.watch()
            run = _one_run([*_argv(where.kubeconfig, recording, tag), f"-runs={c}:{run_tag}"])
            run.update(watching())
        run["settling"] = waited
        run["load_avg"] = [round(x, 2) for x in os.getloadavg()]
        runs.append(run)
    # A run with failed requests (an overloaded API server answers 504) is no
    # measure of throughput: it is reported, and left out of the medians.
    failed = [r for r in runs if r["errors"]]
    found = summarize([r for r in runs if not r["errors"]])
    found["failed_runs"] = [
        {
            "concurrency": r["concurrency"],
            "errors": r["errors"],
            "first_error": r["first_error"][:300],
        }
        for r in failed
    ]
    found["runs"] = [{k: v for k, v in r.items() if k != "first_error"} for r in runs]
    return found


def others_cores(
    first_sync: dict[str, Any], runs: list[dict[str, Any]], cores: int
) -> dict[str, Any]:
    """Cores that every other process kept busy: during fluxd's first sync, and each run.

    fluxd's first sync and the ceiling's runs happen at different moments of
    a shared machine; this says how different the moments were.
    """

    def share(busy: float, own: float, seconds: float) -> float:
        return round(max(busy - own, 0.0) / max(seconds, 1e-6), 2)

    cpu = first_sync["cpu_s"]
    fluxd = None
    if "machine" in cpu:
        own = cpu["tool"] + cpu.get("kube-apiserver", 0.0) + cpu.get("etcd", 0.0)
        fluxd = share(cpu["machine"], own, first_sync["wall_s"])
    per_run = [
        share(
            r["machine_cpu_s"]["busy"],
            r["cpu_s"] + sum(r["server_cpu_s"].values()),
            r["seconds"],
        )
        for r in runs
        if "machine_cpu_s" in r
    ]
    return {
        "cores": cores,
        "fluxd_first_sync": fluxd,
        "ceiling_runs_median": round(statistics.median(per_run), 2) if per_run else None,
        "ceiling_runs_range": [min(per_run), max(per_run)] if per_run else None,
    }


def _one_run(argv: list[str]) -> dict[str, Any]:
    out = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=900)
    if out.returncode != 0:
        raise TestbedError(f"the ceiling client failed: {out.stderr[-2000:]}")
    found: dict[str, Any] = json.loads(out.stdout)
    return found


def _argv(kubeconfig: Path, recording: Path, tag: str) -> list[str]:
    conf = yaml.safe_load(kubeconfig.read_text())
    cluster, user = conf["clusters"][0]["cluster"], conf["users"][0]["user"]
    return [
        str(ceiling_binary()),
        f"-server={cluster['server']}",
        f"-ca={cluster['certificate-authority']}",
        f"-cert={user['client-certificate']}",
        f"-key={user['client-key']}",
        f"-requests={recording}",
        f"-from={tag}",
    ]


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for c in CONCURRENCIES:
        rates = [float(r["per_second"]) for r in runs if r["concurrency"] == c]
        if rates:
            rows.append(
                {
                    "concurrency": c,
                    "per_second": [round(x, 1) for x in rates],
                    "median_per_second": round(statistics.median(rates), 1),
                }
            )
    if not rows:
        return {"requests": 0, "sweep": [], "best_concurrency": 0, "best_per_second": 0.0}
    best = max(rows, key=lambda r: float(r["median_per_second"]))
    return {
        "requests": runs[0]["requests"],
        "sweep": rows,
        "best_concurrency": best["concurrency"],
        "best_per_second": best["median_per_second"],
    }


def verdict(fluxd_per_second: float, ceiling_per_second: float) -> dict[str, Any]:
    """fluxd's throughput as a fraction of the ceiling, or why there is no fraction."""
    if ceiling_per_second <= 0:
        return {"valid": False, "fraction": None, "why": "no ceiling was measured"}
    fraction = fluxd_per_second / ceiling_per_second
    if fraction > 1 + TOLERANCE:
        return {
            "valid": False,
            "fraction": None,
            "why": f"ceiling invalid: fluxd ran at {fraction:.2f}x the ceiling's throughput",
        }
    return {"valid": True, "fraction": round(fraction, 3), "why": ""}
