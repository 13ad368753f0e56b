"""Finding objects someone changed behind our back, without writing anything.

Re-applying every object on every sync would cost one write per object per
interval, and each write is a round of admission, validation and an etcd
transaction. Instead, for each kind we applied we LIST only the metadata of
the objects carrying our ``fluxcd.io/sync-gc-mark`` label (the server sends
``PartialObjectMetadataList``: no spec, no status) and compare it with what
the API server answered when we applied them. A kind whose watch keeps that
metadata current (``fluxd.cluster.watching``) is read from it, not listed.

The rule:

* If the object has a ``metadata.generation``, it changed when the
  generation differs from the one we recorded. The API server bumps the
  generation only when the spec (the desired state) changes; controllers
  writing status bump the ``resourceVersion`` of a Deployment every few
  seconds while it rolls out, which is not drift.
* Objects without a generation (ConfigMaps, Secrets, ServiceAccounts, ...)
  have no status subresource, so any write to them changes what we applied:
  there, a different ``resourceVersion`` means changed.
* Objects that are gone, or lost our label, are reported as missing.

Changes to labels or annotations alone do not bump the generation, so they
are not seen here; the next change in git or a full re-apply restores them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from fluxd.cluster.client import METADATA_LIST, KubeClient
from fluxd.cluster.discovery import Discovery
from fluxd.cluster.errors import api_error
from fluxd.cluster.objects import InventoryEntry
from fluxids import ObjectRef
from fluxids.marks import GC_MARK_LABEL

# Objects per LIST page. A page is decoded whole, managedFields and all, and
# up to _LIST_WORKERS kinds (and the watches' relists) decode at once: at
# 2,000 per page, 20,000 objects took fluxd's peak memory ~100 MiB higher.
_PAGE = "500"
_LIST_WORKERS = 8


@dataclass(frozen=True, slots=True)
class LiveMeta:
    """The metadata of one live object, as a metadata-only LIST returns it."""

    ref: ObjectRef
    uid: str
    generation: int | None
    resource_version: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Drift:
    """Ids whose spec changed since we applied them, and ids that are gone."""

    changed: frozenset[str] = frozenset()
    missing: frozenset[str] = frozenset()

    @property
    def ids(self) -> frozenset[str]:
        return self.changed | self.missing


#: Metadata a watch keeps for a kind, given the entries to compare, or None
#: when the watch cannot vouch for it now (then the kind is listed).
Cached = Callable[[str, str, Sequence[InventoryEntry]], Mapping[ObjectRef, LiveMeta] | None]


def has_drifted(recorded: InventoryEntry, live: LiveMeta) -> bool:
    """Whether ``live`` differs from what we applied (see the module docstring)."""
    if recorded.generation is not None and live.generation is not None:
        return recorded.generation != live.generation
    return recorded.resource_version != live.resource_version


def detect_drift(
    client: KubeClient,
    discovery: Discovery,
    entries: Iterable[InventoryEntry],
    *,
    namespaces: Sequence[str] = (),
    selector: str = GC_MARK_LABEL,
    cached: Cached | None = None,
) -> Drift:
    """Compare ``entries`` with the cluster; one metadata LIST per kind (and namespace).

    ``selector`` picks this install's objects (``fluxd.cluster.ownership``);
    one that lost it counts as missing, and is applied again. A kind that
    ``cached`` answers for (a watch keeps it, ``fluxd.cluster.watching``) is
    not listed.
    """
    changed: set[str] = set()
    missing: set[str] = set()
    groups = group_by_kind(entries)
    lives = _from_watches(cached, groups) if cached is not None else {}
    to_list = [key for key in groups if key not in lives]

    def listed(key: tuple[str, str]) -> dict[ObjectRef, LiveMeta]:
        return list_marked(
            client, discovery, key[0], key[1], namespaces=namespaces, selector=selector
        )

    # One LIST per kind, all at once: they are independent, and waiting for
    # them in turn was most of a no-op pass.
    if to_list:
        with ThreadPoolExecutor(max(1, min(_LIST_WORKERS, len(to_list)))) as pool:
            lives.update(zip(to_list, pool.map(listed, to_list), strict=True))
    for key, group in groups.items():
        live = lives[key]
        for entry in group:
            found = live.get(entry.ref)
            if found is None:
                missing.add(entry.id)
            elif has_drifted(entry, found) or found.labels.get(GC_MARK_LABEL) != entry.mark:
                changed.add(entry.id)
    return Drift(frozenset(changed), frozenset(missing))


def _from_watches(
    cached: Cached, groups: Mapping[tuple[str, str], list[InventoryEntry]]
) -> dict[tuple[str, str], Mapping[ObjectRef, LiveMeta]]:
    """The kinds whose watches vouch for their entries, with the metadata they keep."""
    found = {key: cached(key[0], key[1], group) for key, group in groups.items()}
    return {key: live for key, live in found.items() if live is not None}


def group_by_kind(entries: Iterable[InventoryEntry]) -> dict[tuple[str, str], list[InventoryEntry]]:
    groups: dict[tuple[str, str], list[InventoryEntry]] = defaultdict(list)
    for entry in entries:
        groups[(entry.ref.api_version, entry.ref.kind)].append(entry)
    return groups


def list_marked(
    client: KubeClient,
    discovery: Discovery,
    api_version: str,
    kind: str,
    *,
    namespaces: Sequence[str] = (),
    selector: str = GC_MARK_LABEL,
) -> dict[ObjectRef, LiveMeta]:
    """Metadata of every object of a kind that ``selector`` (our GC label) picks, by ref.

    With ``namespaces`` (fluxd limited by --k8s-allow-namespace) namespaced
    kinds are listed per namespace, since a cluster-wide LIST would be forbidden.
    A kind the server no longer serves has no objects.
    """
    rtype = discovery.lookup(api_version, kind)
    if rtype is None:
        return {}
    scopes = list(namespaces) if rtype.namespaced and namespaces else [""]
    found: dict[ObjectRef, LiveMeta] = {}
    for namespace in scopes:
        what = f"listing {kind} in {api_version}"
        for item in _pages(client, rtype.path(namespace), selector, what=what):
            meta = _live_meta(api_version, kind, item)
            found[meta.ref] = meta
    return found


def _pages(client: KubeClient, path: str, selector: str, *, what: str) -> Iterable[dict[str, Any]]:
    for listing in list_pages(client, path, selector, what=what):
        yield from listing.get("items") or ()


def list_pages(
    client: KubeClient, path: str, selector: str, *, what: str
) -> Iterator[dict[str, Any]]:
    """Each page of a metadata LIST (none when the kind is not served)."""
    token = ""
    while True:
        query = [("labelSelector", selector), ("limit", _PAGE)]
        if token:
            query.append(("continue", token))
        response = client.request("GET", path, query=query, accept=METADATA_LIST)
        if response.status == 404:
            return
        if not response.ok:
            raise api_error(response.status, response.body, what=what, reason=response.reason)
        listing = response.json()
        yield listing
        token = str((listing.get("metadata") or {}).get("continue") or "")
        if not token:
            return


def _live_meta(api_version: str, kind: str, item: Mapping[str, Any]) -> LiveMeta:
    meta = item.get("metadata") or {}
    generation = meta.get("generation")
    return LiveMeta(
        ref=ObjectRef(str(meta.get("namespace") or ""), kind, str(meta["name"]), api_version),
        uid=str(meta.get("uid", "")),
        generation=int(generation) if generation is not None else None,
        resource_version=str(meta.get("resourceVersion", "")),
        labels=dict(meta.get("labels") or {}),
        annotations=dict(meta.get("annotations") or {}),
    )
