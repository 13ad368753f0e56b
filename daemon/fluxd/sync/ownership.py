"""Refusing, object by object, to apply over what another install owns.

The rule (labels in ``fluxd.cluster.ownership``):

* labelled ``fluxd.io/instance`` with another install's name: refused;
* no instance label but a gc mark: an object of a fluxd from before the
  label (or of Flux v1). Adopted when this install's inventory lists it or
  the mark is the one this install computes (same repo, branch and paths);
  refused otherwise, since it belongs to another repo's sync;
* anything else (no marks, or this install's label): applied as always.

``--k8s-instance-takeover`` applies over foreign objects instead, with a
warning each; the next apply moves the label to this install.

Only objects this install did not apply before, or that drifted away from
its label, are checked: those in its inventory were checked when first applied.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from fluxd.cluster import GC_MARK_LABEL, LiveMeta
from fluxd.errors import ClusterError, FluxError
from fluxd.manifests import Resource, gc_mark
from fluxd.sync.ports import ClusterPort
from fluxd.sync.results import ResourceFailure
from fluxids import ObjectRef
from fluxids.marks import INSTANCE_LABEL

log = logging.getLogger(__name__)

TAKEOVER_HELP = (
    "Remove it from this repo (or from the other install's), or start this fluxd with "
    "--k8s-instance-takeover to take it over."
)


@dataclass(frozen=True, slots=True)
class Owners:
    """Who this install is, and what it already owns."""

    instance: str
    set_name: str
    inventory: Collection[str]
    takeover: bool = False


def keep_own(
    cluster: ClusterPort,
    to_send: list[Resource],
    owners: Owners,
    known: Collection[str],
    failures: list[ResourceFailure],
) -> list[Resource]:
    """``to_send`` less objects of other installs, each added to ``failures``.

    Objects in ``known`` (applied before, still carrying this install's
    label) need no check.
    """
    check = [r for r in to_send if str(r.ref) not in known]
    if not check:
        return to_send
    _, refused = without_foreign(cluster, check, owners)
    failures.extend(refused)
    refused_ids = {f.id for f in refused}
    return [r for r in to_send if str(r.ref) not in refused_ids]


def without_foreign(
    cluster: ClusterPort, resources: Sequence[Resource], owners: Owners
) -> tuple[list[Resource], list[ResourceFailure]]:
    """``resources`` less those owned by another install, and a failure for each of those.

    Checked kind by kind: a kind fluxd may not list (RBAC) fails only its own
    objects, never the rest of the pass.
    """
    kept: list[Resource] = []
    refused: list[ResourceFailure] = []
    for group in _by_kind(resources):
        try:
            foreign = cluster.foreign_objects(r.ref for r in group)
        except FluxError as exc:
            refused.extend(_unchecked(group, exc))
            continue
        for resource in group:
            why = _refusal(resource, foreign, owners)
            if why and owners.takeover:
                log.warning("event=takeover id=%s was=%r", resource.ref, why)
                why = ""
            if why:
                refused.append(ResourceFailure(str(resource.ref), resource.source, why))
            else:
                kept.append(resource)
    return kept, refused


def _unchecked(group: Sequence[Resource], exc: FluxError) -> list[ResourceFailure]:
    # Applying without knowing the owners could take another install's
    # objects. A refusal (RBAC) stays until someone changes it; anything else
    # (a kind not yet served, the API server away) may pass by itself.
    transient = exc.transient if isinstance(exc, ClusterError) else True
    reason = f"not applied: who owns it could not be checked: {exc}"
    return [ResourceFailure(str(r.ref), r.source, reason, transient) for r in group]


def _by_kind(resources: Sequence[Resource]) -> list[list[Resource]]:
    groups: dict[tuple[str, str], list[Resource]] = {}
    for resource in resources:
        groups.setdefault((resource.ref.api_version, resource.ref.kind), []).append(resource)
    return list(groups.values())


def _refusal(resource: Resource, foreign: Mapping[ObjectRef, LiveMeta], owners: Owners) -> str:
    """Why ``resource`` belongs to another install ("" when this one may apply it)."""
    item_id = str(resource.ref)
    live = foreign.get(resource.ref)
    if live is None:
        return ""
    owner = live.labels.get(INSTANCE_LABEL, "")
    if owner and owner != owners.instance:
        return (
            f"{item_id} is owned by the fluxd install {owner!r} ({INSTANCE_LABEL}={owner}), "
            f"not by this one ({owners.instance!r}); it was not changed. {TAKEOVER_HELP}"
        )
    mark = live.labels.get(GC_MARK_LABEL, "")
    if owner or item_id in owners.inventory or mark == gc_mark(owners.set_name, item_id):
        return ""
    return (
        f"{item_id} carries the gc mark of another fluxd (another repo, branch or "
        f"--git-path) and no {INSTANCE_LABEL} label; it was not changed. {TAKEOVER_HELP}"
    )
