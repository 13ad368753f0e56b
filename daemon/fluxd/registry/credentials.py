"""Registry credentials from Docker config files and image pull Secrets.

A ``kubernetes.io/dockerconfigjson`` Secret holds a Docker ``config.json``
(``{"auths": {host: {...}}}``) under ``.dockerconfigjson``; the older
``kubernetes.io/dockercfg`` holds just the host map under ``.dockercfg``.
An entry carries ``auth`` (base64 of ``user:password``) or ``username`` and
``password``. Hosts may be written as URLs (``https://index.docker.io/v1/``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from fluxd.registry.client import Credentials
from fluxd.registry.refs import DOCKER_HUB

_HUB_HOSTS = {"index.docker.io", "registry-1.docker.io", "docker.io", "registry.hub.docker.com"}
SECRET_KEYS = (".dockerconfigjson", ".dockercfg")


class BadConfig(ValueError):
    """A Docker config that cannot be read; the message says why."""


def normalise_host(text: str) -> str:
    """``https://index.docker.io/v1/`` -> ``docker.io``; ``host:5000/`` -> ``host:5000``."""
    host = text.strip()
    for scheme in ("https://", "http://"):
        if host.startswith(scheme):
            host = host[len(scheme) :]
    host = host.split("/", 1)[0].lower()
    return DOCKER_HUB if host in _HUB_HOSTS else host


def read_docker_config(raw: bytes) -> dict[str, Credentials]:
    """Credentials by registry host from a ``config.json`` or ``.dockercfg`` document."""
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise BadConfig(f"not JSON: {exc}") from exc
    if not isinstance(document, Mapping):
        raise BadConfig("not a JSON object")
    auths = document.get("auths", document)
    if not isinstance(auths, Mapping):
        raise BadConfig("'auths' is not an object")
    found: dict[str, Credentials] = {}
    for host, entry in auths.items():
        credentials = _entry(entry) if isinstance(entry, Mapping) else None
        if credentials is not None:
            found[normalise_host(str(host))] = credentials
    return found


def _entry(entry: Mapping[str, Any]) -> Credentials | None:
    user, password = entry.get("username"), entry.get("password")
    if isinstance(user, str) and isinstance(password, str) and user:
        return Credentials(user, password)
    auth = entry.get("auth")
    if not isinstance(auth, str) or not auth:
        return None
    try:
        decoded = base64.b64decode(auth, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise BadConfig("an 'auth' entry is not base64 of user:password") from exc
    user, sep, password = decoded.partition(":")
    if not sep:
        raise BadConfig("an 'auth' entry is not base64 of user:password")
    return Credentials(user, password)


def from_secret(data: Mapping[str, bytes]) -> dict[str, Credentials]:
    """Credentials of an image pull Secret's data (empty when it holds none)."""
    for key in SECRET_KEYS:
        if key in data:
            return read_docker_config(data[key])
    return {}
