"""What an apply would change, asked of the API server without changing anything.

For each object: the live object (``GET``), and what it would become
(``PATCH ?dryRun=All`` with fluxd's field manager, exactly the request a
sync sends). The API server runs admission, defaulting and the merge, so
the answer is what a sync would leave, not a guess made here. Both are then
cut down to the fields fluxd manages (``fluxd.cluster.managed``), without
fluxd's own marks (the checksum annotation changes with any edit of the
file; the GC label never does), and led by the object's identity.

One object failing (forbidden, invalid) fails alone, as in a sync.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from fluxd.cluster.applying import FIELD_MANAGER
from fluxd.cluster.client import APPLY_PATCH, KubeClient
from fluxd.cluster.discovery import Discovery
from fluxd.cluster.errors import status_message
from fluxd.cluster.managed import mask_secret, merge_fields, owned_fields, project
from fluxd.cluster.objects import ApplyItem, InventoryEntry
from fluxd.cluster.paths import InvalidName
from fluxd.errors import ClusterError
from fluxids.marks import CHECKSUM_ANNOTATION, GC_MARK_LABEL

Obj = dict[str, Any]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


@dataclass(frozen=True, slots=True)
class Preview:
    """One object before and after: ``before`` None = created, ``after`` None = deleted."""

    id: str
    source: str
    kind: str
    before: Obj | None = None
    after: Obj | None = None
    error: str = ""


class DryRunner:
    """Dry-run applies and live reads, many at a time."""

    def __init__(
        self, client: KubeClient, discovery: Discovery, *, concurrency: int, force: bool
    ) -> None:
        self._client = client
        self._discovery = discovery
        self._concurrency = max(concurrency, 1)
        self._query = [
            ("fieldManager", FIELD_MANAGER),
            ("force", "true" if force else "false"),
            ("dryRun", "All"),
        ]

    def preview_apply(self, items: Sequence[ApplyItem]) -> list[Preview]:
        """What applying each item would change (see the module docstring)."""
        return self._each(self._preview_one, items)

    def preview_delete(self, entries: Sequence[InventoryEntry]) -> list[Preview]:
        """The fluxd-managed part of each object garbage collection would delete."""
        return self._each(self._preview_gone, entries)

    def _each(self, one: Any, items: Sequence[Any]) -> list[Preview]:
        if not items:
            return []
        workers = min(self._concurrency, len(items))
        with ThreadPoolExecutor(workers, thread_name_prefix="dry-run") as pool:
            return list(pool.map(one, items))

    def _preview_one(self, item: ApplyItem) -> Preview:
        ref = item.ref
        base = Preview(str(ref), item.source, ref.kind)
        try:
            path = self._path(ref.api_version, ref.kind, ref.namespace, ref.name)
            live = self._get(path)
            response = self._client.request(
                "PATCH", path, query=self._query, body=item.body, content_type=APPLY_PATCH
            )
        except (ClusterError, InvalidName) as exc:
            return _with(base, error=exc.message)
        if response.ok:
            return _compared(base, live, response.json())
        if response.status == 404 and live is None:
            # Its namespace (or CRD) is created by the same sync: the server
            # cannot dry-run it yet, so show what git asks for.
            return _compared(base, None, _as_owned(item.body))
        return _with(base, error=status_message(response.body, response.status, response.reason))

    def _preview_gone(self, entry: InventoryEntry) -> Preview:
        ref = entry.ref
        base = Preview(entry.id, "", ref.kind)
        try:
            path = self._path(ref.api_version, ref.kind, ref.namespace, ref.name)
            live = self._get(path)
        except (ClusterError, InvalidName) as exc:
            return _with(base, error=exc.message)
        if live is None:
            return base
        return _compared(base, live, None)

    def _path(self, api_version: str, kind: str, namespace: str, name: str) -> str:
        rtype = self._discovery.lookup(api_version, kind)
        if rtype is None:
            raise ClusterError(f"the API server does not serve kind {kind} in {api_version}")
        return rtype.path(namespace if rtype.namespaced else "", name)

    def _get(self, path: str) -> Obj | None:
        response = self._client.request("GET", path)
        if response.status == 404:
            return None
        if not response.ok:
            raise ClusterError(status_message(response.body, response.status, response.reason))
        return response.json()


def _with(base: Preview, **changes: Any) -> Preview:
    return Preview(**{**{f: getattr(base, f) for f in Preview.__slots__}, **changes})


def _compared(base: Preview, live: Obj | None, after: Obj | None) -> Preview:
    fields = merge_fields(
        owned_fields(live or {}, FIELD_MANAGER), owned_fields(after or {}, FIELD_MANAGER)
    )
    before = _shown(live, fields) if live is not None else None
    shown_after = _shown(after, fields) if after is not None else None
    if base.kind == "Secret":
        mask_secret(before, shown_after)
    return _with(base, before=before, after=shown_after)


def _shown(obj: Obj, fields: Mapping[str, Any]) -> Obj:
    # Without fields fluxd owns (an object another tool applied) nothing is
    # ours yet: what git asks for is the whole object as written.
    part: Obj = copy.deepcopy(project(obj, fields) if fields else obj)
    meta = obj.get("metadata") or {}
    # Who the object is comes first, as in the manifest; server-side apply
    # does not record these as owned fields.
    shown: Obj = {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind")}
    ident = {k: meta[k] for k in ("name", "namespace") if k in meta}
    shown["metadata"] = {**ident, **_without_marks(part.get("metadata") or {}, bool(fields))}
    shown.update((k, v) for k, v in part.items() if k not in shown)
    if not fields:
        shown.pop("status", None)
    return shown


def _without_marks(meta: Obj, owned: bool) -> Obj:
    """``metadata`` without server-written fields and fluxd's own marks."""
    kept = {k: v for k, v in meta.items() if owned or k in ("labels", "annotations")}
    # kubectl's last-applied annotation repeats the whole object (a
    # Secret's values too) and is never fluxd's: it is left out with the marks.
    hidden = (
        ("labels", GC_MARK_LABEL),
        ("annotations", CHECKSUM_ANNOTATION),
        ("annotations", LAST_APPLIED),
    )
    for key, mark in hidden:
        values = kept.get(key)
        if isinstance(values, dict):
            values.pop(mark, None)
            if not values:
                del kept[key]
    return kept


def _as_owned(body: Mapping[str, Any]) -> Obj:
    """``body`` as an apply would own it: every field it sets."""
    obj = copy.deepcopy(dict(body))
    obj.setdefault("metadata", {})["managedFields"] = []
    return obj
