"""Where a release learns which image tags exist: the image-metadata seam.

``<all latest>`` releases ask, for each container, for the newest tag of
its repository that passes the container's tag filter. Flux v1 answered
from its registry cache; this daemon has no registry scanning yet, so the
only source today is ``NoImageData``, which knows nothing: such releases
skip every container with "cannot find one or more images". A scanner
that implements ``ImageSource`` plugs in without touching the release code.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["ImageSource", "NoImageData"]


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
