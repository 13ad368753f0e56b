"""Which URL an (apiVersion, kind) lives at, and whether it is namespaced.

We read aggregated discovery (``apidiscovery.k8s.io/v2``): two requests, to
``/api`` and ``/apis``, describe every resource of every group. Servers that
predate it answer with the legacy documents instead, and we then read each
group-version's resource list (one request per group-version, concurrently).

The map is cached: kinds rarely change. A lookup that misses refreshes it
(at most once per ``min_refresh`` seconds, so a manifest with a typo cannot
make every object pay for a fresh discovery), and the apply engine refreshes
it after it applied CustomResourceDefinitions.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from fluxd.clock import Clock, SystemClock
from fluxd.cluster.client import KubeClient
from fluxd.cluster.paths import api_path

_AGGREGATED = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
)


@dataclass(frozen=True, slots=True)
class ResourceType:
    """Where objects of one kind live: ``/apis/<group_version>/<plural>``."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool

    def path(self, namespace: str = "", name: str = "") -> str:
        """The collection (or, with ``name``, the object) URL path; ``InvalidName`` if bad."""
        scope = namespace if self.namespaced else ""
        return api_path(self.api_version, self.plural, namespace=scope, name=name)


Key = tuple[str, str]


class Discovery:
    """A cached map from (apiVersion, kind) to ``ResourceType``; thread-safe."""

    def __init__(
        self,
        client: KubeClient,
        *,
        min_refresh: float = 5.0,
        aggregated: bool = True,
        clock: Clock | None = None,
    ) -> None:
        self._client = client
        self._clock: Clock = clock or SystemClock()
        self._min_refresh = min_refresh
        self._accept = _AGGREGATED if aggregated else "application/json"
        self._types: dict[Key, ResourceType] = {}
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    def lookup(self, api_version: str, kind: str) -> ResourceType | None:
        """The resource type of a kind, refreshing the cache once on a miss."""
        key = (api_version, kind)
        found = self._types.get(key)
        if found is None:
            self._refresh_if_stale()
            found = self._types.get(key)
        return found

    def cached(self, api_version: str, kind: str) -> bool:
        """Whether the kind is in the cache, without asking the server."""
        return (api_version, kind) in self._types

    def scope(self, api_version: str, kind: str) -> bool | None:
        """True if namespaced, False if cluster-scoped, None if the kind is unknown."""
        found = self.lookup(api_version, kind)
        return None if found is None else found.namespaced

    def refresh(self) -> None:
        """Read discovery again now (after CRDs were applied, for instance)."""
        with self._lock:
            self._types = _read_all(self._client, self._accept)
            self._loaded_at = self._clock.monotonic()

    def _refresh_if_stale(self) -> None:
        with self._lock:
            loaded = self._loaded_at
            if loaded is not None and self._clock.monotonic() - loaded < self._min_refresh:
                return
            self._types = _read_all(self._client, self._accept)
            self._loaded_at = self._clock.monotonic()


def _read_all(client: KubeClient, accept: str) -> dict[Key, ResourceType]:
    core = client.call("GET", "/api", accept=accept, what="discovering core kinds")
    groups = client.call("GET", "/apis", accept=accept, what="discovering API groups")
    if groups.get("kind") == "APIGroupDiscoveryList":
        types = _from_aggregated(core) | _from_aggregated(groups)
    else:
        types = _from_legacy(client, core, groups)
    return {(t.api_version, t.kind): t for t in types}


def _from_aggregated(document: dict[str, Any]) -> set[ResourceType]:
    found: set[ResourceType] = set()
    for group in document.get("items") or ():
        name = (group.get("metadata") or {}).get("name", "")
        for version in group.get("versions") or ():
            api_version = f"{name}/{version['version']}" if name else version["version"]
            for res in version.get("resources") or ():
                kind = (res.get("responseKind") or {}).get("kind")
                if kind:
                    namespaced = res.get("scope") == "Namespaced"
                    found.add(ResourceType(api_version, kind, res["resource"], namespaced))
    return found


def _from_legacy(
    client: KubeClient, core: dict[str, Any], groups: dict[str, Any]
) -> set[ResourceType]:
    versions = [str(v) for v in core.get("versions") or ()]
    for group in groups.get("groups") or ():
        versions += [str(v["groupVersion"]) for v in group.get("versions") or ()]
    with ThreadPoolExecutor(max_workers=8) as pool:
        lists = list(pool.map(lambda gv: _read_group_version(client, gv), versions))
    return {t for listing in lists for t in listing}


def _read_group_version(client: KubeClient, api_version: str) -> Iterable[ResourceType]:
    root = "/api/" if api_version == "v1" else "/apis/"
    response = client.request("GET", root + api_version)
    # A broken aggregated API (metrics-server down, say) must not hide the
    # kinds of every other group, so its failure only drops its own kinds.
    if not response.ok:
        return ()
    return [
        ResourceType(api_version, res["kind"], res["name"], bool(res.get("namespaced")))
        for res in response.json().get("resources") or ()
        if "/" not in res["name"]
    ]
