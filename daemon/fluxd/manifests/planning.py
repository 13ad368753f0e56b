"""What one sync has to send, decided from checksums alone.

Flux v1 re-applied every object on every sync. Here an object whose checksum
equals the one recorded at its last successful apply is not sent again; the
sync engine adds back objects it finds drifted in the cluster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fluxd.manifests.ordering import in_apply_order, in_gc_order
from fluxd.manifests.resources import Resource
from fluxids import ObjectRef


@dataclass(frozen=True, slots=True)
class Plan:
    to_apply: tuple[Resource, ...]  # new, or changed in git; in apply order
    unchanged: tuple[Resource, ...]  # same checksum as last applied
    ignored: tuple[Resource, ...]  # annotated ignore: kept, but never sent
    gone: tuple[ObjectRef, ...]  # applied before, no longer in git; in GC order


def plan(desired: Sequence[Resource], last_applied: Mapping[str, str]) -> Plan:
    """Split ``desired`` by ``last_applied`` (resource id string -> checksum).

    Ignored objects are neither applied nor ``gone``: like Flux v1, an object
    marked ignore in git is left alone in the cluster. ``gone`` is only safe
    to delete when the ``LoadResult`` behind ``desired`` was complete.
    Raises ``ValueError`` for a key of ``last_applied`` that is not an id.
    """
    to_apply: list[Resource] = []
    unchanged: list[Resource] = []
    ignored: list[Resource] = []
    for resource in desired:
        if resource.ignore:
            ignored.append(resource)
        elif last_applied.get(str(resource.ref)) == resource.checksum:
            unchanged.append(resource)
        else:
            to_apply.append(resource)
    present = {str(resource.ref) for resource in desired}
    gone = [ObjectRef.parse(key) for key in last_applied if key not in present]
    return Plan(
        to_apply=tuple(in_apply_order(to_apply)),
        unchanged=tuple(unchanged),
        ignored=tuple(ignored),
        gone=tuple(in_gc_order(gone)),
    )
