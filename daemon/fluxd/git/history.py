"""``git log old..new -- paths`` over the mirror, cheap enough to ask often.

fluxctl polls "which commits up to X are not applied yet?" while it waits, so
the answer must not cost a history walk with tree diffs each time. Commits and
trees are immutable, so what is read once is kept: each commit's parents,
tree and time, and the id each configured path has in each tree. A commit
"touches" the paths when one of them has another id than in some parent, as
``git log --full-history`` decides (so a merge that brings changes to the
paths counts); a root commit touches them if any of them exists.

The walk goes newest first and marks what is reachable from ``old`` as it
meets it, stopping once nothing left to visit can be new (git's own method),
so a short range reads only the commits near it.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from dulwich.errors import NotTreeError
from dulwich.object_store import BaseObjectStore
from dulwich.objects import Commit, ObjectID, SubmoduleEncountered, Tree

_MAX_PATH_IDS = 500_000  # (tree, path) lookups kept; about 100 bytes each


@dataclass(frozen=True, slots=True)
class _Node:
    parents: tuple[ObjectID, ...]
    tree: ObjectID
    time: int


class CommitGraph:
    """The commits of one object store, read lazily and remembered."""

    def __init__(self, store: BaseObjectStore) -> None:
        self._store = store
        self._nodes: dict[ObjectID, _Node] = {}
        self._path_ids: dict[tuple[ObjectID, bytes], ObjectID | None] = {}

    def between(self, old: ObjectID | None, new: ObjectID, paths: Sequence[bytes]) -> list[str]:
        """Ids of commits reachable from ``new`` but not ``old`` that touch ``paths``.

        Newest first; with no paths, every such commit.
        """
        return [
            sha.decode("ascii")
            for sha in self._range(old, new)
            if not paths or self._touches(sha, paths)
        ]

    def descends_from(self, new: ObjectID, old: ObjectID) -> bool:
        """Whether ``old`` is ``new`` or one of its ancestors.

        Walks all of ``new``'s history when it is not (a rewrite is rare);
        commits read once are remembered.
        """
        seen = {new}
        stack = [new]
        while stack:
            sha = stack.pop()
            if sha == old:
                return True
            for parent in self._node(sha).parents:
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return False

    def _node(self, sha: ObjectID) -> _Node:
        node = self._nodes.get(sha)
        if node is None:
            commit = self._store[sha]
            assert isinstance(commit, Commit)
            node = _Node(tuple(commit.parents), commit.tree, commit.commit_time)
            self._nodes[sha] = node
        return node

    def _range(self, old: ObjectID | None, new: ObjectID) -> list[ObjectID]:
        if old == new:
            return []
        hidden: dict[ObjectID, bool] = {new: False}  # True: reachable from old
        # Newest first; equal times in the order met, so a child precedes its parent.
        order = itertools.count()
        queue = [(-self._node(new).time, next(order), new)]
        if old is not None:
            hidden[old] = True
            queue.append((-self._node(old).time, next(order), old))
        heapq.heapify(queue)
        queued = set(hidden)
        visible_queued = 1
        walked: list[ObjectID] = []
        while queue and visible_queued:
            _, _, sha = heapq.heappop(queue)
            queued.discard(sha)
            is_hidden = hidden[sha]
            if not is_hidden:
                visible_queued -= 1
                walked.append(sha)
            for parent in self._node(sha).parents:
                if parent not in hidden:
                    hidden[parent] = is_hidden
                    queued.add(parent)
                    if not is_hidden:
                        visible_queued += 1
                    heapq.heappush(queue, (-self._node(parent).time, next(order), parent))
                elif is_hidden and not hidden[parent]:
                    hidden[parent] = True
                    if parent in queued:
                        visible_queued -= 1
        # A commit walked before a clock-skewed path from old reached it.
        return [sha for sha in walked if not hidden[sha]]

    def _touches(self, sha: ObjectID, paths: Sequence[bytes]) -> bool:
        node = self._node(sha)
        mine = [self._path_id(node.tree, p) for p in paths]
        if not node.parents:
            return any(m is not None for m in mine)
        return any(
            [self._path_id(self._node(parent).tree, p) for p in paths] != mine
            for parent in node.parents
        )

    def _path_id(self, tree_id: ObjectID, path: bytes) -> ObjectID | None:
        key = (tree_id, path)
        if key not in self._path_ids:
            if len(self._path_ids) >= _MAX_PATH_IDS:
                self._path_ids.clear()
            tree = self._store[tree_id]
            assert isinstance(tree, Tree)
            try:
                self._path_ids[key] = tree.lookup_path(self._store.__getitem__, path)[1]
            except (KeyError, NotTreeError, SubmoduleEncountered):
                self._path_ids[key] = None
        return self._path_ids[key]
