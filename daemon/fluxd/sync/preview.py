"""``fluxctl diff``: what a sync of a revision (or of files sent by the user) would change.

It plans like a sync pass (``fluxd.sync.engine``) and stops before writing:

1. The files are loaded as a pass loads them (same limits, own parse cache).
2. Objects whose checksum equals the one in the inventory and that the
   metadata-only drift check finds untouched are unchanged: nothing is asked
   of them. Only new, changed and drifted objects are dry-run, so a diff of
   5,000 objects with one change costs one dry run, not 5,000.
3. Each of those is applied with ``dryRun=All`` and compared with the live
   object, on the fields fluxd manages (``fluxd.cluster.dryrun``).
4. With garbage collection on, what a pass would delete is found as a pass
   finds it (a GC dry run against the inventory), and shown as removed.

Diffs run one at a time: each holds a revision's parsed files in memory.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from fluxd.cluster import (
    ApplyItem,
    ApplyObject,
    Drift,
    GcReport,
    Inventory,
    InventoryEntry,
    Preview,
)
from fluxd.errors import FluxError
from fluxd.manifests import LoadResult, ParseCache, Resource, gc_mark, load, plan, rank_of
from fluxd.manifests import with_marks as marked
from fluxd.settings import ManifestSettings
from fluxd.sync.changes import Action, DiffReport, ObjectChange, change_of
from fluxd.sync.ports import Source


class PreviewCluster(Protocol):
    """What a diff asks of the cluster (``fluxd.cluster.Cluster`` fits)."""

    def scope(self, api_version: str, kind: str) -> bool | None: ...

    def detect_drift(self, entries: Iterable[InventoryEntry]) -> Drift: ...

    def preview_apply(self, items: Sequence[ApplyItem]) -> list[Preview]: ...

    def preview_delete(self, entries: Sequence[InventoryEntry]) -> list[Preview]: ...

    def collect_garbage(
        self,
        inventory: Inventory,
        desired: Collection[str],
        *,
        rank: Callable[[str], int],
        dry_run: bool | None = None,
    ) -> GcReport: ...


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a sync puts objects: fluxd's settings as the engine reads them."""

    set_name: str
    default_namespace: str
    allowed_namespaces: frozenset[str] = frozenset()
    garbage_collection: bool = False
    #: The install's name, labelled on what it applies (``fluxd.io/instance``).
    instance: str = ""


def blob_id(content: bytes) -> str:
    """git's id of a blob with ``content``: files sent by fluxctl share the parse cache."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


class Previewer:
    """Computes ``DiffReport``s; one at a time."""

    def __init__(
        self,
        source: Source,
        cluster: PreviewCluster,
        scope: Scope,
        inventory: Callable[[], Inventory],
        limits: ManifestSettings | None = None,
    ) -> None:
        self._source = source
        self._cluster = cluster
        self._scope = scope
        self._inventory = inventory
        self._cache = ParseCache(limits)
        self._lock = threading.Lock()

    def of_revision(self, revision: str) -> DiffReport:
        """What syncing ``revision`` of the mirror would change."""
        with self._lock:
            began = time.monotonic()
            files = self._source.manifest_files(revision, skip_missing=True)
            blobs = _LazyBlobs(files, self._source.read_blob)
            return self._report(revision, self._load(blobs, files), began)

    def of_files(self, files: Mapping[str, bytes]) -> DiffReport:
        """What syncing exactly ``files`` (repo path -> content) would change."""
        with self._lock:
            began = time.monotonic()
            ids = {path: blob_id(content) for path, content in files.items()}
            return self._report("", self._load(files, ids), began)

    def _load(self, files: Mapping[str, bytes], ids: Mapping[str, str]) -> LoadResult:
        return load(
            files,
            ids,
            scope=self._cluster.scope,
            default_namespace=self._scope.default_namespace,
            cache=self._cache,
        )

    def _report(self, revision: str, loaded: LoadResult, began: float) -> DiffReport:
        failed = [ObjectChange("", e.path, Action.FAILED, error=str(e)) for e in loaded.errors]
        failed += [
            ObjectChange("", u.source, Action.FAILED, error=str(u.error()))
            for u in loaded.unresolved
        ]
        allowed = self._scope.allowed_namespaces
        desired = [r for r in loaded.resources if not allowed or r.ref.namespace in ("", *allowed)]
        inventory = self._inventory()
        notes: list[str] = []
        to_check, unchanged = self._to_check(desired, inventory, notes)
        changes = [change_of(p) for p in self._cluster.preview_apply(to_check)]
        deletions = self._deletions(inventory, desired, notes, complete=loaded.complete)
        changes += [change_of(p) for p in deletions]
        return DiffReport(
            revision=revision,
            changes=tuple(c for c in [*failed, *changes] if c.action is not Action.UNCHANGED),
            unchanged=unchanged + sum(c.action is Action.UNCHANGED for c in changes),
            notes=tuple(notes),
            garbage_collection=self._scope.garbage_collection,
            duration=time.monotonic() - began,
        )

    def _to_check(
        self, desired: Sequence[Resource], inventory: Inventory, notes: list[str]
    ) -> tuple[list[ApplyItem], int]:
        """The objects that may differ (new, changed in git, drifted), and how many do not."""
        set_name = self._scope.set_name
        last = {
            key: entry.checksum
            for key, entry in inventory.entries.items()
            if entry.mark == gc_mark(set_name, key)
        }
        the_plan = plan(desired, last)
        entries = [inventory.entries[str(r.ref)] for r in the_plan.unchanged]
        drift = Drift()
        try:
            drift = self._cluster.detect_drift(entries) if entries else Drift()
        except FluxError as exc:
            notes.append(
                f"changes made in the cluster are not shown: the drift check failed: {exc}"
            )
        drifted = [r for r in the_plan.unchanged if str(r.ref) in drift.ids]
        items = [_item(r, self._scope) for r in [*the_plan.to_apply, *drifted]]
        return items, len(the_plan.unchanged) - len(drifted)

    def _deletions(
        self,
        inventory: Inventory,
        desired: Sequence[Resource],
        notes: list[str],
        *,
        complete: bool,
    ) -> list[Preview]:
        if not self._scope.garbage_collection:
            notes.append(
                "garbage collection is off (--sync-garbage-collection): nothing is deleted"
            )
            return []
        if not complete:
            notes.append("some manifests could not be loaded: a sync deletes nothing until fixed")
            return []
        wanted = frozenset(str(r.ref) for r in desired)
        try:
            report = self._cluster.collect_garbage(inventory, wanted, rank=rank_of, dry_run=True)
        except FluxError as exc:
            notes.append(f"what garbage collection would delete is unknown: {exc}")
            return []
        doomed = [inventory.entries[i] for i in report.deleted if i in inventory.entries]
        return self._cluster.preview_delete(doomed)


def _item(resource: Resource, scope: Scope) -> ApplyItem:
    # Marked exactly as the engine marks what it applies, so the dry run
    # differs from the live object only where git does.
    return ApplyObject(
        ref=resource.ref,
        source=resource.source,
        body=marked(resource, scope.set_name, scope.instance),
    )


class _LazyBlobs(Mapping[str, bytes]):
    """File contents read from git only when the parse cache lacks the blob."""

    def __init__(self, files: Mapping[str, str], read: Callable[[str], bytes]) -> None:
        self._files = files
        self._read = read

    def __getitem__(self, path: str) -> bytes:
        return self._read(self._files[path])

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)
