"""Whether our edit of a file and someone else's meanwhile touch the same lines.

When the branch moves during a job, the edit is made again on the new head.
That is safe when upstream changed other files, or other lines of the same
file; when both changed the same lines (or adjacent ones, as git's merge
would also refuse), redoing the edit would silently overwrite theirs.
"""

from __future__ import annotations

import difflib

__all__ = ["overlapping_change"]


def _changed_ranges(before: list[str], after: list[str]) -> list[tuple[int, int]]:
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    return [(i1, i2) for tag, i1, i2, _, _ in matcher.get_opcodes() if tag != "equal"]


def overlapping_change(base: str, ours: str, theirs: str) -> bool:
    """True when ``ours`` and ``theirs`` (both edits of ``base``) change the same lines."""
    if theirs == base:
        return False
    lines = base.splitlines(keepends=True)
    mine = _changed_ranges(lines, ours.splitlines(keepends=True))
    other = _changed_ranges(lines, theirs.splitlines(keepends=True))
    # Ranges are half-open; an insertion is (i, i). Touching counts as overlap.
    return any(a1 <= b2 and b1 <= a2 for a1, a2 in mine for b1, b2 in other)
