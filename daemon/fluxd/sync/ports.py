"""What a sync pass needs of git and of the cluster: the engine's two seams.

``fluxd.git.GitMirror`` and ``fluxd.cluster.Cluster`` fit them; the
benchmarks' in-memory source does too.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Protocol

from fluxd.cluster import (
    ApplyItem,
    ApplyOutcome,
    Drift,
    GcReport,
    Inventory,
    InventoryEntry,
    LiveMeta,
)
from fluxids import ObjectRef


class Source(Protocol):
    """What a pass reads from git."""

    def head(self) -> str: ...

    def manifest_files(self, revision: str, *, skip_missing: bool = False) -> dict[str, str]: ...

    def missing_paths(self, revision: str) -> list[str]: ...

    def descends_from(self, revision: str, ancestor: str) -> bool: ...

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
        deadline: float | None = None,
    ) -> list[ApplyOutcome]: ...

    def detect_drift(self, entries: Iterable[InventoryEntry]) -> Drift: ...

    def foreign_objects(self, refs: Iterable[ObjectRef]) -> dict[ObjectRef, LiveMeta]:
        """Of ``refs``, those live with another install's label or an unlabelled gc mark."""
        ...

    def load_inventory(self) -> Inventory: ...

    def save_inventory(self, inventory: Inventory) -> None: ...

    def collect_garbage(
        self,
        inventory: Inventory,
        desired: Collection[str],
        *,
        rank: Callable[[str], int],
        guard: Callable[[Sequence[str]], str] | None = None,
    ) -> GcReport: ...

    def namespace_annotations(self, name: str) -> dict[str, str]: ...


class LazyBlobs(Mapping[str, bytes]):
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
