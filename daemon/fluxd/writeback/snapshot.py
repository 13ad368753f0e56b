"""The manifests at one branch head, as a write job reads them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from fluxd.errors import UserError
from fluxd.git import Author
from fluxd.manifests import ScopeResolver, load
from fluxd.writeback.release import WORKLOAD_KINDS
from fluxids import ObjectRef

__all__ = ["RepoPort", "Snapshot"]


class RepoPort(Protocol):
    """What a job needs of git (``fluxd.git.GitMirror`` fits)."""

    def refresh(self) -> str: ...

    def manifest_files(self, revision: str, *, skip_missing: bool = False) -> dict[str, str]: ...

    def read_blob(self, blob_sha: str) -> bytes: ...

    def commit_and_push(
        self, parent: str, files: Mapping[str, bytes], *, message: str, author: Author | None = ...
    ) -> str: ...


class Snapshot:
    """The manifests at one head, loaded once; file texts read on demand."""

    def __init__(self, repo: RepoPort, head: str, scope: ScopeResolver, namespace: str) -> None:
        self.head = head
        self._repo = repo
        self._blobs = repo.manifest_files(head, skip_missing=True)
        loaded = load(
            _Lazy(self._blobs, repo), self._blobs, scope=scope, default_namespace=namespace
        )
        real = [e for e in loaded.errors if not e.cause.startswith("duplicate definition")]
        if real:
            more = f" (and {len(real) - 1} more)" if len(real) > 1 else ""
            raise UserError(
                f"cannot read the manifests at {head[:7]}: {real[0]}{more}",
                help="Fix the file in git first; fluxd does not guess around a broken file.",
            )
        self.duplicated = loaded.duplicated
        self.workloads = {
            r.ref: r for r in loaded.resources if r.ref.kind.lower() in WORKLOAD_KINDS
        }
        self.by_path: dict[str, dict[ObjectRef, dict[str, Any]]] = {}
        for resource in loaded.resources:
            self.by_path.setdefault(resource.source, {})[resource.ref] = dict(resource.body)

    def text(self, path: str) -> str:
        return self._repo.read_blob(self._blobs[path]).decode("utf-8")


class _Lazy(Mapping[str, bytes]):
    def __init__(self, blobs: Mapping[str, str], repo: RepoPort) -> None:
        self._blobs, self._repo = blobs, repo

    def __getitem__(self, path: str) -> bytes:
        return self._repo.read_blob(self._blobs[path])

    def __iter__(self) -> Iterator[str]:
        return iter(self._blobs)

    def __len__(self) -> int:
        return len(self._blobs)
