"""Image references as Docker reads them: ``[host[:port]/]path[:tag][@digest]``.

A first path component is a registry host only when it looks like one (a dot,
a port, or ``localhost``); otherwise the image is on Docker Hub, whose
one-component names live under ``library/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fluxd.errors import UserError

DOCKER_HUB = "docker.io"
#: Where Docker Hub's registry API answers.
DOCKER_HUB_API = "registry-1.docker.io"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io"}
_PATH = re.compile(
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")


@dataclass(frozen=True, slots=True)
class ImageName:
    """A repository: the name as written (``nginx``), its host and its path."""

    #: As the workload spells it, without tag or digest; what users see.
    name: str
    #: The registry host (``docker.io`` for Docker Hub), with any port.
    host: str
    #: The repository path on that host (``library/nginx``).
    path: str

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.host == DOCKER_HUB else self.host

    def with_tag(self, tag: str) -> str:
        return f"{self.name}:{tag}"


@dataclass(frozen=True, slots=True)
class ImageRef:
    image: ImageName
    tag: str = ""
    digest: str = ""


def parse_image(text: str) -> ImageRef:
    """Read a container's ``image``; ``UserError`` naming it when it is not a reference."""
    rest, _, digest = text.strip().partition("@")
    tag = ""
    colon = rest.rfind(":")
    if colon > rest.rfind("/"):
        rest, tag = rest[:colon], rest[colon + 1 :]
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        host, path = first, remainder
    else:
        host, path = DOCKER_HUB, rest
    if host in _HUB_ALIASES:
        host = DOCKER_HUB
        path = path if "/" in path else f"library/{path}"
    if not _PATH.match(path) or (tag and not _TAG.match(tag)):
        raise UserError(
            f"image {text!r} is not a valid image reference",
            help="Write it as [registry/]repository[:tag], e.g. nginx:1.17 or "
            "registry.example.com:5000/team/app:v1.",
        )
    return ImageRef(ImageName(name=rest, host=host, path=path), tag=tag, digest=digest)
