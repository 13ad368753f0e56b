"""One report from several runs of the bench, each tool's row from the run that measured it.

A run of every tool at N = 5,000 takes about an hour on 2 cores; when one
tool has to be measured again (a peer that failed, a changed harness), its
row comes from a later run rather than from a second hour of the others.
Every run starts its own control plane, so each row carries its own load
and the page lists the runs it joins.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any


def merge(paths: list[Path]) -> dict[str, Any]:
    """The runs of ``paths`` joined, later ones replacing earlier ones tool by tool."""
    runs: list[dict[str, Any]] = [json.loads(p.read_text()) for p in paths]
    merged: dict[str, Any] = copy.deepcopy(runs[0])
    merged["meta"]["merged_from"] = [_source(p, run) for p, run in zip(paths, runs, strict=True)]
    merged["meta"]["started"] = min(r["meta"]["started"] for r in runs)
    merged["meta"]["finished"] = max(r["meta"]["finished"] for r in runs)
    merged["meta"]["duration_s"] = sum(r["meta"]["duration_s"] for r in runs)
    for run in runs[1:]:
        for case in run["cases"]:
            _join(_case(merged, case["n"]), case)
    return merged


def _source(path: Path, run: dict[str, Any]) -> dict[str, Any]:
    tools = sorted({t for case in run["cases"] for t in case.get("tools", {})})
    return {
        "file": path.name,
        "command": run["meta"].get("command", ""),
        "commit": run["meta"].get("commit", ""),
        "started": run["meta"]["started"],
        "finished": run["meta"]["finished"],
        "tools": tools + (["ceiling"] if any("ceiling" in c for c in run["cases"]) else []),
    }


def _case(merged: dict[str, Any], n: int) -> dict[str, Any]:
    for case in merged["cases"]:
        if case["n"] == n:
            found: dict[str, Any] = case
            return found
    merged["cases"].append({"n": n, "tools": {}})
    added: dict[str, Any] = merged["cases"][-1]
    return added


def _join(into: dict[str, Any], case: dict[str, Any]) -> None:
    errors = into.setdefault("errors", {})
    for tool, row in case.get("tools", {}).items():
        into["tools"][tool] = row
        errors.pop(tool, None)
    for tool, error in case.get("errors", {}).items():
        if tool not in into["tools"]:
            errors[tool] = error
    if "ceiling" in case:
        into["ceiling"] = case["ceiling"]
        errors.pop("ceiling", None)
        if "fluxd_per_second" in case:
            into["fluxd_per_second"] = case["fluxd_per_second"]
    for key in ("namespaces", "objects_with_namespaces", "kinds"):
        into.setdefault(key, case.get(key))
