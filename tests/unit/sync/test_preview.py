"""A diff plans like a pass: only objects that may differ are dry-run."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field

from fluxd.cluster import ApplyItem, Drift, GcReport, Inventory, InventoryEntry, Preview
from fluxd.manifests import gc_mark
from fluxd.sync.changes import Action
from fluxd.sync.preview import Previewer, Scope, blob_id
from fluxids import ObjectRef

SET = "set"


def _config_map(name: str, value: str) -> bytes:
    return (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: demo\n"
        f"data:\n  k: '{value}'\n"
    ).encode()


FILES = {f"{n}.yaml": _config_map(n, "1") for n in ("same", "drifted", "edited", "new")}


@dataclass
class FakeCluster:
    """Implements ``fluxd.sync.preview.PreviewCluster`` over canned answers."""

    drifted: frozenset[str] = frozenset()
    doomed: tuple[str, ...] = ()
    previewed: list[str] = field(default_factory=list)
    deleted_asked: list[str] = field(default_factory=list)

    def scope(self, api_version: str, kind: str) -> bool | None:
        return True

    def detect_drift(self, entries: Iterable[InventoryEntry]) -> Drift:
        return Drift(changed=frozenset(e.id for e in entries if e.id in self.drifted))

    def preview_apply(self, items: Sequence[ApplyItem]) -> list[Preview]:
        self.previewed += [str(i.ref) for i in items]
        return [Preview(str(i.ref), i.source, i.ref.kind, {"a": 1}, {"a": 2}) for i in items]

    def preview_delete(self, entries: Sequence[InventoryEntry]) -> list[Preview]:
        self.deleted_asked += [e.id for e in entries]
        return [Preview(e.id, "", e.ref.kind, {"a": 1}, None) for e in entries]

    def collect_garbage(
        self,
        inventory: Inventory,
        desired: Collection[str],
        *,
        rank: Callable[[str], int],
        dry_run: bool | None = None,
    ) -> GcReport:
        assert dry_run is True
        return GcReport(True, deleted=tuple(i for i in self.doomed if i not in desired))


def _inventory() -> Inventory:
    # What the last pass applied: "same", "drifted" and "edited" as in FILES,
    # "edited" since changed in git, and "gone", no longer in git.
    checksums = {}
    previewer = Previewer(_NoSource(), FakeCluster(), Scope(SET, "demo"), Inventory)
    for resource in previewer._load(FILES, {p: blob_id(c) for p, c in FILES.items()}).resources:
        checksums[resource.ref.name] = resource.checksum
    entries = [
        InventoryEntry(
            ObjectRef("demo", "ConfigMap", name, "v1"),
            mark=gc_mark(SET, f"demo:configmap/{name}"),
            checksum=checksums.get(name, "old"),
        )
        for name in ("same", "drifted", "gone")
    ]
    entries.append(
        InventoryEntry(
            ObjectRef("demo", "ConfigMap", "edited", "v1"),
            mark=gc_mark(SET, "demo:configmap/edited"),
            checksum="before-the-edit",
        )
    )
    return Inventory.of(entries)


class _NoSource:
    def head(self) -> str:
        raise AssertionError("not used")

    def manifest_files(self, revision: str, *, skip_missing: bool = False) -> dict[str, str]:
        raise AssertionError("not used")

    def missing_paths(self, revision: str) -> list[str]:
        return []

    def descends_from(self, revision: str, ancestor: str) -> bool:
        return True

    def read_blob(self, blob_sha: str) -> bytes:
        raise AssertionError("not used")


def test_only_new_changed_and_drifted_objects_are_dry_run() -> None:
    cluster = FakeCluster(drifted=frozenset({"demo:configmap/drifted"}))
    inventory = _inventory()
    previewer = Previewer(_NoSource(), cluster, Scope(SET, "demo"), lambda: inventory)
    report = previewer.of_files(FILES)
    assert sorted(cluster.previewed) == [
        "demo:configmap/drifted",
        "demo:configmap/edited",
        "demo:configmap/new",
    ]
    assert report.count(Action.CHANGE) == 3 and report.count(Action.UNCHANGED) == 1
    assert cluster.deleted_asked == []
    assert any("garbage collection is off" in note for note in report.notes)


def test_with_garbage_collection_what_left_git_is_shown_deleted() -> None:
    cluster = FakeCluster(doomed=("demo:configmap/gone",))
    inventory = _inventory()
    scope = Scope(SET, "demo", garbage_collection=True)
    report = Previewer(_NoSource(), cluster, scope, lambda: inventory).of_files(FILES)
    assert cluster.deleted_asked == ["demo:configmap/gone"]
    assert [(c.action, c.id) for c in report.changes if c.action is Action.DELETE] == [
        (Action.DELETE, "demo:configmap/gone")
    ]


def test_a_broken_file_fails_alone_and_stops_deletions() -> None:
    cluster = FakeCluster(doomed=("demo:configmap/gone",))
    inventory = _inventory()
    scope = Scope(SET, "demo", garbage_collection=True)
    files = {**FILES, "bad.yaml": b"a: b: c\n"}
    report = Previewer(_NoSource(), cluster, scope, lambda: inventory).of_files(files)
    failed = [c for c in report.changes if c.action is Action.FAILED]
    assert [c.source for c in failed] == ["bad.yaml"] and "line 1" in failed[0].error
    assert cluster.deleted_asked == []
    assert report.count(Action.CHANGE) == 2  # edited and new; the rest is as applied
