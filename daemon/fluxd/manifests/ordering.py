"""In what order objects are applied, and deleted.

Flux v1's ranks, with two changes: CustomResourceDefinitions join Namespaces
in the first stage (custom resources in later stages need them Established),
and a few kinds Flux v1 did not know are placed where their dependencies
put them. Anything not listed is assumed not to be depended upon and goes
last. Deletion runs in the reverse order, so that nothing is orphaned
half-way (workloads go before the ConfigMaps they mount).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby

from fluxd.manifests.resources import Resource
from fluxids import ObjectRef

_RANKS: dict[str, int] = {
    # What everything else lives in or is defined by.
    "namespace": 0,
    "customresourcedefinition": 0,
    # Depend on nothing but a namespace.
    "serviceaccount": 1,
    "clusterrole": 1,
    "role": 1,
    "persistentvolume": 1,
    "service": 1,
    "storageclass": 1,
    "priorityclass": 1,
    "ingressclass": 1,
    "runtimeclass": 1,
    # Refer to something above, not to each other.
    "resourcequota": 2,
    "limitrange": 2,
    "secret": 2,
    "configmap": 2,
    "rolebinding": 2,
    "clusterrolebinding": 2,
    "persistentvolumeclaim": 2,
    "ingress": 2,
    "networkpolicy": 2,
    "poddisruptionbudget": 2,
    # Workloads, which mount, run as and expose what is above.
    "daemonset": 3,
    "deployment": 3,
    "replicationcontroller": 3,
    "replicaset": 3,
    "job": 3,
    "cronjob": 3,
    "statefulset": 3,
    "pod": 3,
}
LAST_RANK = 4


def rank_of(kind: str) -> int:
    """Apply stage of ``kind`` (case-insensitive), 0 first."""
    return _RANKS.get(kind.lower(), LAST_RANK)


def _apply_key(resource: Resource) -> tuple[int, str, str]:
    # Rank, then name as Flux v1 did; the id breaks ties deterministically.
    return rank_of(resource.ref.kind), resource.ref.name, resource.ref.sort_key


def in_apply_order(resources: Iterable[Resource]) -> list[Resource]:
    """``resources`` sorted for applying."""
    return sorted(resources, key=_apply_key)


def apply_stages(resources: Iterable[Resource]) -> list[list[Resource]]:
    """``resources`` grouped by rank; each stage may be applied concurrently."""
    ordered = in_apply_order(resources)
    return [list(stage) for _, stage in groupby(ordered, key=lambda r: rank_of(r.ref.kind))]


def in_gc_order(refs: Iterable[ObjectRef]) -> list[ObjectRef]:
    """``refs`` sorted for deleting: the last stage first."""
    return sorted(refs, key=lambda r: (-rank_of(r.kind), r.name, r.sort_key))
