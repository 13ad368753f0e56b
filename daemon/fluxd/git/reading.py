"""Reading a revision straight from the object store: no working copy.

Trees are immutable and named by their content, so a directory's manifest
listing is cached by tree id. A new commit that touches one file re-lists only
the directories on that file's path; every other subtree is a cache hit.

The cache keeps only the listings the latest read used. A listing holds every
path below its tree, so the root's alone has an entry per manifest: kept for
each revision, 20,000 files grew fluxd by ~8 MiB per push.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Sequence

from dulwich.errors import NotTreeError
from dulwich.object_store import BaseObjectStore
from dulwich.objects import Blob, Commit, ObjectID, ShaFile, Tag, Tree

from fluxd.errors import GitError
from fluxd.git.blobsize import blob_size
from fluxd.quantities import file_too_large

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
# A directory holding both is a Helm chart: its templates are not manifests.
CHART_MARKERS = (b"Chart.yaml", b"values.yaml")
#: Deeper trees are refused, as git refuses them (core.maxTreeDepth, 2,048).
MAX_TREE_DEPTH = 2048

Listing = tuple[tuple[str, str], ...]  # (path relative to the tree, blob id)
#: A tree's listing and the ids of its subtrees, whose listings it was made of.
Listed = tuple[Listing, tuple[ObjectID, ...]]
_HEX = re.compile(r"[0-9a-fA-F]+")


def normalise_path(path: str) -> str:
    """``./deploy/`` -> ``deploy``; the repo root is ``""``."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


class TreeReader:
    """Manifest files and blobs of one object store."""

    def __init__(
        self,
        store: BaseObjectStore,
        *,
        max_blob_size: int | None = None,
    ) -> None:
        self._store = store
        #: Listings by tree id, as of the latest ``manifest_files``. Replaced
        #: whole, never changed in place: concurrent readers stay consistent.
        self._listings: dict[bytes, Listed] = {}
        self._max_blob_size = max_blob_size

    def commit(self, revision: str) -> Commit:
        obj = self._lookup_id(revision)
        while isinstance(obj, Tag):
            obj = self._store[obj.object[1]]
        if not isinstance(obj, Commit):
            raise GitError(
                f"revision {revision!r} is not a commit in the local mirror",
                help="Give a full (40 hex digits) commit id from the configured branch.",
            )
        return obj

    def manifest_files(
        self, revision: str, paths: Sequence[str], *, skip_missing: bool = False
    ) -> dict[str, str]:
        """``{repo path: blob id}`` of manifest files under ``paths`` (root if empty).

        A path missing from the revision is a ``GitError`` unless ``skip_missing``.
        """
        commit = self.commit(revision)
        found: dict[str, str] = {}
        missing = set(self.missing_paths(revision, paths)) if skip_missing else set()
        used: dict[bytes, Listed] = {}
        for raw in paths or [""]:
            if raw in missing:
                continue
            path = normalise_path(raw)
            mode, sha = self._lookup(commit, path, raw)
            prefix = f"{path}/" if path else ""
            if stat.S_ISDIR(mode):
                found.update((prefix + rel, blob) for rel, blob in self._listing(sha, used))
            elif stat.S_ISREG(mode) and path.endswith(MANIFEST_SUFFIXES):
                found[path] = sha.decode("ascii")
        self._listings = used
        return found

    def missing_paths(self, revision: str, paths: Sequence[str]) -> list[str]:
        """The ``paths`` (as given) that do not exist in ``revision``."""
        commit = self.commit(revision)
        missing: list[str] = []
        for raw in paths:
            try:
                self._lookup(commit, normalise_path(raw), raw)
            except GitError:
                missing.append(raw)
        return missing

    def read_blob(self, blob_id: str) -> bytes:
        """The content of a blob; ``LimitError`` if it is over ``max_blob_size``.

        The size is checked from the object's header first, so a huge file
        is refused without being inflated into memory.
        """
        limit = self._max_blob_size
        if limit is not None and self._is_id(blob_id):
            size = blob_size(self._store, ObjectID(blob_id.lower().encode("ascii")))
            if size is not None and size > limit:
                raise file_too_large(size, limit)
        obj = self._lookup_id(blob_id)
        if not isinstance(obj, Blob):
            raise GitError(f"blob {blob_id!r} is not in the local mirror")
        if limit is not None and obj.raw_length() > limit:  # a store without headers
            raise file_too_large(obj.raw_length(), limit)
        return obj.data

    def _is_id(self, text: str) -> bool:
        return len(text) == self._store.object_format.hex_length and bool(_HEX.fullmatch(text))

    def _lookup_id(self, text: str) -> ShaFile | None:
        # dulwich asserts on malformed ids; only full hex ids are looked up.
        if not self._is_id(text):
            return None
        try:
            return self._store[ObjectID(text.lower().encode("ascii"))]
        except KeyError:
            return None

    def _lookup(self, commit: Commit, path: str, as_given: str) -> tuple[int, ObjectID]:
        tree = self._store[commit.tree]
        assert isinstance(tree, Tree)
        try:
            return tree.lookup_path(self._store.__getitem__, path.encode())
        except (KeyError, NotTreeError) as exc:
            raise GitError(
                f"git path '{as_given}' does not exist in revision {commit.id.decode()[:7]}",
                help="Check --git-path: paths are relative to the repository root.",
            ) from exc

    def _listing(self, tree_id: ObjectID, done: dict[bytes, Listed]) -> Listing:
        """The manifests below one tree, listed without recursion.

        A pushed repo may nest directories thousands deep; Python's recursion
        limit (1,000) must not decide whether a revision can be read. Trees are
        listed children first, from an explicit stack, each once per read;
        ``done`` collects every listing the read used, cached or not, and
        those of their subtrees.
        """
        stack: list[tuple[ObjectID, int]] = [(tree_id, 0)]
        while stack:
            current, depth = stack[-1]
            if current in done or self._cached(current, done):
                stack.pop()
                continue
            if depth > MAX_TREE_DEPTH:
                raise GitError(
                    f"directories nest more than {MAX_TREE_DEPTH} levels deep in the repository",
                    help="git itself refuses trees this deep (core.maxTreeDepth); "
                    "flatten the directory layout of the manifests.",
                )
            tree = self._store[current]
            assert isinstance(tree, Tree)
            chart = _is_chart(tree)
            subtrees = () if chart else tuple(_subtree_ids(tree))
            pending = [sha for sha in subtrees if sha not in done]
            if pending:
                stack.extend((sha, depth + 1) for sha in pending)
                continue
            stack.pop()
            done[current] = (() if chart else self._list_tree(tree, done), subtrees)
        return done[tree_id][0]

    def _cached(self, tree_id: ObjectID, done: dict[bytes, Listed]) -> bool:
        """Copy a cached listing into ``done``, with its subtrees' (a later
        revision that changes one file below this tree lists them again);
        False when the cache lacks it."""
        cache = self._listings
        if tree_id not in cache:
            return False
        carry = [tree_id]
        while carry:
            current = carry.pop()
            if current not in done and current in cache:
                done[current] = cache[current]
                carry.extend(cache[current][1])
        return True

    @staticmethod
    def _list_tree(tree: Tree, done: dict[bytes, Listed]) -> Listing:
        """One tree's manifests (not a chart's), its subtrees' listings being in ``done``."""
        listing: list[tuple[str, str]] = []
        for entry in tree.iteritems():
            # git allows any bytes in a name; a name that is not UTF-8 is shown
            # with \xNN escapes, so logs, Events and API answers can carry it.
            name = entry.path.decode("utf-8", "backslashreplace")
            if stat.S_ISDIR(entry.mode):
                listing.extend((f"{name}/{rel}", blob) for rel, blob in done[entry.sha][0])
            elif stat.S_ISREG(entry.mode) and name.endswith(MANIFEST_SUFFIXES):
                listing.append((name, entry.sha.decode("ascii")))
        return tuple(listing)


def _subtree_ids(tree: Tree) -> list[ObjectID]:
    return [e.sha for e in tree.iteritems() if stat.S_ISDIR(e.mode)]


def _is_chart(tree: Tree) -> bool:
    names = {entry.path for entry in tree.iteritems()}
    return all(marker in names for marker in CHART_MARKERS)


def peel_to_commit(store: BaseObjectStore, sha: ObjectID) -> str | None:
    """The commit a ref (maybe an annotated tag) points at, or None if not a commit."""
    obj = store[sha]
    while isinstance(obj, Tag):
        obj = store[obj.object[1]]
    return obj.id.decode("ascii") if isinstance(obj, Commit) else None
