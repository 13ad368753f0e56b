"""What a job did to each workload, in Flux v1's words (``pkg/update``)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fluxids import ObjectRef

__all__ = [
    "ContainerUpdate",
    "Reason",
    "Results",
    "Status",
    "WorkloadResult",
    "failure_summary",
    "results_wire",
]


class Status(StrEnum):
    SUCCESS = "success"
    FAILED = "failed"
    SKIPPED = "skipped"
    IGNORED = "ignored"
    UNKNOWN = "unknown"


class Reason:
    """Why a workload was skipped or ignored: the texts fluxctl prints."""

    LOCKED = "locked"
    IGNORE = "ignore"
    NOT_INCLUDED = "not included"
    EXCLUDED = "excluded"
    DIFFERENT_IMAGE = "a different image"
    NOT_IN_CLUSTER = "not accessible in cluster"
    NOT_IN_REPO = "not found in repository"
    IMAGE_NOT_FOUND = "cannot find one or more images"
    UP_TO_DATE = "image(s) up to date"
    DOES_NOT_USE_IMAGE = "does not use image(s)"


@dataclass(frozen=True, slots=True)
class ContainerUpdate:
    container: str
    current: str
    target: str


@dataclass(frozen=True, slots=True)
class WorkloadResult:
    status: Status
    error: str = ""
    per_container: tuple[ContainerUpdate, ...] = ()


Results = dict[ObjectRef, WorkloadResult]


def results_wire(results: Results) -> dict[str, Any]:
    """``update.Result`` as JSON: ``Error`` omitted when empty, ``PerContainer`` null when none."""
    wire: dict[str, Any] = {}
    for workload, result in sorted(results.items(), key=lambda item: str(item[0])):
        entry: dict[str, Any] = {"Status": result.status.value}
        if result.error:
            entry["Error"] = result.error
        entry["PerContainer"] = [
            {"Container": c.container, "Current": c.current, "Target": c.target}
            for c in result.per_container
        ] or None
        wire[str(workload)] = entry
    return wire


def failure_summary(results: Results) -> str:
    """Flux v1's one-line summary of failed workloads ("" when none failed)."""
    failed = sorted((str(w), r.error) for w, r in results.items() if r.status is Status.FAILED)
    if not failed:
        return ""
    if len(failed) == 1:
        return f"{failed[0][0]} failed: {failed[0][1]}"
    return "Multiple workloads failed: " + ", ".join(w for w, _ in failed)
