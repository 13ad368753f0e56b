"""The two update specs that change git, read from Flux v1's wire JSON.

``POST /v9/update-manifests`` carries ``{"type", "cause", "spec"}``; for
``image`` the spec is a ReleaseImageSpec, for ``policy`` a map of workload
id to ``{"add": {...}, "remove": {...}}``. Both are checked here, so the
job only ever sees well-formed values, and echoed back in the job status
in the shape Flux v1 gave them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from fluxd.errors import UserError
from fluxd.writeback.imagerefs import ImageRef
from fluxids import ObjectRef, parse_workload_id

__all__ = [
    "ALL_LATEST",
    "ALL_WORKLOADS",
    "Cause",
    "PolicyChange",
    "ReleaseSpec",
    "parse_policy_updates",
    "parse_release",
]

ALL_WORKLOADS = "<all>"
ALL_LATEST = "<all latest>"

ReleaseKind = Literal["plan", "execute"]


@dataclass(frozen=True, slots=True)
class Cause:
    """Who asked, and their message (both may be empty)."""

    message: str = ""
    user: str = ""


@dataclass(frozen=True, slots=True)
class ReleaseSpec:
    #: Workload ids, or ``(ALL_WORKLOADS,)``.
    workloads: tuple[str, ...]
    #: ``ALL_LATEST`` or an image ref with a tag.
    image: str
    kind: ReleaseKind = "execute"
    excludes: tuple[ObjectRef, ...] = ()
    force: bool = False

    @property
    def all_workloads(self) -> bool:
        return ALL_WORKLOADS in self.workloads

    def wire(self) -> dict[str, Any]:
        """As Flux v1 serialised a ReleaseImageSpec (a nil list is null)."""
        return {
            "ServiceSpecs": list(self.workloads),
            "ImageSpec": self.image,
            "Kind": self.kind,
            "Excludes": [str(e) for e in self.excludes] or None,
            "Force": self.force,
        }


@dataclass(frozen=True, slots=True)
class PolicyChange:
    add: Mapping[str, str] = field(default_factory=dict)
    remove: Mapping[str, str] = field(default_factory=dict)
    #: Which of "add" and "remove" were absent or null (echoed as null, as Go did).
    absent: frozenset[str] = frozenset()

    def wire(self) -> dict[str, Any]:
        return {
            name: None if name in self.absent else dict(value)
            for name, value in (("add", self.add), ("remove", self.remove))
        }


def parse_release(spec: object) -> ReleaseSpec:
    """A ReleaseImageSpec; ``UserError`` naming the field at fault."""
    if not isinstance(spec, dict):
        raise UserError("body field 'spec' must be an object for type 'image'")
    workloads = tuple(_workload_spec(s) for s in _strings(spec, "ServiceSpecs"))
    if not workloads:
        raise UserError(
            "body field 'spec.ServiceSpecs' is empty",
            help="Name workloads as <namespace>:<kind>/<name>, or give '<all>'.",
        )
    image = spec.get("ImageSpec")
    if not isinstance(image, str) or not image:
        raise UserError("body field 'spec.ImageSpec' must be an image ref or '<all latest>'")
    if image != ALL_LATEST:
        ref = ImageRef.parse_or_raise(image, what="spec.ImageSpec")
        if not ref.tag:
            raise UserError(
                f"body field 'spec.ImageSpec': invalid image ID {image[:200]!r}: blank tag "
                "(if you want latest, explicitly state the tag :latest)"
            )
    kind = spec.get("Kind", "execute")
    if kind not in ("plan", "execute"):
        raise UserError("invalid release kind", help="'spec.Kind' is 'plan' or 'execute'.")
    force = spec.get("Force", False)
    if not isinstance(force, bool):
        raise UserError("body field 'spec.Force' must be true or false")
    excludes = tuple(_workload_id(s, "spec.Excludes") for s in _strings(spec, "Excludes"))
    return ReleaseSpec(workloads, image, kind, excludes, force)


def parse_policy_updates(spec: object) -> dict[ObjectRef, PolicyChange]:
    """PolicyUpdates; a policy set may be a map or (older clients) a list of names."""
    # An empty map is a job with nothing to do, as Flux v1 took it.
    if not isinstance(spec, dict):
        raise UserError("body field 'spec' must be an object of workload ids")
    updates: dict[ObjectRef, PolicyChange] = {}
    for key, change in spec.items():
        workload = _workload_id(key, "spec")
        if not isinstance(change, dict):
            raise UserError(f"body field 'spec.{key[:100]}' must be an object")
        updates[workload] = PolicyChange(
            add=_policy_set(change.get("add"), f"{key}.add"),
            remove=_policy_set(change.get("remove"), f"{key}.remove"),
            absent=frozenset(k for k in ("add", "remove") if change.get(k) is None),
        )
    return updates


def _policy_set(value: object, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return {name: "true" for name in value}
    if isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return dict(value)
    raise UserError(f"body field 'spec.{where[:120]}' must map policy names to strings")


def _strings(spec: Mapping[str, object], key: str) -> list[str]:
    value = spec.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UserError(f"body field 'spec.{key}' must be a list of strings")
    return list(value)


def _workload_spec(text: str) -> str:
    return text if text == ALL_WORKLOADS else str(_workload_id(text, "spec.ServiceSpecs"))


def _workload_id(text: str, where: str) -> ObjectRef:
    try:
        return parse_workload_id(text)
    except ValueError as exc:
        raise UserError(
            f"body field {where!r}: {exc}",
            help="Write workload IDs as <namespace>:<kind>/<name>, e.g. default:deployment/web.",
        ) from exc
