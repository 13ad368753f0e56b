"""What a pass does when the API server fails part-way: the engine's rules.

The cluster here is a fake of the engine's own seam (``ClusterPort``) that
refuses chosen objects the way an unreachable API server does; git is an
in-memory source. The real API server is exercised by the integration and
end-to-end tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Sequence

from fluxd.cluster import (
    ApplyItem,
    ApplyOutcome,
    Drift,
    GcReport,
    Inventory,
    InventoryEntry,
    LiveMeta,
    Result,
)
from fluxd.settings import ClusterSettings, GitSettings, SyncSettings
from fluxd.sync.engine import SyncEngine
from fluxids import ObjectRef


def config_map(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  v: '1'\n"


class Source:
    def __init__(self, names: Iterable[str]) -> None:
        self.blobs = {hashlib.sha1(n.encode()).hexdigest(): config_map(n) for n in names}
        self.revision = hashlib.sha1("".join(sorted(self.blobs)).encode()).hexdigest()

    def head(self) -> str:
        return self.revision

    def manifest_files(self, revision: str, *, skip_missing: bool = False) -> dict[str, str]:
        return {f"{sha}.yaml": sha for sha in self.blobs}

    def missing_paths(self, revision: str) -> list[str]:
        return []

    def descends_from(self, revision: str, ancestor: str) -> bool:
        return True

    def read_blob(self, blob_sha: str) -> bytes:
        return self.blobs[blob_sha].encode()


class FlakyCluster:
    """Applies everything but the names in ``refuse``, which fail as transient."""

    def __init__(self, refuse: Collection[str] = ()) -> None:
        self.refuse = set(refuse)
        self.saved: Inventory | None = None
        self.gc_calls = 0
        self.sent: list[str] = []

    def scope(self, api_version: str, kind: str) -> bool | None:
        return True

    def apply(
        self,
        items: Sequence[ApplyItem],
        *,
        rank: Callable[[str], int],
        before_rest: Callable[[], Sequence[ApplyItem]] | None = None,
        deadline: float | None = None,
    ) -> list[ApplyOutcome]:
        self.sent += [item.ref.name for item in items]
        return [self._outcome(item) for item in items]

    def _outcome(self, item: ApplyItem) -> ApplyOutcome:
        refused = item.ref.name in self.refuse
        return ApplyOutcome(
            ref=item.ref,
            source=str(item.source),
            result=Result.FAILED if refused else Result.APPLIED,
            error="connection refused" if refused else "",
            transient=refused,
        )

    def detect_drift(self, entries: Iterable[InventoryEntry]) -> Drift:
        return Drift()

    def foreign_objects(self, refs: Iterable[ObjectRef]) -> dict[ObjectRef, LiveMeta]:
        return {}

    def load_inventory(self) -> Inventory:
        return Inventory()

    def save_inventory(self, inventory: Inventory) -> None:
        self.saved = inventory

    def collect_garbage(
        self,
        inventory: Inventory,
        desired: Collection[str],
        *,
        rank: Callable[[str], int],
        guard: Callable[[Sequence[str]], str] | None = None,
    ) -> GcReport:
        self.gc_calls += 1
        return GcReport(dry_run=False)

    def namespace_annotations(self, name: str) -> dict[str, str]:
        return {}


class Marker:
    def __init__(self) -> None:
        self.revision: str | None = None

    def get(self) -> str | None:
        return self.revision

    def set(self, revision: str) -> None:
        self.revision = revision


def engine(
    source: Source, cluster: FlakyCluster, marker: Marker, timeout: float = 60
) -> SyncEngine:
    return SyncEngine(
        source,
        cluster,
        marker,
        git=GitSettings(url="file:///repo"),
        sync=SyncSettings(garbage_collection=True, timeout=timeout),
        cluster_settings=ClusterSettings(default_namespace="apps"),
    )


def test_a_pass_cut_by_a_fault_records_what_it_applied_deletes_nothing_and_asks_a_retry() -> None:
    source = Source(f"cm-{i}" for i in range(10))
    cluster, marker = FlakyCluster(refuse={"cm-7", "cm-8", "cm-9"}), Marker()

    result = engine(source, cluster, marker).run_pass()

    assert result.needs_retry
    assert result.applied == 7
    assert cluster.gc_calls == 0
    assert "did not finish" in result.gc_skipped
    assert cluster.saved is not None and len(cluster.saved) == 7
    assert marker.revision is None  # not applied yet: fluxctl sync keeps waiting


def test_the_retry_sends_only_what_is_missing_and_then_moves_the_marker() -> None:
    source = Source(f"cm-{i}" for i in range(10))
    cluster, marker = FlakyCluster(refuse={"cm-8", "cm-9"}), Marker()
    sync = engine(source, cluster, marker)
    sync.run_pass()
    cluster.refuse.clear()
    cluster.sent.clear()

    result = sync.run_pass(check_drift=False)

    assert sorted(cluster.sent) == ["cm-8", "cm-9"]
    assert not result.needs_retry
    assert cluster.gc_calls == 1
    assert marker.revision == source.revision


def test_past_the_sync_timeout_the_pass_reports_it_and_asks_a_retry() -> None:
    source = Source(["cm-0"])
    cluster, marker = FlakyCluster(), Marker()

    result = engine(source, cluster, marker, timeout=0).run_pass()

    assert result.timed_out
    assert result.needs_retry
    assert cluster.gc_calls == 0
    assert "timed-out=true" in result.summary()
