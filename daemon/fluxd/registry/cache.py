"""What fluxd knows of each repository: its tags, each tag's metadata, the last error.

In memory, instead of Flux v1's memcached: one fluxd scans, one fluxd reads,
and 200 tags of metadata are a few tens of kilobytes. Lost on restart; the
first scan after a start fetches everything again.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ImageMeta:
    """One tag as its manifest and config say."""

    digest: str
    image_id: str
    created: datetime | None
    labels: Mapping[str, str]
    fetched: datetime


@dataclass(frozen=True, slots=True)
class RepoState:
    """A repository: every tag listed (None: metadata not fetched yet), and how it went."""

    tags: Mapping[str, ImageMeta | None] = field(default_factory=dict)
    #: The last scan's error ("" when it went through).
    error: str = ""
    #: When the tags were last listed (None: never).
    listed: datetime | None = None
    #: Monotonic time before which the repository is not asked again (backoff).
    not_before: float = 0.0
    #: Throttled answers in a row (429, 5xx, no answer): the backoff's exponent.
    throttled: int = 0

    def times(self) -> dict[str, datetime | None]:
        """Tag -> creation time (None when unknown), for the tag filters."""
        return {tag: meta.created if meta else None for tag, meta in self.tags.items()}


class ImageCache:
    """Repository name -> ``RepoState``; readers get consistent snapshots."""

    def __init__(self) -> None:
        self._repos: dict[str, RepoState] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> RepoState | None:
        with self._lock:
            return self._repos.get(name)

    def put(self, name: str, state: RepoState) -> None:
        with self._lock:
            self._repos[name] = state

    def update(self, name: str, **changes: object) -> RepoState:
        with self._lock:
            state = replace(self._repos.get(name) or RepoState(), **changes)  # type: ignore[arg-type]
            self._repos[name] = state
            return state

    def names(self) -> list[str]:
        """Every repository known, as the workloads spell them."""
        with self._lock:
            return list(self._repos)

    def forget_except(self, names: set[str]) -> None:
        """Drop repositories no workload uses any more."""
        with self._lock:
            for name in set(self._repos) - names:
                del self._repos[name]

    def sizes(self) -> tuple[int, int]:
        """(repositories, tags with metadata)."""
        with self._lock:
            tags = sum(sum(1 for m in s.tags.values() if m) for s in self._repos.values())
            return len(self._repos), tags
