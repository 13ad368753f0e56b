"""``make bench`` in small: the harness runs end to end for every tool and records it all.

N = 50, every tool once (fluxd, kubectl, Flux v1's fluxd, Flux v2's
kustomize-controller), two pushes of ours and one of each peer, one ceiling repetition per
concurrency (``--smoke``), into a temporary directory. Nothing about speed
is asserted: the point is that the harness works and what it writes is
complete and self-consistent.
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
TOOLS = ("fluxd", "kubectl", "fluxv1", "fluxv2")


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
        timeout=600,
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


def test_every_tool_ran(results: tuple[dict[str, Any], Path]) -> None:
    c = case(results)
    assert c.get("errors", {}) == {}
    assert set(c["tools"]) == set(TOOLS)
    assert sum(c["kinds"].values()) == N
    data, out = results
    assert data["meta"]["command"].endswith("--smoke --out " + str(out))
    markdown = (out / "benchmarks.md").read_text()
    assert "## 1. All tools side by side" in markdown and "## 2. The honest ceiling" in markdown
    for name in ("fluxd (ours)", "Flux v1 fluxd 1.25.4", "Flux v2 kustomize-controller"):
        assert name in markdown


def test_first_sync_applies_every_object_with_each_tool(
    results: tuple[dict[str, Any], Path],
) -> None:
    c = case(results)
    total = c["objects_with_namespaces"]
    assert total == N + c["namespaces"]
    for tool, row in c["tools"].items():
        first = row["first_sync"]
        assert first["present"] == first["expected"] == total, tool
        assert first["wall_s"] > 0 and first["cpu_s"]["tool"] >= 0, tool
        # Every object was written by the tool's own user, as the audit log saw it.
        assert first["writes"]["total"] >= total, (tool, first["writes"])
        assert row["peak_mib"] > 0, tool


def test_noop_pass_is_counted_from_the_audit_log(results: tuple[dict[str, Any], Path]) -> None:
    c = case(results)
    ours = c["tools"]["fluxd"]["noop"]
    assert ours["applied"] == ours["drifted"] == 0
    assert ours["unchanged"] == c["objects_with_namespaces"]
    for tool, row in c["tools"].items():
        writes = row["noop"]["writes"]
        counted = sum(writes["by_verb_resource"].values())
        assert writes["total"] + writes["dry_runs"] == counted, tool
        assert row["noop"]["took_s"] >= 0, tool
    # Flux v2 diffs every object with a dry run first; those store nothing.
    fluxv2 = c["tools"]["fluxv2"]["noop"]["writes"]
    assert (
        fluxv2["by_verb_resource"].get("patch configmaps (dry run)", 0) >= c["kinds"]["ConfigMap"]
    )
    assert "patch configmaps" not in fluxv2["by_verb_resource"]
    # kubectl's second apply sends every object again, and the log sees each PATCH.
    kubectl = c["tools"]["kubectl"]["noop"]["writes"]
    assert kubectl["by_verb_resource"].get("patch configmaps", 0) == c["kinds"]["ConfigMap"]


def test_push_to_live_with_each_trigger(results: tuple[dict[str, Any], Path]) -> None:
    c = case(results)
    meta = results[0]["meta"]
    wanted = {
        "fluxd": meta["pushes"],
        "fluxv1": meta["fluxv1_pushes"],
        "fluxv2": meta["fluxv2_pushes"],
    }
    for tool, count in wanted.items():
        live = c["tools"][tool]["push_live"]
        assert len(live["samples"]) == count >= 1, tool
        assert 0 < live["samples"][0] <= live["p50_s"] <= live["p95_s"], tool
    assert c["tools"]["kubectl"]["push_live"] is None


def test_ceiling_replays_fluxds_requests_at_every_concurrency(
    results: tuple[dict[str, Any], Path],
) -> None:
    c = case(results)
    ceiling = c["ceiling"]
    assert ceiling["recorded_requests"] == ceiling["requests"] == c["objects_with_namespaces"]
    assert [r["concurrency"] for r in ceiling["sweep"]] == [1, 2, 4, 8, 16, 32, 64]
    assert ceiling["best_per_second"] == max(r["median_per_second"] for r in ceiling["sweep"])
    verdict = ceiling["verdict"]
    assert verdict["valid"] == (verdict["fraction"] is not None)


def test_fluxctl_ours_and_go(results: tuple[dict[str, Any], Path]) -> None:
    f = case(results)["tools"]["fluxd"]["fluxctl"]
    for key in ("ours sync", "ours list-workloads -a", "go sync", "go list-workloads -a"):
        assert f[key] and all(t > 0 for t in f[key]), key
    assert f["rows"] >= case(results)["kinds"]["Deployment"]
