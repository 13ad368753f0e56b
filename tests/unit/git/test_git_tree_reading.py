"""Reading odd trees from an object store: deep nesting, names that are not
UTF-8, symlinks. The trees are built in memory, as a hostile push would
deliver them, including depths no file system would let git check out."""

from __future__ import annotations

import stat
import tracemalloc

import pytest
from dulwich.object_store import MemoryObjectStore
from dulwich.objects import Blob, Commit, ObjectID, RawObjectID, ShaFile, Tree

from fluxd.errors import GitError
from fluxd.git.reading import MAX_TREE_DEPTH, TreeReader

MANIFEST = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\n"


def _commit(store: MemoryObjectStore, tree: Tree) -> str:
    store.add_object(tree)
    commit = Commit()
    commit.tree = tree.id
    commit.author = commit.committer = b"Test <test@example.com>"
    commit.author_time = commit.commit_time = 0
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = b"odd tree\n"
    store.add_object(commit)
    return commit.id.decode()


def _blob(store: MemoryObjectStore, data: bytes) -> ObjectID:
    blob = Blob.from_string(data)
    store.add_object(blob)
    return blob.id


def _nested(store: MemoryObjectStore, depth: int) -> Tree:
    """``d/d/.../d/deep.yaml`` with ``depth`` directories."""
    tree = Tree()
    tree.add(b"deep.yaml", stat.S_IFREG | 0o644, _blob(store, MANIFEST))
    for _ in range(depth):
        store.add_object(tree)
        parent = Tree()
        parent.add(b"d", stat.S_IFDIR, tree.id)
        tree = parent
    return tree


def test_a_tree_nested_deeper_than_pythons_recursion_limit_is_listed() -> None:
    store = MemoryObjectStore()
    revision = _commit(store, _nested(store, 1500))
    files = TreeReader(store).manifest_files(revision, [])
    assert list(files) == ["d/" * 1500 + "deep.yaml"]


def test_a_tree_nested_deeper_than_git_allows_is_refused_with_a_git_error() -> None:
    store = MemoryObjectStore()
    revision = _commit(store, _nested(store, MAX_TREE_DEPTH + 5))
    with pytest.raises(GitError, match="nest more than"):
        TreeReader(store).manifest_files(revision, [])


def test_names_that_are_not_utf8_are_escaped_and_symlinks_are_not_manifests() -> None:
    store = MemoryObjectStore()
    tree = Tree()
    tree.add(b"caf\xe9.yaml", stat.S_IFREG | 0o644, _blob(store, MANIFEST))
    tree.add(b"leak.yaml", stat.S_IFLNK, _blob(store, b"/etc/passwd"))
    revision = _commit(store, tree)
    files = TreeReader(store).manifest_files(revision, [])
    # Printable (encodable as UTF-8), so JSON answers and Events can carry it.
    assert list(files) == ["caf\\xe9.yaml"]


def test_listings_of_shared_subtrees_are_cached_by_tree_id() -> None:
    store = MemoryObjectStore()
    shared = _nested(store, 3)
    store.add_object(shared)
    root = Tree()
    root.add(b"a", stat.S_IFDIR, shared.id)
    root.add(b"b", stat.S_IFDIR, shared.id)
    reader = TreeReader(store)
    files = reader.manifest_files(_commit(store, root), [])
    assert sorted(files) == ["a/d/d/d/deep.yaml", "b/d/d/d/deep.yaml"]


class _CountingStore(MemoryObjectStore):
    """Records which objects a read fetched."""

    def __init__(self) -> None:
        super().__init__()
        self.fetched: list[bytes] = []

    def __getitem__(self, sha: ObjectID | RawObjectID) -> ShaFile:
        self.fetched.append(sha)
        return super().__getitem__(sha)


def _revision(store: MemoryObjectStore, files: dict[str, dict[str, bytes]]) -> str:
    """A commit of ``{directory: {file name: content}}``."""
    root = Tree()
    for directory, contents in files.items():
        sub = Tree()
        for name, data in contents.items():
            sub.add(name.encode(), stat.S_IFREG | 0o644, _blob(store, data))
        store.add_object(sub)
        root.add(directory.encode(), stat.S_IFDIR, sub.id)
    return _commit(store, root)


def test_a_push_relists_only_the_directories_it_changed_even_after_a_reread() -> None:
    store = _CountingStore()
    big = {f"cm-{i}.yaml": MANIFEST + str(i).encode() for i in range(50)}
    first = _revision(store, {"a": big, "b": {"x.yaml": MANIFEST}})
    pushed = _revision(store, {"a": big, "b": {"x.yaml": MANIFEST + b"# changed\n"}})
    commit = store[ObjectID(pushed.encode())]
    assert isinstance(commit, Commit)
    root = store[commit.tree]
    assert isinstance(root, Tree)
    _, unchanged_a = root[b"a"]
    reader = TreeReader(store)
    reader.manifest_files(first, [])
    reader.manifest_files(first, [])  # a no-op pass: every listing a cache hit
    store.fetched.clear()
    files = reader.manifest_files(pushed, [])
    assert len(files) == 51
    assert commit.tree in store.fetched, "the changed root is listed again"
    assert unchanged_a not in store.fetched


def test_the_listing_cache_does_not_grow_with_each_revision_read() -> None:
    store = MemoryObjectStore()
    contents = {f"cm-{i}.yaml": MANIFEST + str(i).encode() for i in range(2000)}
    revisions = [
        _revision(store, {"apps": {**contents, "push.yaml": MANIFEST + str(n).encode()}})
        for n in range(21)
    ]
    reader = TreeReader(store)
    reader.manifest_files(revisions[0], [])
    tracemalloc.start()
    try:
        reader.manifest_files(revisions[1], [])
        after_one, _ = tracemalloc.get_traced_memory()
        for revision in revisions[2:]:
            reader.manifest_files(revision, [])
        after_twenty, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Each revision's listings hold ~2,000 new paths (hundreds of KiB): kept
    # for every revision, twenty reads would hold twenty times one read's.
    assert after_twenty < 2 * after_one
