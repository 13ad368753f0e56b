"""Commits made in the mirror's object store, without a working copy.

A job changes a few files of the branch head: their new blobs, the trees on
their paths and one commit are added to the store; every other object is
shared with the parent. Pushing then sends only those.
"""

from __future__ import annotations

import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass

from dulwich.object_store import BaseObjectStore
from dulwich.objects import Blob, Commit, ObjectID, Tree

from fluxd.errors import GitError

__all__ = ["Author", "PushConflict", "commit_changes"]


class PushConflict(GitError):
    """The branch moved upstream between the fetch and the push; nothing was pushed."""

    default_help = "fluxd fetches the new head and makes the change again on it."


@dataclass(frozen=True, slots=True)
class Author:
    name: str
    email: str

    def identity(self) -> bytes:
        return f"{self.name} <{self.email}>".encode()


def commit_changes(
    store: BaseObjectStore,
    parent: Commit,
    files: Mapping[str, bytes],
    *,
    message: str,
    committer: Author,
    author: Author | None = None,
) -> Commit:
    """A commit on ``parent`` with ``files`` (repo path -> content) replaced."""
    changes: dict[tuple[bytes, ...], ObjectID] = {}
    for path, content in files.items():
        blob = Blob.from_string(content)
        store.add_object(blob)
        changes[tuple(path.encode().split(b"/"))] = blob.id
    commit = Commit()
    commit.tree = _updated_tree(store, parent.tree, changes)
    commit.parents = [parent.id]
    commit.committer = committer.identity()
    commit.author = (author or committer).identity()
    commit.commit_time = commit.author_time = int(time.time())
    commit.commit_timezone = commit.author_timezone = 0
    commit.message = message.encode()
    store.add_object(commit)
    return commit


def _updated_tree(
    store: BaseObjectStore, tree_id: ObjectID, changes: Mapping[tuple[bytes, ...], ObjectID]
) -> ObjectID:
    """``tree_id`` with the blobs of ``changes`` (paths relative to it) swapped in."""
    tree = store[tree_id]
    if not isinstance(tree, Tree):
        raise GitError(f"object {tree_id.decode()} is not a tree")
    new = Tree()
    for entry in tree.iteritems():
        new.add(entry.path, entry.mode, entry.sha)
    below: dict[bytes, dict[tuple[bytes, ...], ObjectID]] = {}
    for parts, blob_id in changes.items():
        if len(parts) == 1:
            mode = tree[parts[0]][0] if parts[0] in tree else stat.S_IFREG | 0o644
            new.add(parts[0], mode, blob_id)
        else:
            below.setdefault(parts[0], {})[parts[1:]] = blob_id
    for name, sub in below.items():
        if name not in tree or not stat.S_ISDIR(tree[name][0]):
            raise GitError(f"directory {name.decode(errors='replace')!r} is not in the tree")
        new.add(name, stat.S_IFDIR, _updated_tree(store, tree[name][1], sub))
    store.add_object(new)
    return new.id
