"""``make bench`` in small: the harness runs end to end and records every section.

N = 50, one repetition, two pushes per mode (``--smoke``), into a temporary
directory. Nothing about speed is asserted: the point is that the harness
works and what it writes is complete and self-consistent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.cluster, pytest.mark.gitserver, pytest.mark.slow]

N = 50
SECTIONS = ("first_sync", "ceiling", "noop", "push_live", "memory", "fluxctl")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("bench")
    tests = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(tests), os.environ.get("PYTHONPATH")])),
    }
    env.pop("MAKELEVEL", None)
    done = subprocess.run(
        [sys.executable, "-m", "fluxtestbed.bench", "--smoke", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads((out / "benchmarks.json").read_text()), out


def case(results: tuple[dict[str, Any], Path]) -> dict[str, Any]:
    data, _ = results
    assert [c["n"] for c in data["cases"]] == [N]
    found: dict[str, Any] = data["cases"][0]
    return found


def test_every_section_is_there(results: tuple[dict[str, Any], Path]) -> None:
    data, out = results
    c = case(results)
    for section in SECTIONS:
        assert c[section], section
    assert sum(c["kinds"].values()) == N
    assert set(c["kinds"]) == {"ConfigMap", "Secret", "ServiceAccount", "Service", "Deployment"}
    assert data["meta"]["cores"] and data["meta"]["command"].endswith("--smoke --out " + str(out))
    assert data["targets"] and all(isinstance(t["met"], bool) for t in data["targets"])
    markdown = (out / "benchmarks.md").read_text()
    assert "## 1. First sync" in markdown and "## 6. fluxctl" in markdown


def test_first_sync_applies_every_object(results: tuple[dict[str, Any], Path]) -> None:
    c = case(results)
    total = c["objects_with_namespaces"]
    assert total == N + c["namespaces"]
    (row,) = c["first_sync"]
    fluxd, kubectl = row["fluxd"], row["kubectl"]
    assert fluxd["applied"] == fluxd["present"] == fluxd["expected"] == total
    assert fluxd["failed"] == 0
    assert kubectl["applied"] == kubectl["present"] == kubectl["expected"] == total
    for key in ("ratio_took", "ratio_wall", "fraction_of_ceiling", "fluxd_objects_per_s"):
        assert isinstance(row[key], float) and row[key] > 0, key
    assert 0 < fluxd["took_s"] <= fluxd["wall_s"] + 1.0  # the log's clock has ms steps


def test_ceiling_sweeps_every_concurrency(results: tuple[dict[str, Any], Path]) -> None:
    ceiling = case(results)["ceiling"]
    assert [r["concurrency"] for r in ceiling["sweep"]] == [1, 4, 8, 16, 32]
    for run in ceiling["sweep"]:
        assert run["errors"] == 0 and run["objects"] == N + case(results)["namespaces"]
        assert run["objects_per_s"] > 0
    runs = [*ceiling["sweep"], ceiling["async_at_best"]]
    assert ceiling["async_at_best"]["errors"] == 0
    assert ceiling["best_objects_per_s"] == max(r["objects_per_s"] for r in runs)


def test_noop_resync_applies_nothing(results: tuple[dict[str, Any], Path]) -> None:
    c = case(results)
    for noop in c["noop"]:
        assert noop["applied"] == noop["drifted"] == 0
        assert noop["unchanged"] == c["objects_with_namespaces"]
        assert noop["took_s"] >= 0 and noop["window_s"] > 0
        assert isinstance(noop["attributed"], int) and noop["attributed"] >= 0


def test_push_to_live_and_memory_and_fluxctl(results: tuple[dict[str, Any], Path]) -> None:
    c = case(results)
    for mode in ("webhook", "poll_1s"):
        summary = c["push_live"][mode]
        assert len(summary["samples"]) == c["push_live"]["pushes"] == 2
        assert 0 < summary["min_s"] <= summary["p50_s"] <= summary["p95_s"] <= summary["max_s"]
    for mem in c["memory"]:
        assert 0 < mem["rest_mib"] <= mem["peak_mib"]
    f = c["fluxctl"]
    assert f["sync_s"] and all(t > 0 for t in f["sync_s"] + f["list_workloads_s"])
    # Every Deployment of the repo, plus fluxd's own.
    assert min(f["list_workloads_rows"]) >= c["kinds"]["Deployment"]
