"""Image registries: references, the registry HTTP API, scanning into a cache,
and the tag filters automation selects by.

httpx is imported in ``fluxd.registry.client`` only; what leaves this
package are frozen dataclasses and ``RegistryError``.
"""

from fluxd.registry.cache import ImageCache, ImageMeta, RepoState
from fluxd.registry.client import Credentials, RegistryClient
from fluxd.registry.credentials import BadConfig, from_secret, read_docker_config
from fluxd.registry.filters import (
    DEFAULT_FILTER,
    TagFilter,
    container_filter,
    parse_filter,
    select_tag,
    sort_newest_first,
)
from fluxd.registry.refs import ImageName, ImageRef, parse_image
from fluxd.registry.scanner import Scanner, ScanObserver, ScanSummary, ScanTarget
from fluxd.registry.semver import parse_version

__all__ = [
    "DEFAULT_FILTER",
    "BadConfig",
    "Credentials",
    "ImageCache",
    "ImageMeta",
    "ImageName",
    "ImageRef",
    "RegistryClient",
    "RepoState",
    "ScanObserver",
    "ScanSummary",
    "ScanTarget",
    "Scanner",
    "TagFilter",
    "container_filter",
    "from_secret",
    "parse_filter",
    "parse_image",
    "parse_version",
    "read_docker_config",
    "select_tag",
    "sort_newest_first",
]
