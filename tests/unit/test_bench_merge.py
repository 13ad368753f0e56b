"""Joining bench runs: each tool's row comes from the last run that measured it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fluxtestbed.bench.merge import merge
from fluxtestbed.bench.report import run_sources


def _run(started: str, tools: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    case = {"n": 5000, "namespaces": 50, "objects_with_namespaces": 5050, "tools": tools}
    return {
        "meta": {"command": f"bench {started}", "started": started, "finished": started + "Z",
                 "duration_s": 10.0},
        "cases": [case | ({"errors": errors} if errors else {})],
    }  # fmt: skip


def _write(tmp_path: Path, name: str, run: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(run))
    return path


def test_a_later_run_replaces_the_tools_it_measured_and_clears_their_failures(
    tmp_path: Path,
) -> None:
    first = _write(tmp_path, "a.json", _run("T1", {"fluxd": {"v": 1}, "kubectl": {"v": 1}},
                                          {"fluxv1": "timed out"}))  # fmt: skip
    second = _write(tmp_path, "b.json", _run("T2", {"fluxd": {"v": 2}, "fluxv1": {"v": 2}}, {}))
    joined = merge([first, second])
    case = joined["cases"][0]
    assert case["tools"] == {"fluxd": {"v": 2}, "kubectl": {"v": 1}, "fluxv1": {"v": 2}}
    assert case["errors"] == {}
    assert [s["tools"] for s in joined["meta"]["merged_from"]] == [
        ["fluxd", "kubectl"],
        ["fluxd", "fluxv1"],
    ]
    assert joined["meta"]["duration_s"] == 20.0


def test_a_failure_stays_when_no_run_measured_that_tool(tmp_path: Path) -> None:
    first = _write(tmp_path, "a.json", _run("T1", {"fluxd": {"v": 1}}, {}))
    second = _write(tmp_path, "b.json", _run("T2", {}, {"fluxv2": "rate limiter"}))
    case = merge([first, second])["cases"][0]
    assert case["errors"] == {"fluxv2": "rate limiter"}
    assert case["tools"] == {"fluxd": {"v": 1}}


def test_the_joined_page_names_the_commit_each_run_measured(tmp_path: Path) -> None:
    old, new = _run("T1", {"fluxd": {"v": 1}}, {}), _run("T2", {"fluxd": {"v": 2}}, {})
    old["meta"]["commit"], new["meta"]["commit"] = "1111111", "2222222"
    joined = merge([_write(tmp_path, "a.json", old), _write(tmp_path, "b.json", new)])
    lines = run_sources(joined["meta"])
    assert [line for line in lines if "commit" in line] == [
        "- `bench T1`, T1 to T1Z, commit 1111111: fluxd (a.json)",
        "- `bench T2`, T2 to T2Z, commit 2222222: fluxd (b.json)",
    ]
