"""Flags of the deletion guard and of retries, kept apart from ``fluxd.flags``.

They fill fields of ``SyncSettings``; ``fluxd.flags`` adds them to the sync
group and merges what ``sync_fields`` returns.
"""

from __future__ import annotations

import argparse
from typing import Any

from fluxd.durations import parse_duration


def _percentage(text: str) -> float:
    """``50%`` or ``50`` -> 0.5; more than 0 and at most 100."""
    raw = text.strip().removesuffix("%").strip()
    try:
        value = float(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"expected a percentage such as 50%, got {text!r}"
        ) from exc
    if not 0 < value <= 100:
        raise argparse.ArgumentTypeError(
            f"expected a percentage above 0 and at most 100, got {text!r}"
        )
    return value / 100


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from exc
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of at least 0, got {value}")
    return value


def _delay(text: str) -> float:
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1s, got {text!r}")
    return value


def add_safety_flags(group: argparse._ActionsContainer) -> None:
    """The guard's and the retries' flags, in the sync group."""
    group.add_argument(
        "--sync-garbage-collection-max-share",
        type=_percentage,
        default=None,
        help="hold garbage collection that would delete more than this share of what fluxd "
        "applied (default 50%%; 100%% turns the share rule off)",
    )
    group.add_argument(
        "--sync-garbage-collection-guard-min",
        type=_count,
        default=None,
        help="the share rule applies only from this many deletions on (default 10)",
    )
    group.add_argument(
        "--sync-retry-max-delay",
        type=_delay,
        default=None,
        help="longest wait between retries of a pass that failed for a passing reason "
        "(default 30s)",
    )


def sync_fields(ns: argparse.Namespace) -> dict[str, Any]:
    """The ``SyncSettings`` fields given on the command line (the rest keep defaults)."""
    given = {
        "gc_max_share": ns.sync_garbage_collection_max_share,
        "gc_guard_min_count": ns.sync_garbage_collection_guard_min,
        "retry_max_delay": ns.sync_retry_max_delay,
    }
    return {name: value for name, value in given.items() if value is not None}
