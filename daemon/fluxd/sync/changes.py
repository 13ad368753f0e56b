"""What a sync would change, as data: one entry per object, and the totals.

The unified diff text is made here, on the daemon's side, so every client
(fluxctl, a script reading JSON) sees the same lines.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fluxd.cluster import Preview
from fluxd.manifests.yamlstream import dump_documents


class Action(StrEnum):
    CREATE = "create"
    CHANGE = "change"
    DELETE = "delete"
    UNCHANGED = "unchanged"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ObjectChange:
    """One object: what would happen to it, and the unified diff of its fields."""

    id: str
    source: str
    action: Action
    diff: str = ""
    error: str = ""


@dataclass(frozen=True, slots=True)
class DiffReport:
    """Every object a sync of ``revision`` would touch; unchanged ones only counted."""

    revision: str
    changes: tuple[ObjectChange, ...] = ()
    #: Objects whose checksum and live state say they need nothing, plus
    #: those the dry run found equal.
    unchanged: int = 0
    #: Why some deletions are not shown (GC off, files that failed to load).
    notes: tuple[str, ...] = ()
    garbage_collection: bool = False
    duration: float = 0.0

    def count(self, action: Action) -> int:
        if action is Action.UNCHANGED:
            return self.unchanged + sum(c.action is action for c in self.changes)
        return sum(c.action is action for c in self.changes)


def change_of(preview: Preview) -> ObjectChange:
    """Classify one preview and render its diff (``a/<id>`` before, ``b/<id>`` after)."""
    if preview.error:
        return ObjectChange(preview.id, preview.source, Action.FAILED, error=preview.error)
    if preview.before is None and preview.after is None:
        return ObjectChange(preview.id, preview.source, Action.UNCHANGED)
    if preview.before is None:
        action = Action.CREATE
    elif preview.after is None:
        action = Action.DELETE
    elif preview.before == preview.after:
        return ObjectChange(preview.id, preview.source, Action.UNCHANGED)
    else:
        action = Action.CHANGE
    text = unified_diff(preview.id, preview.before, preview.after)
    return ObjectChange(preview.id, preview.source, action, diff=text)


def unified_diff(name: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    old = _lines(before)
    new = _lines(after)
    lines = difflib.unified_diff(
        old,
        new,
        fromfile=f"a/{name}" if before is not None else "/dev/null",
        tofile=f"b/{name}" if after is not None else "/dev/null",
        n=3,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _lines(obj: dict[str, Any] | None) -> list[str]:
    if obj is None:
        return []
    return dump_documents([obj]).splitlines(keepends=True)
