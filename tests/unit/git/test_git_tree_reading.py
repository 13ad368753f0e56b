"""Reading odd trees from an object store: deep nesting, names that are not
UTF-8, symlinks. The trees are built in memory, as a hostile push would
deliver them, including depths no file system would let git check out."""

from __future__ import annotations

import stat

import pytest
from dulwich.object_store import MemoryObjectStore
from dulwich.objects import Blob, Commit, ObjectID, Tree

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
