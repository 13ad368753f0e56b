"""``python -m fluxtestbed.bench.diff``: how long ``fluxctl diff`` and the status page take.

For each N: a fresh control plane, a fluxd that has applied N objects, then
one ConfigMap changed in git (not synced). Timed, each ``--reps`` times:

* ``fluxctl --url <fluxd> diff``: the branch HEAD, fetched first (one change);
* ``fluxctl --url <fluxd> diff --from-dir``: a checkout of the same files;
* ``GET /`` (the status page, rendered) and ``GET /api/flux/v11/status``.

Results go to ``--out`` (default docs/benchmarks-diff.json) and stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from fluxtestbed.bench.api import AdminApi, Endpoint
from fluxtestbed.bench.fluxd import Session
from fluxtestbed.bench.harness import _cluster, _git_server, machine, say
from fluxtestbed.bench.objects import generate, with_probe
from fluxtestbed.fluxd_host import fluxctl
from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster
from fluxtestbed.procs import TestbedError

DOCS = Path(__file__).resolve().parents[3] / "docs"


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed_fluxctl(session: Session, *args: str) -> tuple[float, dict[str, Any]]:
    """Wall seconds of one ``fluxctl --url <fluxd> <args>``, and its JSON answer.

    The answer gets ``fluxctl_cpu_s``: fluxctl's own CPU seconds, which a
    loaded machine (the wall time's main noise) does not inflate.
    """
    began, cpu = time.monotonic(), _cpu_of_children()
    out = fluxctl(
        "--url", session.daemon.url, *args, kubeconfig=session.kube.kubeconfig, timeout=600
    )
    took = time.monotonic() - began
    if out.returncode not in (0, 1):
        raise TestbedError(f"fluxctl {' '.join(args)} failed ({out.returncode}): {out.stderr}")
    answer = json.loads(out.stdout) if out.stdout.startswith("{") else {}
    return took, answer | {"fluxctl_cpu_s": round(_cpu_of_children() - cpu, 3)}


def _diffs(session: Session, reps: int, *args: str) -> dict[str, Any]:
    runs = [_timed_fluxctl(session, "diff", "-o", "json", *args) for _ in range(reps)]
    last = runs[-1][1]
    counts = {k: last[k] for k in ("create", "change", "delete", "unchanged", "failed")}
    return _stats([t for t, _ in runs]) | {
        # What fluxd itself took (DiffResult.duration), without fluxctl's start-up.
        "server_s": [r["duration"] for _, r in runs],
        "fluxctl_cpu_s": [r["fluxctl_cpu_s"] for _, r in runs],
        "counts": counts,
    }


def _timed_get(url: str) -> float:
    began = time.monotonic()
    with urllib.request.urlopen(url, timeout=120) as answer:
        answer.read()
    return time.monotonic() - began


def _stats(samples: list[float]) -> dict[str, Any]:
    return {
        "median_s": round(statistics.median(samples), 3),
        "min_s": round(min(samples), 3),
        "samples_s": [round(s, 3) for s in samples],
    }


def _wait_complete(session: Session, head: str, objects: int) -> None:
    """Until a pass of ``head`` found every object applied (a first pass may time out)."""
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        done = [p for p in session.passes() if head.startswith(p.revision) and not p.failed]
        if done and done[-1].applied + done[-1].unchanged >= objects:
            say(f"all {objects} objects applied")
            return
        time.sleep(1.0)
    raise TestbedError(f"fluxd did not apply all {objects} objects of {head[:7]}")


def run_size(kube: Cluster, git: GitServer, n: int, reps: int) -> dict[str, Any]:
    api = AdminApi(Endpoint.from_kubeconfig(kube.kubeconfig))
    run = f"d{n}"
    repo = generate(run, n)
    session = Session.start(kube, git, api, run)
    try:
        synced = session.first_sync(repo)
        say(f"N={n}: {synced['applied']} applied in {synced['took_s']}s")
        _wait_complete(session, str(synced["revision"]), len(repo.all))
        change = with_probe(repo, "changed")
        git.push_files(session.repo, change, "one change")
        case: dict[str, Any] = {"n": n, "objects": len(repo.all)}
        case["load_avg_1m"] = round(os.getloadavg()[0], 1)
        version = [_timed_fluxctl(session, "version") for _ in range(reps)]
        # fluxctl's own start-up, as a baseline.
        case["fluxctl_version"] = _stats([t for t, _ in version]) | {
            "fluxctl_cpu_s": [r["fluxctl_cpu_s"] for _, r in version]
        }
        case["diff_head"] = _diffs(session, reps)
        with tempfile.TemporaryDirectory() as scratch:
            for path, text in {**repo.files(), **change}.items():
                (Path(scratch) / path).parent.mkdir(parents=True, exist_ok=True)
                (Path(scratch) / path).write_text(text)
            case["diff_from_dir"] = _diffs(session, reps, "--from-dir", scratch)
        root = session.daemon.url.removesuffix("/api/flux")
        case["page"] = _stats([_timed_get(root + "/") for _ in range(reps)])
        case["status_json"] = _stats(
            [_timed_get(root + "/api/flux/v11/status") for _ in range(reps)]
        )
        say(f"N={n}: {json.dumps(case)}")
        return case
    finally:
        session.stop()
        api.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fluxtestbed.bench.diff", description=__doc__)
    parser.add_argument("--sizes", default="100,1000,5000", help="comma list of N")
    parser.add_argument("--reps", type=int, default=3, help="timings per measure")
    parser.add_argument("--out", type=Path, default=DOCS / "benchmarks-diff.json")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"meta": machine(), "cases": []}
    with _git_server() as git:
        for n in (int(x) for x in args.sizes.split(",")):
            with _cluster(n, "the diff measures") as kube:
                results["cases"].append(run_size(kube, git, n, args.reps))
                args.out.write_text(json.dumps(results, indent=2) + "\n")  # kept as it goes
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    say(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
