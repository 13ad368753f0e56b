"""The benchmark's own view of the API server: counts, probes, metrics, the ceiling.

Everything goes to the test bed's API server on 127.0.0.1 with the admin
client certificate of its kubeconfig, through httpx with keep-alive.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import ssl
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from fluxtestbed.bench.objects import LABEL, PLURAL, Manifest, RepoSet

APPLY_PATCH = "application/apply-patch+yaml"
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION"})
_SAMPLE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')

#: (verb, resource, subresource) -> count
Mutations = Counter[tuple[str, str, str]]


@dataclass(frozen=True)
class Endpoint:
    """Where the API server is and how to prove we are its admin."""

    server: str
    ssl: ssl.SSLContext

    @classmethod
    def from_kubeconfig(cls, path: Path) -> Endpoint:
        conf = yaml.safe_load(path.read_text())
        cluster = conf["clusters"][0]["cluster"]
        user = conf["users"][0]["user"]
        ctx = ssl.create_default_context(cafile=cluster["certificate-authority"])
        ctx.load_cert_chain(user["client-certificate"], user["client-key"])
        return cls(str(cluster["server"]), ctx)


class AdminApi:
    """A keep-alive admin client for checks that are not being measured."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._client = httpx.Client(base_url=endpoint.server, verify=endpoint.ssl, timeout=30)

    def close(self) -> None:
        self._client.close()

    def count_present(self, run: str) -> dict[str, int]:
        """How many objects of each kind labelled with this run exist (metadata-only LISTs)."""
        counts: dict[str, int] = {}
        for kind, (version, plural) in PLURAL.items():
            base = "/api/v1" if version == "v1" else f"/apis/{version}"
            total, cont = 0, ""
            while True:
                params = {"labelSelector": f"{LABEL}={run}", "limit": "1000"}
                if cont:
                    params["continue"] = cont
                resp = self._client.get(
                    f"{base}/{plural}", params=params, headers={"Accept": METADATA_LIST}
                )
                resp.raise_for_status()
                page = resp.json()
                total += len(page.get("items") or [])
                cont = page.get("metadata", {}).get("continue", "")
                if not cont:
                    break
            counts[kind] = total
        return counts

    def probe_value(self, manifest: Manifest) -> str | None:
        resp = self._client.get(manifest.api_path())
        if resp.status_code != 200:
            return None
        value = resp.json().get("data", {}).get("probe")
        return str(value) if value is not None else None

    def mutations(self) -> Mutations:
        """Mutating requests the API server has answered so far, by verb and resource."""
        text = self._client.get("/metrics").text
        counts: Mutations = Counter()
        for line in text.splitlines():
            match = _SAMPLE.match(line)
            if not match:
                continue
            labels = dict(_LABEL.findall(match["labels"]))
            verb = labels.get("verb", "")
            if verb not in MUTATING:
                continue
            key = (verb, labels.get("resource", ""), labels.get("subresource", ""))
            counts[key] += int(float(match["value"]))
        return counts


def mutation_delta(after: Mutations, before: Mutations) -> dict[str, int]:
    """Per ``VERB resource[/subresource]``, what happened between two snapshots."""
    out: dict[str, int] = {}
    for key in sorted(set(after) | set(before)):
        diff = after[key] - before[key]
        if diff:
            verb, resource, sub = key
            out[f"{verb} {resource}{'/' + sub if sub else ''}"] = diff
    return out


#: What fluxd can write: the repo's kinds (server-side apply), its inventory
#: ConfigMap, its Secret and Events. Controllers and kwok write other resources
#: (replicasets, endpointslices, leases) or subresources (``deployments/status``).
FLUXD_RESOURCES = frozenset(
    {"namespaces", "configmaps", "secrets", "serviceaccounts", "services", "deployments", "events"}
)


def fluxd_mutations(during: dict[str, int], idle: dict[str, int]) -> int:
    """Mutating requests of a pass window that fluxd can have made.

    Only requests to a resource fluxd writes (no subresource) count, minus the
    same requests in the idle window of equal length: ``apiserver_request_total``
    has no client label, so this is the closest the metric allows.
    """
    total = 0
    for key, count in during.items():
        resource = key.split(" ", 1)[1]
        if resource in FLUXD_RESOURCES:
            total += max(0, count - idle.get(key, 0))
    return total


@dataclass(frozen=True)
class CeilingRun:
    concurrency: int
    objects: int
    took: float
    errors: int
    first_error: str
    #: CPU seconds this (client) process used: near ``took`` means the client is the limit.
    client_cpu: float = 0.0
    client: str = "threads"

    @property
    def per_second(self) -> float:
        return self.objects / self.took if self.took > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "concurrency": self.concurrency,
            "objects": self.objects,
            "took_s": round(self.took, 3),
            "objects_per_s": round(self.per_second, 1),
            "errors": self.errors,
            "first_error": self.first_error,
            "client": self.client,
            "client_cpu_s": round(self.client_cpu, 3),
        }


def ceiling(
    endpoint: Endpoint, repo: RepoSet, concurrency: int, *, client: str = "threads"
) -> CeilingRun:
    """Server-side-apply every object of ``repo`` as fast as the API server takes them.

    Namespaces go first (as every applier must), then all other objects, with
    ``concurrency`` requests in flight over as many keep-alive connections:
    one ``httpx.Client`` shared by that many threads, or (``client="async"``)
    one ``httpx.AsyncClient`` with that many tasks.
    """
    cpu = time.process_time()
    if client == "async":
        run = asyncio.run(_ceiling(endpoint, repo, concurrency))
    else:
        run = _ceiling_threads(endpoint, repo, concurrency)
    return dataclasses.replace(run, client=client, client_cpu=time.process_time() - cpu)


def _ceiling_threads(endpoint: Endpoint, repo: RepoSet, concurrency: int) -> CeilingRun:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    errors: list[str] = []
    headers = {"Content-Type": APPLY_PATCH, "Accept": "application/json"}
    params = {"fieldManager": "bench", "force": "true"}
    with (
        httpx.Client(
            base_url=endpoint.server, verify=endpoint.ssl, limits=limits, timeout=60
        ) as http,
        ThreadPoolExecutor(concurrency) as pool,
    ):

        def send(manifest: Manifest) -> None:
            resp = http.patch(
                manifest.api_path(),
                params=params,
                content=manifest.text().encode(),
                headers=headers,
            )
            if resp.status_code >= 300:
                errors.append(f"{manifest.api_path()}: {resp.status_code} {resp.text[:200]}")

        began = time.perf_counter()
        for stage in (repo.namespaces, repo.objects):
            list(pool.map(send, stage))
        took = time.perf_counter() - began
    return CeilingRun(concurrency, len(repo.all), took, len(errors), errors[0] if errors else "")


async def _ceiling(endpoint: Endpoint, repo: RepoSet, concurrency: int) -> CeilingRun:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    errors: list[str] = []
    async with httpx.AsyncClient(
        base_url=endpoint.server, verify=endpoint.ssl, limits=limits, timeout=60
    ) as client:
        began = time.perf_counter()
        for stage in (repo.namespaces, repo.objects):
            await _send_stage(client, stage, concurrency, errors)
        took = time.perf_counter() - began
    return CeilingRun(concurrency, len(repo.all), took, len(errors), errors[0] if errors else "")


async def _send_stage(
    client: httpx.AsyncClient, stage: Sequence[Manifest], concurrency: int, errors: list[str]
) -> None:
    queue: asyncio.Queue[Manifest] = asyncio.Queue()
    for manifest in stage:
        queue.put_nowait(manifest)

    async def worker() -> None:
        while True:
            try:
                manifest = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            resp = await client.patch(
                manifest.api_path(),
                params={"fieldManager": "bench", "force": "true"},
                content=manifest.text().encode(),
                headers={"Content-Type": APPLY_PATCH, "Accept": "application/json"},
            )
            if resp.status_code >= 300:
                errors.append(f"{manifest.api_path()}: {resp.status_code} {resp.text[:200]}")

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(stage)) or 1)))
