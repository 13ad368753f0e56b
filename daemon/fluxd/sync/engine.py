"""One sync pass: make the cluster equal to the branch HEAD of the mirror.

1. Read the manifest files of HEAD straight from git (parsed ones come from
   the cache by blob id, so an unchanged file is never parsed again).
2. Plan by checksum against the inventory of what we applied before: only new
   or changed objects are sent. Unchanged objects are checked for drift with
   metadata-only LISTs (generation / resourceVersion against what the API
   server answered to our last apply); drifted or deleted ones are re-sent.
3. Apply (server-side, staged, concurrent). A failed object fails alone.
4. Garbage-collect, only when every file loaded and GC is on.
5. Record the inventory, move the sync marker when the revision changed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Protocol

from fluxd.cluster import (
    ApplyItem,
    ApplyObject,
    ApplyOutcome,
    Drift,
    GcReport,
    Inventory,
    InventoryEntry,
)
from fluxd.errors import FluxError, GitError
from fluxd.manifests import (
    LoadResult,
    ParseCache,
    Resource,
    gc_mark,
    in_apply_order,
    load,
    plan,
    rank_of,
    resolve_unresolved,
    sync_set_name,
    with_marks,
)
from fluxd.settings import ClusterSettings, GitSettings, ManifestSettings, SyncSettings
from fluxd.sync.marker import SyncMarker
from fluxd.sync.results import ResourceFailure, SyncResult

log = logging.getLogger(__name__)


class Source(Protocol):
    """What a pass reads from git."""

    def head(self) -> str: ...

    def manifest_files(self, revision: str) -> dict[str, str]: ...

    def read_blob(self, blob_sha: str) -> bytes: ...


class ClusterPort(Protocol):
    """What a pass asks of the Kubernetes API (``fluxd.cluster.Cluster`` fits)."""

    def scope(self, api_version: str, kind: str) -> bool | None: ...

    def apply(
        self,
        items: Sequence[ApplyItem],
        *,
        rank: Callable[[str], int],
        before_rest: Callable[[], Sequence[ApplyItem]] | None = None,
    ) -> list[ApplyOutcome]: ...

    def detect_drift(self, entries: Iterable[InventoryEntry]) -> Drift: ...

    def load_inventory(self) -> Inventory: ...

    def save_inventory(self, inventory: Inventory) -> None: ...

    def collect_garbage(
        self, inventory: Inventory, desired: Collection[str], *, rank: Callable[[str], int]
    ) -> GcReport: ...


class _Blobs(Mapping[str, bytes]):
    """File contents read from git only when the parse cache lacks the blob."""

    def __init__(self, files: Mapping[str, str], source: Source) -> None:
        self._files = files
        self._source = source

    def __getitem__(self, path: str) -> bytes:
        return self._source.read_blob(self._files[path])

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)


class SyncEngine:
    """Runs passes; keeps what must survive between them (cache, inventory)."""

    def __init__(
        self,
        source: Source,
        cluster: ClusterPort,
        marker: SyncMarker,
        *,
        git: GitSettings,
        sync: SyncSettings,
        cluster_settings: ClusterSettings,
        manifests: ManifestSettings | None = None,
    ) -> None:
        self._source = source
        self._cluster = cluster
        self._marker = marker
        self._sync = sync
        self._allowed = frozenset(cluster_settings.allow_namespaces)
        self._default_namespace = cluster_settings.default_namespace
        self._set_name = sync_set_name(git.url, git.branch, git.paths)
        self._cache = ParseCache(manifests)
        self._inventory: Inventory | None = None
        self._marker_revision: str | None = None
        self._marker_read = False

    def applied_revision(self) -> str | None:
        """The revision the sync marker records (read once, then tracked)."""
        if not self._marker_read:
            self._marker_revision = self._marker.get()
            self._marker_read = True
        return self._marker_revision

    def run_pass(self, *, check_drift: bool = True) -> SyncResult:
        """One pass; without ``check_drift`` only what changed in git is sent."""
        started, began = time.time(), time.monotonic()
        revision = self._source.head()
        try:
            files = self._source.manifest_files(revision)
        except GitError as exc:
            failure = ResourceFailure("", "", str(exc))
            return SyncResult(
                revision,
                started,
                time.monotonic() - began,
                failures=(failure,),
                gc_skipped="the manifests could not be read",
            )
        loaded = load(
            _Blobs(files, self._source),
            files,
            scope=self._cluster.scope,
            default_namespace=self._default_namespace,
            cache=self._cache,
        )
        result = self._apply_and_collect(revision, loaded, started, began, check_drift)
        self._move_marker(revision)
        return result

    # --- steps -----------------------------------------------------------------

    def _apply_and_collect(
        self,
        revision: str,
        loaded: LoadResult,
        started: float,
        began: float,
        check_drift: bool,
    ) -> SyncResult:
        failures = [ResourceFailure("", e.path, str(e)) for e in loaded.errors]
        desired = self._in_allowed_namespaces(loaded.resources)
        inventory = self._load_inventory()
        last = {
            key: entry.checksum
            for key, entry in inventory.entries.items()
            if entry.mark == gc_mark(self._set_name, key)
        }
        the_plan = plan(desired, last)
        drift = self._drift(the_plan.unchanged, inventory) if check_drift else Drift()
        drifted = [r for r in the_plan.unchanged if str(r.id) in drift.ids]
        late: list[Resource] = []

        def resolve_late() -> Sequence[ApplyItem]:
            again = resolve_unresolved(
                loaded.unresolved,
                scope=self._cluster.scope,
                default_namespace=self._default_namespace,
                loaded=desired,
            )
            failures.extend(ResourceFailure("", e.path, str(e)) for e in again.errors)
            failures.extend(ResourceFailure("", u.source, str(u.error())) for u in again.unresolved)
            placed = [r for r in self._in_allowed_namespaces(again.resources) if not r.ignore]
            late.extend(placed)
            return [self._item(r) for r in placed]

        to_send = in_apply_order([*the_plan.to_apply, *drifted])
        by_id = {str(r.id): r for r in to_send}
        outcomes = self._cluster.apply(
            [self._item(r) for r in to_send],
            rank=rank_of,
            before_rest=resolve_late if loaded.unresolved else None,
        )
        by_id.update((str(r.id), r) for r in late)
        updates = [
            InventoryEntry.from_outcome(
                o, mark=gc_mark(self._set_name, o.id), checksum=by_id[o.id].checksum
            )
            for o in outcomes
            if o.applied
        ]
        failures.extend(ResourceFailure(o.id, o.source, o.error) for o in outcomes if not o.applied)
        inventory_now = inventory.merged(updates)
        desired_ids = frozenset(str(r.id) for r in [*desired, *late])
        complete = not loaded.errors and not any(f.id == "" for f in failures)
        report, skipped = self._collect_garbage(inventory_now, desired_ids, complete)
        if report is not None:
            removed = [*report.gone, *(() if report.dry_run else report.deleted)]
            inventory_now = inventory_now.merged((), removed)
            failures.extend(
                ResourceFailure(i, "", f"garbage collection: {e}") for i, e in report.failed
            )
        self._save_inventory(inventory, inventory_now)
        return SyncResult(
            revision=revision,
            started_at=started,
            duration=time.monotonic() - began,
            applied=len(updates),
            unchanged=len(the_plan.unchanged) - len(drifted),
            drifted=len(drifted),
            failures=tuple(failures),
            deleted=report.deleted if report is not None else (),
            gc_skipped=skipped,
            desired=desired_ids,
        )

    def _item(self, resource: Resource) -> ApplyObject:
        return ApplyObject(
            id=str(resource.id),
            api_version=resource.api_version,
            kind=resource.kind,
            name=resource.name,
            namespace=resource.namespace,
            source=resource.source,
            body=with_marks(resource, self._set_name),
        )

    def _in_allowed_namespaces(self, resources: Sequence[Resource]) -> list[Resource]:
        if not self._allowed:
            return list(resources)
        kept = [r for r in resources if not r.namespace or r.namespace in self._allowed]
        if len(kept) != len(resources):
            skipped = sorted(str(r.id) for r in resources if r not in kept)
            log.warning("event=skipped-namespaces reason=not-allowed ids=%s", ",".join(skipped))
        return kept

    def _drift(self, unchanged: Sequence[Resource], inventory: Inventory) -> Drift:
        entries = [inventory.entries[str(r.id)] for r in unchanged]
        if not entries:
            return Drift()
        try:
            return self._cluster.detect_drift(entries)
        except FluxError as exc:
            # Not knowing about drift is no reason to skip applying git's changes.
            log.warning("event=drift-check-failed error=%r", str(exc))
            return Drift()

    def _collect_garbage(
        self, inventory: Inventory, desired: frozenset[str], complete: bool
    ) -> tuple[GcReport | None, str]:
        if not self._sync.garbage_collection:
            return None, ""
        if not complete:
            reason = "some manifests could not be loaded; nothing is deleted until they are fixed"
            log.warning("event=gc-skipped reason=%r", reason)
            return None, reason
        report = self._cluster.collect_garbage(inventory, desired, rank=rank_of)
        return report, ""

    def _load_inventory(self) -> Inventory:
        if self._inventory is None:
            self._inventory = self._cluster.load_inventory()
        return self._inventory

    def _save_inventory(self, before: Inventory, after: Inventory) -> None:
        if after.entries != before.entries:
            self._cluster.save_inventory(after)
        self._inventory = after

    def _move_marker(self, revision: str) -> None:
        if self.applied_revision() == revision:
            return
        try:
            self._marker.set(revision)
        except FluxError as exc:
            # The pass is applied either way; the marker is the record for others.
            log.warning("event=sync-marker-not-moved revision=%s error=%r", revision[:7], str(exc))
        self._marker_revision = revision
