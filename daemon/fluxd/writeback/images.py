"""Where a release learns which image tags exist: the image-metadata seam.

``<all latest>`` releases ask, for each container, for the newest tag of
its repository that passes the container's tag filter. Flux v1 answered
from its registry cache. ``NoImageData`` knows nothing: such releases skip
every container with "cannot find one or more images". ``ChosenTags``
answers with the tags automation already chose from the registry scan, so
automated releases go through the same release rules as fluxctl's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from fluxd.writeback.imagerefs import ImageRef, tag_matches

__all__ = ["ChosenTags", "ImageSource", "NoImageData"]


class ImageSource(Protocol):
    def latest_tag(self, canonical_name: str, pattern: str) -> str | None:
        """The newest tag of the repository that passes ``pattern``; None if unknown."""
        ...

    def exists(self, canonical_name: str, tag: str) -> bool | None:
        """Whether the registry has the image; None if this source cannot tell."""
        ...


class NoImageData:
    """No registry data at all: every answer is "unknown"."""

    def latest_tag(self, canonical_name: str, pattern: str) -> str | None:
        return None

    def exists(self, canonical_name: str, tag: str) -> bool | None:
        return None


class ChosenTags:
    """Tags already chosen (by automation): each image's one "latest" tag.

    A tag the workload's filter in git does not pass is no answer: the
    filter may have changed since the choice was made.
    """

    def __init__(self, images: Mapping[str, str]) -> None:
        self._tags: dict[str, str] = {}
        for image in images.values():
            try:
                ref = ImageRef.parse(image)
            except ValueError:
                continue  # the release reports the container's own bad image
            if ref.tag:
                self._tags[ref.canonical_name] = ref.tag

    def latest_tag(self, canonical_name: str, pattern: str) -> str | None:
        tag = self._tags.get(canonical_name)
        return tag if tag is not None and tag_matches(pattern, tag) else None

    def exists(self, canonical_name: str, tag: str) -> bool | None:
        return True if self._tags.get(canonical_name) == tag else None
