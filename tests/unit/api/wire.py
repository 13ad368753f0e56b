"""Helpers to compare our JSON with recorded Flux v1 JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "fluxv1"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def go_empty(value: Any) -> bool:
    """What Go's encoder writes for a zero value (or leaves out under omitempty)."""
    if isinstance(value, dict):
        return all(go_empty(v) for v in value.values())
    return value in (None, "", 0, False, [])


def go_differences(ours: Any, theirs: Any, where: str = "$") -> list[str]:
    """Field-by-field differences that a Go client would notice when decoding.

    A field missing on one side equals a zero value on the other (that is all
    ``omitempty`` does); everything else must match in name, type and value.
    """
    if go_empty(ours) and go_empty(theirs):
        return []
    if isinstance(ours, dict) and isinstance(theirs, dict):
        problems: list[str] = []
        for key in sorted(set(ours) | set(theirs)):
            problems += go_differences(ours.get(key), theirs.get(key), f"{where}.{key}")
        return problems
    if isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            return [f"{where}: {len(ours)} items, Flux v1 has {len(theirs)}"]
        return [
            p
            for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
            for p in go_differences(a, b, f"{where}[{i}]")
        ]
    if type(ours) is not type(theirs) or ours != theirs:
        return [f"{where}: ours {ours!r}, Flux v1 {theirs!r}"]
    return []
