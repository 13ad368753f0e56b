"""Policy updates as annotation edits, and their commit message (Flux v1's).

A policy ``p`` lives in the annotation ``fluxcd.io/p``; when the manifest
already spells it with the legacy ``flux.weave.works/`` prefix (or, for a
tag filter, ``filter.fluxcd.io/<container>``), that key is changed instead,
so a policy never ends up written twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fluxd.errors import UserError
from fluxd.manifests import Resource
from fluxd.writeback.imagerefs import pattern_is_valid
from fluxd.writeback.specs import Cause, PolicyChange
from fluxids import ObjectRef

__all__ = ["annotation_changes", "container_names", "policy_message"]

_PREFIX, _LEGACY, _FILTER = "fluxcd.io/", "flux.weave.works/", "filter.fluxcd.io/"
_TAG_ALL, _ALL_TAGS = "tag_all", "glob:*"


def annotation_changes(resource: Resource, change: PolicyChange) -> dict[str, str | None]:
    """Annotation key -> new value (None removes it) for ``change`` on ``resource``."""
    add, remove = dict(change.add), dict(change.remove)
    tag_all = add.pop(_TAG_ALL, None)
    if tag_all is not None:
        for name in container_names(resource.body):
            if tag_all == _ALL_TAGS:
                remove[f"tag.{name}"] = "true"
            else:
                add[f"tag.{name}"] = tag_all
    wanted: dict[str, str | None] = {}
    for policy, value in add.items():
        if policy.startswith("tag.") and not pattern_is_valid(value):
            raise UserError(f"invalid tag pattern: {value!r}")
        wanted[policy] = value
    for policy in remove:
        wanted[policy] = None
    present = _annotations(resource.body)
    return {_key_for(policy, present): value for policy, value in wanted.items()}


def _key_for(policy: str, present: Mapping[str, object]) -> str:
    candidates = [_PREFIX + policy, _LEGACY + policy]
    if policy.startswith("tag."):
        candidates.append(_FILTER + policy.removeprefix("tag."))
    return next((key for key in candidates if key in present), candidates[0])


def _annotations(body: Mapping[str, Any]) -> Mapping[str, object]:
    metadata = body.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    return annotations if isinstance(annotations, dict) else {}


def container_names(body: Mapping[str, Any]) -> list[str]:
    """Names of the containers (then init containers) a workload manifest declares."""
    spec = body.get("spec") or {}
    if body.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    pod = ((spec.get("template") or {}).get("spec")) or {}
    names: list[str] = []
    for key in ("containers", "initContainers"):
        for container in pod.get(key) or []:
            if isinstance(container, dict) and isinstance(container.get("name"), str):
                names.append(container["name"])
    return names


_ADD_EVENTS = {"automated": "Automated", "locked": "Locked"}
_REMOVE_EVENTS = {"automated": "Deautomated", "locked": "Unlocked"}
_OTHER = "Updated policies"


def policy_message(updates: Mapping[ObjectRef, PolicyChange], cause: Cause) -> str:
    """``Locked: ns:kind/name``; several kinds of change: a summary and a list."""
    events: dict[str, list[str]] = {}
    for workload, change in updates.items():
        kinds = {_ADD_EVENTS.get(p, _OTHER) for p in change.add}
        kinds |= {_REMOVE_EVENTS.get(p, _OTHER) for p in change.remove}
        for kind in kinds:
            events.setdefault(kind, []).append(str(workload))
    # Flux v1 listed these in Go map order (random); a fixed order keeps messages reproducible.
    order = {"Automated": 0, "Deautomated": 1, "Locked": 2, "Unlocked": 3, _OTHER: 4}
    lines = [
        f"{kind}: {', '.join(sorted(ids))}"
        for kind, ids in sorted(events.items(), key=lambda item: order[item[0]])
    ]
    if cause.message:
        return f"{cause.message}\n\n" + "".join(f"- {line}\n" for line in lines)
    if len(lines) > 1:
        return "Updated workload policies\n\n" + "".join(f"- {line}\n" for line in lines)
    return "".join(f"{line}\n" for line in lines)
