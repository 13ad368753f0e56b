"""Reading manifests and config blobs: which blob holds the config, when the image was made.

Docker schema 2 and OCI manifests name their config blob; a Docker manifest
list or OCI index names one manifest per platform, of which we take
linux/amd64 (Flux v1 scanned for that platform only). The creation time is
the config's ``created``; Flux v1 also read two labels that record a build
time, and shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fluxd.errors import RegistryError

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_ACCEPT = ", ".join((DOCKER_MANIFEST, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX))
PLATFORM = ("linux", "amd64")
#: The labels Flux v1 kept (image.Labels): build times some images record.
TIME_LABELS = ("org.label-schema.build-date", "org.opencontainers.image.created")


@dataclass(frozen=True, slots=True)
class Manifest:
    """Either a config digest (an image manifest) or a platform's manifest digest (an index)."""

    config_digest: str = ""
    platform_digest: str = ""


@dataclass(frozen=True, slots=True)
class ConfigInfo:
    image_id: str
    created: datetime | None
    labels: Mapping[str, str] = field(default_factory=dict)


def read_manifest(body: Mapping[str, Any], path: str, tag: str) -> Manifest:
    """The blob (or, for an index, the manifest) to fetch next."""
    media = body.get("mediaType") or ""
    manifests = body.get("manifests")
    if media in (DOCKER_LIST, OCI_INDEX) or isinstance(manifests, list):
        return Manifest(platform_digest=_platform_digest(manifests or [], path, tag))
    config = body.get("config")
    if isinstance(config, Mapping) and isinstance(config.get("digest"), str):
        return Manifest(config_digest=config["digest"])
    if body.get("schemaVersion") == 1:
        raise RegistryError(
            f"{path}:{tag} has a schema 1 manifest, which registries no longer serve",
            help="Push the image again with a current tool (schema 2 or OCI).",
        )
    raise RegistryError(f"{path}:{tag}: the manifest names no config blob")


def _platform_digest(manifests: list[Any], path: str, tag: str) -> str:
    for entry in manifests:
        if not isinstance(entry, Mapping):
            continue
        platform = entry.get("platform") or {}
        if (platform.get("os"), platform.get("architecture")) == PLATFORM:
            digest = entry.get("digest")
            if isinstance(digest, str) and digest:
                return digest
    raise RegistryError(
        f"{path}:{tag} is an index without a {'/'.join(PLATFORM)} image",
        help="fluxd reads an image's creation time from its linux/amd64 variant.",
    )


def read_config(body: Mapping[str, Any], digest: str) -> ConfigInfo:
    """The creation time and the build-time labels of a config blob."""
    config = body.get("config") or body.get("container_config") or {}
    labels = (config.get("Labels") if isinstance(config, Mapping) else None) or {}
    kept = {k: str(labels[k]) for k in TIME_LABELS if isinstance(labels, Mapping) and k in labels}
    return ConfigInfo(image_id=digest, created=parse_time(body.get("created")), labels=kept)


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 time (nanoseconds allowed), or None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    if "." in text:
        # Go writes up to nine fractional digits; Python reads six.
        head, _, rest = text.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits) :]
        text = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
