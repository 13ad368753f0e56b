"""Image references and tag filters as Flux v1 compared them.

``nginx``, ``docker.io/library/nginx`` and ``index.docker.io/library/nginx``
are one repository (its canonical name); a ref keeps the spelling it was
written with, so an edited manifest says ``nginx:1.16.1`` if it said
``nginx:1.14.2`` before.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Self

from fluxd.errors import UserError
from fluxd.writeback.semver import parse_version, satisfies

__all__ = ["ImageRef", "pattern_is_valid", "tag_matches"]

_DOCKER_HUB = "docker.io"
_NAME = re.compile(r"[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*")
_DOMAIN = re.compile(r"[A-Za-z0-9.-]+(?::[0-9]+)?")
_TAG = re.compile(r"[\w][\w.-]{0,127}")


@dataclass(frozen=True, slots=True)
class ImageRef:
    #: The repository as written, e.g. "nginx" or "quay.io/x/y".
    name: str
    tag: str = ""

    @classmethod
    def parse(cls, text: str) -> Self:
        """``[domain/]path[:tag]``; ``ValueError`` when malformed."""
        name, tag = text, ""
        slash, colon = text.rfind("/"), text.rfind(":")
        if colon > slash:
            name, tag = text[:colon], text[colon + 1 :]
            if not _TAG.fullmatch(tag):
                raise ValueError(f"invalid tag {tag[:100]!r}")
        first, sep, rest = name.partition("/")
        if sep and _is_domain(first):
            if not _DOMAIN.fullmatch(first) or not _NAME.fullmatch(rest):
                raise ValueError(f"invalid image name {name[:200]!r}")
        elif not _NAME.fullmatch(name):
            raise ValueError(f"invalid image name {name[:200]!r}")
        return cls(name, tag)

    @classmethod
    def parse_or_raise(cls, text: str, *, what: str) -> Self:
        try:
            return cls.parse(text)
        except ValueError as exc:
            raise UserError(
                f"{what}: invalid image ID {text[:200]!r}: {exc}",
                help="Write an image as [registry/]repository:tag, e.g. nginx:1.16.1.",
            ) from exc

    @property
    def canonical_name(self) -> str:
        first, sep, rest = self.name.partition("/")
        if sep and _is_domain(first):
            domain, path = first, rest
        else:
            domain, path = _DOCKER_HUB, self.name
        if domain == "index.docker.io":
            domain = _DOCKER_HUB
        if domain == _DOCKER_HUB and "/" not in path:
            path = f"library/{path}"
        return f"{domain}/{path}"

    def with_tag(self, tag: str) -> ImageRef:
        return ImageRef(self.name, tag)

    def __str__(self) -> str:
        return f"{self.name}:{self.tag}" if self.tag else self.name


def _is_domain(part: str) -> bool:
    return "." in part or ":" in part or part == "localhost"


def tag_matches(pattern: str, tag: str) -> bool:
    """Whether ``tag`` passes a tag filter: ``glob:``, ``semver:``, ``regex:``/``regexp:``."""
    kind, _, body = pattern.partition(":")
    if kind == "semver":
        version = parse_version(tag)
        return version is not None and satisfies(version, body)
    if kind in ("regex", "regexp"):
        try:
            return re.search(body, tag) is not None
        except re.error:
            return False
    if kind != "glob":
        body = pattern  # no prefix means glob
    return fnmatch.fnmatchcase(tag, body)


def pattern_is_valid(pattern: str) -> bool:
    kind, _, body = pattern.partition(":")
    if kind == "semver":
        return satisfies.check(body)
    if kind in ("regex", "regexp"):
        try:
            re.compile(body)
        except re.error:
            return False
    return True
