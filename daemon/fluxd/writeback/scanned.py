"""``ImageSource`` over the registry scan: ``<all latest>`` releases use what it found.

The cache keys repositories as workloads spell them (``nginx``,
``docker.io/library/nginx``); a release asks by canonical name, so every
spelling that reads as the same host and path counts. A repository not
scanned (yet), or scanned with an error and no tags, is "unknown".
"""

from __future__ import annotations

from fluxd.errors import FluxError
from fluxd.registry import ImageCache, RepoState, parse_filter, select_tag
from fluxd.writeback.imagerefs import ImageRef

__all__ = ["ScannedImages"]


class ScannedImages:
    """The tags the registry scan listed, with their creation times."""

    def __init__(self, cache: ImageCache) -> None:
        self._cache = cache

    def latest_tag(self, canonical_name: str, pattern: str) -> str | None:
        state = self._state(canonical_name)
        if state is None:
            return None
        try:
            tag_filter = parse_filter(pattern)
        except FluxError:
            return None  # the release reports no image; the bad filter is logged by the scan
        # With no current tag, select_tag's answer is the filter's choice itself.
        return select_tag(tag_filter, state.times(), "")

    def exists(self, canonical_name: str, tag: str) -> bool | None:
        state = self._state(canonical_name)
        return None if state is None else tag in state.tags

    def _state(self, canonical_name: str) -> RepoState | None:
        for name in self._cache.names():
            if _canonical(name) == canonical_name:
                state = self._cache.get(name)
                if state is not None and state.tags:
                    return state
        return None


def _canonical(name: str) -> str:
    try:
        return ImageRef.parse(name).canonical_name
    except ValueError:
        return ""
