"""Garbage collection: deleting what left the repo, and nothing else.

An object is deleted only when all of these hold:

(a) it is in our inventory (we applied it once);
(b) the live object carries our ``fluxcd.io/sync-gc-mark`` label with the
    value we recorded (so objects of another fluxd, or with a copied label,
    are safe);
(c) it is not in the desired set of this sync;
(d) the live object is not annotated ``fluxcd.io/ignore: "true"`` or
    ``"sync_only"``;

and it is neither a Namespace nor a CustomResourceDefinition, unless the
caller allows those explicitly: deleting either deletes everything in it.
Deletes go in reverse kind rank (workloads before the ConfigMaps and
ServiceAccounts they use), with ``propagationPolicy: Background`` and a UID
precondition, so an object re-created meanwhile under the same name is not
deleted by mistake. The caller decides whether GC may run at all: never
after the repo failed to load.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import groupby

from fluxd.cluster.client import KubeClient
from fluxd.cluster.discovery import Discovery
from fluxd.cluster.drift import LiveMeta, group_by_kind, list_marked
from fluxd.cluster.errors import status_message
from fluxd.cluster.objects import IGNORE_ANNOTATION, IGNORE_VALUES, InventoryEntry
from fluxd.errors import ClusterError
from fluxids import ObjectRef
from fluxids.marks import GC_MARK_LABEL

log = logging.getLogger(__name__)

_PROTECTED = {"Namespace": "namespaces", "CustomResourceDefinition": "CRDs"}

#: Sees the ids garbage collection is about to delete; answers why to hold them ("" = go).
Guard = Callable[[Sequence[str]], str]


@dataclass(frozen=True, slots=True)
class GcReport:
    """What garbage collection did (or, in a dry run, would do)."""

    dry_run: bool
    #: Deleted, or would be deleted in a dry run.
    deleted: tuple[str, ...] = ()
    #: Not found with our label (deleted, or the label removed): drop from the inventory.
    gone: tuple[str, ...] = ()
    #: Kept on purpose, with the reason.
    spared: tuple[tuple[str, str], ...] = ()
    #: The delete request failed, with the API's message.
    failed: tuple[tuple[str, str], ...] = ()
    #: Would be deleted, but the guard held them back; ``held_reason`` says why.
    held: tuple[str, ...] = ()
    held_reason: str = ""


@dataclass(frozen=True, slots=True)
class _Victim:
    entry: InventoryEntry
    live: LiveMeta
    path: str


def spare_reason(
    entry: InventoryEntry, live: LiveMeta, *, delete_namespaces: bool, delete_crds: bool
) -> str:
    """Why a garbage candidate must be kept ("" when it may be deleted)."""
    protected = _PROTECTED.get(entry.ref.kind)
    allowed = {"Namespace": delete_namespaces, "CustomResourceDefinition": delete_crds}
    if protected and not allowed[entry.ref.kind]:
        return f"{protected} are never deleted unless allowed"
    if live.labels.get(GC_MARK_LABEL) != entry.mark:
        return "its gc mark is not ours"
    ignore = str(live.annotations.get(IGNORE_ANNOTATION, "")).lower()
    if ignore in IGNORE_VALUES:
        return f"annotated {IGNORE_ANNOTATION}: {ignore}"
    return ""


def collect_garbage(
    client: KubeClient,
    discovery: Discovery,
    inventory: Iterable[InventoryEntry],
    desired: Collection[str],
    *,
    rank: Callable[[str], int],
    dry_run: bool,
    namespaces: Sequence[str] = (),
    delete_namespaces: bool = False,
    delete_crds: bool = False,
    concurrency: int = 16,
    guard: Guard | None = None,
    fence: Callable[[], bool] = lambda: True,
    selectors: tuple[str, ...] = (GC_MARK_LABEL,),
) -> GcReport:
    """Delete inventoried objects that left the desired set (see module docstring).

    ``guard`` sees the ids about to be deleted and may hold them all back by
    answering why ("" lets them go). Live objects are looked for with each
    of ``selectors`` in turn (this install's label, then the unlabelled marks
    of before), the next only for ids the ones before did not find.
    """
    candidates = [entry for entry in inventory if entry.id not in desired]
    victims, gone, spared = _sort_out(
        client, discovery, candidates, namespaces, (delete_namespaces, delete_crds), selectors
    )
    for item_id, why in spared:
        log.info("gc: keeping %s: %s", item_id, why)
    ids = tuple(v.entry.id for v in victims)
    if reason := (guard(ids) if guard is not None and ids else ""):
        return GcReport(dry_run, (), tuple(gone), tuple(spared), held=ids, held_reason=reason)
    if dry_run:
        for victim in victims:
            log.info("gc dry run: would delete %s", victim.entry.id)
        return GcReport(True, ids, tuple(gone), tuple(spared))
    deleted, failed = _delete_all(client, victims, rank, concurrency, fence)
    return GcReport(False, tuple(deleted), tuple(gone), tuple(spared), tuple(failed))


def _sort_out(
    client: KubeClient,
    discovery: Discovery,
    candidates: list[InventoryEntry],
    namespaces: Sequence[str],
    allow: tuple[bool, bool],
    selectors: tuple[str, ...],
) -> tuple[list[_Victim], list[str], list[tuple[str, str]]]:
    """Split candidates into victims, ids not found with our label, and spared ids."""
    victims: list[_Victim] = []
    gone: list[str] = []
    spared: list[tuple[str, str]] = []
    for (api_version, kind), group in group_by_kind(candidates).items():
        live: dict[ObjectRef, LiveMeta] = {}
        for selector in selectors:
            if all(entry.ref in live for entry in group):
                break
            live |= list_marked(
                client, discovery, api_version, kind, namespaces=namespaces, selector=selector
            )
        rtype = discovery.lookup(api_version, kind)
        for entry in group:
            found = live.get(entry.ref)
            if found is None or rtype is None:
                gone.append(entry.id)
            elif why := spare_reason(
                entry, found, delete_namespaces=allow[0], delete_crds=allow[1]
            ):
                spared.append((entry.id, why))
            else:
                victims.append(
                    _Victim(entry, found, rtype.path(entry.ref.namespace, entry.ref.name))
                )
    return victims, gone, spared


def _delete_all(
    client: KubeClient,
    victims: list[_Victim],
    rank: Callable[[str], int],
    concurrency: int,
    fence: Callable[[], bool],
) -> tuple[list[str], list[tuple[str, str]]]:
    deleted: list[str] = []
    failed: list[tuple[str, str]] = []
    ordered = sorted(victims, key=lambda v: -rank(v.entry.ref.kind))
    with ThreadPoolExecutor(max(concurrency, 1), thread_name_prefix="gc") as pool:
        for _, stage in groupby(ordered, key=lambda v: rank(v.entry.ref.kind)):
            for victim, error in pool.map(lambda v: (v, _delete(client, v, fence)), list(stage)):
                if error:
                    failed.append((victim.entry.id, error))
                else:
                    log.info("gc: deleted %s", victim.entry.id)
                    deleted.append(victim.entry.id)
    return deleted, failed


def _delete(client: KubeClient, victim: _Victim, fence: Callable[[], bool]) -> str:
    """Delete one object; the error message, or "" on success (or already gone)."""
    if not fence():
        return "not deleted: this replica lost the leader Lease"
    options = {
        "apiVersion": "v1",
        "kind": "DeleteOptions",
        "propagationPolicy": "Background",
        "preconditions": {"uid": victim.live.uid},
    }
    try:
        response = client.request("DELETE", victim.path, body=options)
    except ClusterError as exc:  # one unreachable delete must not stop the others
        return exc.message
    if response.ok or response.status == 404:
        return ""
    return status_message(response.body, response.status, response.reason)
