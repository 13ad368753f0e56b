"""How far a workload's rollout got, from its ``status``, as Flux v1 judged it.

Pure functions over the JSON the API server returns, so they are tested
without a cluster. The status is:

* ``updating`` while the controller has not seen the latest spec yet
  (``status.observedGeneration < metadata.generation``), or while replicas
  of the new template are still missing, not ready, or old ones remain;
* ``error`` when the controller says the rollout cannot finish (a
  Deployment's ``ProgressDeadlineExceeded``, a ``ReplicaFailure``);
* ``ready`` when every desired replica runs the new template and is ready;
* ``unknown`` for kinds we do not know how to read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class WorkloadStatus(StrEnum):
    READY = "ready"
    UPDATING = "updating"
    ERROR = "error"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Rollout:
    """Replica counts of a rollout; ``outdated`` run an older pod template."""

    desired: int = 0
    updated: int = 0
    ready: int = 0
    available: int = 0
    outdated: int = 0
    messages: tuple[str, ...] = ()


Obj = Mapping[str, Any]


def rollout_status(kind: str, obj: Obj) -> tuple[WorkloadStatus, Rollout]:
    """The status and rollout of a Deployment, DaemonSet, StatefulSet or CronJob."""
    reader = _READERS.get(kind)
    if reader is None:
        return WorkloadStatus.UNKNOWN, Rollout()
    rollout = reader(obj)
    return _judge(kind, obj, rollout), rollout


def _judge(kind: str, obj: Obj, rollout: Rollout) -> WorkloadStatus:
    if _errors(obj):
        return WorkloadStatus.ERROR
    if kind == "CronJob":
        return WorkloadStatus.READY
    if not _observed(obj):
        return WorkloadStatus.UPDATING
    done = (
        rollout.updated >= rollout.desired
        and rollout.ready >= rollout.desired
        and rollout.outdated == 0
    )
    return WorkloadStatus.READY if done else WorkloadStatus.UPDATING


def _observed(obj: Obj) -> bool:
    generation = _int(obj.get("metadata"), "generation")
    return _int(obj.get("status"), "observedGeneration") >= generation


def _errors(obj: Obj) -> list[str]:
    found = []
    for cond in _conditions(obj):
        stuck = (
            cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded"
        )
        failed = cond.get("type") == "ReplicaFailure" and cond.get("status") == "True"
        if stuck or failed:
            found.append(str(cond.get("message") or cond.get("reason") or cond.get("type")))
    return found


def _conditions(obj: Obj) -> list[Mapping[str, Any]]:
    return list((obj.get("status") or {}).get("conditions") or ())


def _int(section: object, key: str, default: int = 0) -> int:
    if not isinstance(section, Mapping):
        return default
    value = section.get(key)
    return int(value) if value is not None else default


def _deployment(obj: Obj) -> Rollout:
    status = obj.get("status") or {}
    desired = _int(obj.get("spec"), "replicas", 1)
    updated = _int(status, "updatedReplicas")
    return Rollout(
        desired=desired,
        updated=updated,
        ready=_int(status, "readyReplicas"),
        available=_int(status, "availableReplicas"),
        outdated=max(_int(status, "replicas") - updated, 0),
        messages=tuple(_errors(obj)),
    )


def _statefulset(obj: Obj) -> Rollout:
    status = obj.get("status") or {}
    updated = _int(status, "updatedReplicas")
    # Once a rollout finishes the controller may report the pods as
    # "current" rather than "updated"; both mean "runs the latest template".
    if status.get("currentRevision") and status.get("currentRevision") == status.get(
        "updateRevision"
    ):
        updated = max(updated, _int(status, "currentReplicas"))
    return Rollout(
        desired=_int(obj.get("spec"), "replicas", 1),
        updated=updated,
        ready=_int(status, "readyReplicas"),
        available=_int(status, "availableReplicas"),
        outdated=max(_int(status, "replicas") - updated, 0),
        messages=tuple(_errors(obj)),
    )


def _daemonset(obj: Obj) -> Rollout:
    status = obj.get("status") or {}
    updated = _int(status, "updatedNumberScheduled")
    messages = list(_errors(obj))
    misscheduled = _int(status, "numberMisscheduled")
    if misscheduled:
        messages.append(f"{misscheduled} pods run on nodes they should not")
    return Rollout(
        desired=_int(status, "desiredNumberScheduled"),
        updated=updated,
        ready=_int(status, "numberReady"),
        available=_int(status, "numberAvailable"),
        outdated=max(_int(status, "currentNumberScheduled") - updated, 0),
        messages=tuple(messages),
    )


def _cronjob(obj: Obj) -> Rollout:
    # A CronJob has no replicas to roll out: its template is used by the
    # next Job, so it is ready as soon as the API server holds it.
    suspended = bool((obj.get("spec") or {}).get("suspend"))
    return Rollout(messages=("suspended",) if suspended else ())


_READERS = {
    "Deployment": _deployment,
    "StatefulSet": _statefulset,
    "DaemonSet": _daemonset,
    "CronJob": _cronjob,
}
