"""One sync pass: make the cluster equal to the branch HEAD of the mirror.

1. Read the manifest files of HEAD straight from git (parsed ones come from
   the cache by blob id, so an unchanged file is never parsed again).
2. Plan by checksum against the inventory of what we applied before: only new
   or changed objects are sent. Unchanged objects are checked for drift with
   metadata-only LISTs (generation / resourceVersion against what the API
   server answered to our last apply); drifted or deleted ones are re-sent.
3. Apply (server-side, staged, concurrent). A failed object fails alone.
4. Garbage-collect, only when GC is on, every file loaded and the pass
   finished without transient faults; deletions that would empty the
   cluster wait for approval (``fluxd.sync.guard``).
5. Record the inventory (also after a fault, so nothing applied is
   forgotten), move the sync marker when the revision changed and the pass
   needs no retry.

``--sync-timeout`` bounds the whole pass: past it no more objects are sent,
what was applied is recorded, and the pass reports ``timed_out`` so the loop
retries it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from fluxd.clock import Clock, SystemClock
from fluxd.cluster import (
    ApplyItem,
    Drift,
    GcReport,
    Inventory,
    InventoryEntry,
)
from fluxd.errors import FluxError, GitError
from fluxd.manifests import (
    LoadResult,
    Marked,
    ParseCache,
    Resource,
    gc_mark,
    in_apply_order,
    load,
    plan,
    rank_of,
    resolve_unresolved,
    sync_set_name,
)
from fluxd.settings import ClusterSettings, GitSettings, ManifestSettings, SyncSettings
from fluxd.sync.guard import DeletionGuard, GuardPolicy, approves
from fluxd.sync.marker import SyncMarker
from fluxd.sync.ownership import Owners, keep_own
from fluxd.sync.ports import ClusterPort, LazyBlobs, Source
from fluxd.sync.results import GcHold, ResourceFailure, SyncResult

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Pass:
    """What the steps of one pass share."""

    revision: str
    loaded: LoadResult
    missing_paths: tuple[str, ...]
    started: float
    began: float
    deadline: float
    check_drift: bool


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
        clock: Clock | None = None,
    ) -> None:
        self._source = source
        self._clock: Clock = clock or SystemClock()
        self._cluster = cluster
        self._marker = marker
        self._sync = sync
        self._allowed = frozenset(cluster_settings.allow_namespaces)
        self._default_namespace = cluster_settings.default_namespace
        self._namespace = cluster_settings.namespace
        self._instance, self._takeover = (
            cluster_settings.instance_name,
            cluster_settings.instance_takeover,
        )
        self._policy = GuardPolicy(sync.gc_max_share, sync.gc_guard_min_count)
        self._set_name = sync_set_name(git.url, git.branch, git.paths)
        self._cache = ParseCache(manifests)
        self._inventory: Inventory | None = None
        self._marker_revision: str | None = None
        self._marker_read = False

    def forget(self) -> None:
        """Drop what was read from the cluster: another replica may have synced since."""
        self._inventory, self._marker_read = None, False

    def applied_revision(self) -> str | None:
        """The revision the sync marker records (read once, then tracked)."""
        if not self._marker_read:
            self._marker_revision = self._marker.get()
            self._marker_read = True
        return self._marker_revision

    def inventory(self) -> Inventory:
        """What fluxd applied, as of the last pass (read from the cluster once)."""
        return self._load_inventory()

    def run_pass(self, *, check_drift: bool = True) -> SyncResult:
        """One pass; without ``check_drift`` only what changed in git is sent."""
        # The wall clock only dates the pass; its deadline and duration are monotonic.
        started, began = time.time(), self._clock.monotonic()
        revision = self._source.head()
        rewritten_from = self._rewritten_from(revision)
        try:
            files = self._source.manifest_files(revision, skip_missing=True)
            missing = tuple(self._source.missing_paths(revision))
        except GitError as exc:
            failure = ResourceFailure("", "", str(exc))
            return SyncResult(
                revision,
                started,
                self._clock.monotonic() - began,
                failures=(failure,),
                gc_skipped="the manifests could not be read",
                rewritten_from=rewritten_from,
            )
        loaded = load(
            LazyBlobs(files, self._source),
            files,
            scope=self._cluster.scope,
            default_namespace=self._default_namespace,
            cache=self._cache,
        )
        deadline = began + self._sync.timeout
        the_pass = _Pass(revision, loaded, missing, started, began, deadline, check_drift)
        result = replace(self._apply_and_collect(the_pass), rewritten_from=rewritten_from)
        if not result.needs_retry:
            self._move_marker(revision)
        return result

    # --- steps -----------------------------------------------------------------

    def _apply_and_collect(self, the_pass: _Pass) -> SyncResult:
        loaded = the_pass.loaded
        failures = [ResourceFailure("", e.path, str(e), line=e.line) for e in loaded.errors]
        desired = self._in_allowed_namespaces(loaded.resources)
        inventory = self._load_inventory()
        last = _last_checksums(inventory, self._set_name)
        the_plan = plan(desired, last)
        drift = self._drift(the_plan.unchanged, inventory) if the_pass.check_drift else Drift()
        drifted_ids = drift.ids  # a union, built once, not once per object
        drifted = [r for r in the_plan.unchanged if str(r.ref) in drifted_ids]
        late: list[Resource] = []
        to_send = in_apply_order([*the_plan.to_apply, *drifted])
        owners = Owners(self._instance, self._set_name, inventory.entries.keys(), self._takeover)
        to_send = keep_own(self._cluster, to_send, owners, set(last) - drift.missing, failures)
        outcomes = self._cluster.apply(
            [self._item(r) for r in to_send],
            rank=rank_of,
            before_rest=self._late_resolver(loaded, desired, failures, late)
            if loaded.unresolved
            else None,
            deadline=the_pass.deadline,
        )
        by_ref = {r.ref: r for r in [*to_send, *late]}
        updates = [
            InventoryEntry.from_outcome(
                o, mark=gc_mark(self._set_name, o.ref), checksum=by_ref[o.ref].checksum
            )
            for o in outcomes
            if o.applied
        ]
        failures.extend(
            ResourceFailure(o.id, o.source, o.error, o.transient, by_ref[o.ref].line)
            for o in outcomes
            if not o.applied
        )
        desired_ids = frozenset(str(r.ref) for r in [*desired, *late])
        counts = (len(updates), len(the_plan.unchanged) - len(drifted), len(drifted))
        return self._finish(the_pass, inventory, updates, failures, desired_ids, counts)

    def _late_resolver(
        self,
        loaded: LoadResult,
        desired: list[Resource],
        failures: list[ResourceFailure],
        late: list[Resource],
    ) -> Callable[[], Sequence[ApplyItem]]:
        """Resolves, once CRDs are in, the objects whose kind was unknown at load."""

        def resolve_late() -> Sequence[ApplyItem]:
            again = resolve_unresolved(
                loaded.unresolved,
                scope=self._cluster.scope,
                default_namespace=self._default_namespace,
                loaded=desired,
            )
            failures.extend(ResourceFailure("", e.path, str(e), line=e.line) for e in again.errors)
            failures.extend(
                ResourceFailure("", u.source, str(u.error()), line=u.document.line)
                for u in again.unresolved
            )
            placed = [r for r in self._in_allowed_namespaces(again.resources) if not r.ignore]
            owners = Owners(self._instance, self._set_name, (), self._takeover)
            placed = keep_own(self._cluster, placed, owners, (), failures)
            late.extend(placed)
            return [self._item(r) for r in placed]

        return resolve_late

    def _finish(
        self,
        the_pass: _Pass,
        inventory: Inventory,
        updates: list[InventoryEntry],
        failures: list[ResourceFailure],
        desired_ids: frozenset[str],
        counts: tuple[int, int, int],
    ) -> SyncResult:
        """Garbage-collect if it may, record the inventory, and say what the pass did."""
        timed_out = self._clock.monotonic() > the_pass.deadline
        inventory_now = inventory.merged(updates)
        complete = not the_pass.loaded.errors and not any(f.id == "" for f in failures)
        finished = not timed_out and not any(f.transient for f in failures)
        gc = self._collect_garbage(the_pass, inventory_now, desired_ids, complete, finished)
        if gc.report is not None:
            inventory_now = _without_collected(inventory_now, gc.report, failures)
        # Saved even when the pass failed half-way: what was applied stays known.
        self._save_inventory(inventory, inventory_now)
        failures.extend(
            ResourceFailure("", path, f"--git-path '{path}' does not exist in this revision")
            for path in the_pass.missing_paths
        )
        applied, unchanged, drifted = counts
        return SyncResult(
            revision=the_pass.revision,
            started_at=the_pass.started,
            duration=self._clock.monotonic() - the_pass.began,
            applied=applied,
            unchanged=unchanged,
            drifted=drifted,
            failures=tuple(failures),
            deleted=gc.report.deleted if gc.report is not None else (),
            gc_skipped=gc.skipped,
            desired=desired_ids,
            gc_hold=gc.hold,
            timed_out=timed_out,
        )

    def _item(self, resource: Resource) -> Marked:
        return Marked(resource, self._set_name, self._instance)

    def _in_allowed_namespaces(self, resources: Sequence[Resource]) -> list[Resource]:
        if not self._allowed:
            return list(resources)
        kept = [r for r in resources if not r.ref.namespace or r.ref.namespace in self._allowed]
        if len(kept) != len(resources):
            skipped = sorted(str(r.ref) for r in resources if r not in kept)
            log.warning("event=skipped-namespaces reason=not-allowed ids=%s", ",".join(skipped))
        return kept

    def _drift(self, unchanged: Sequence[Resource], inventory: Inventory) -> Drift:
        entries = [inventory.entries[str(r.ref)] for r in unchanged]
        if not entries:
            return Drift()
        try:
            return self._cluster.detect_drift(entries)
        except FluxError as exc:
            # Not knowing about drift is no reason to skip applying git's changes.
            log.warning("event=drift-check-failed error=%r", str(exc))
            return Drift()

    def _collect_garbage(
        self,
        the_pass: _Pass,
        inventory: Inventory,
        desired: frozenset[str],
        complete: bool,
        finished: bool,
    ) -> _Gc:
        if not self._sync.garbage_collection:
            return _Gc()
        reason = ""
        if not complete:
            reason = "some manifests could not be loaded; nothing is deleted until they are fixed"
        elif not finished:
            reason = (
                "the pass did not finish (the API server failed or --sync-timeout passed); "
                "nothing is deleted until a pass finishes"
            )
        if reason:
            log.warning("event=gc-skipped reason=%r", reason)
            return _Gc(skipped=reason)
        guard = DeletionGuard(
            the_pass.revision,
            policy=self._policy,
            inventory=len(inventory),
            desired=len(desired),
            missing_paths=the_pass.missing_paths,
            approved=self._approved,
            namespace=self._namespace,
        )
        report = self._cluster.collect_garbage(inventory, desired, rank=rank_of, guard=guard)
        return _Gc(report=report, hold=guard.hold(report.held, report.held_reason))

    def _approved(self, revision: str) -> bool:
        try:
            annotations = self._cluster.namespace_annotations(self._namespace)
        except FluxError as exc:
            log.warning("event=gc-approval-unreadable error=%r", str(exc))
            return False
        return approves(annotations, revision)

    def _rewritten_from(self, revision: str) -> str:
        """The last applied revision when ``revision`` does not descend from it."""
        previous = self.applied_revision()
        if previous is None or previous == revision:
            return ""
        try:
            if self._source.descends_from(revision, previous):
                return ""
        except GitError as exc:
            log.warning("event=history-unreadable error=%r", str(exc))
            return ""
        log.warning(
            "event=history-rewritten head=%s previous=%s: HEAD does not descend from the "
            "last applied revision (force-push or reset); syncing it anyway",
            revision[:7],
            previous[:7],
        )
        return previous

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


def _last_checksums(inventory: Inventory, set_name: str) -> dict[str, str]:
    """What the last passes applied, by id: only objects of this sync set count."""
    return {
        key: entry.checksum
        for key, entry in inventory.entries.items()
        if entry.mark == gc_mark(set_name, key)
    }


def _without_collected(
    inventory: Inventory, report: GcReport, failures: list[ResourceFailure]
) -> Inventory:
    """The inventory after garbage collection; failed deletions join ``failures``."""
    removed = [*report.gone, *(() if report.dry_run else report.deleted)]
    failures.extend(ResourceFailure(i, "", f"garbage collection: {e}") for i, e in report.failed)
    return inventory.merged((), removed)


@dataclass(frozen=True, slots=True)
class _Gc:
    report: GcReport | None = None
    skipped: str = ""
    hold: GcHold | None = None
