"""The benchmark's own view of the API server: counts and probes.

Everything goes to the test bed's API server on 127.0.0.1 with the admin
client certificate of its kubeconfig, through httpx with keep-alive. The
admin's reads are not in the audit log; its writes (publishing Flux v2's
artifact, asking it to reconcile) are, under the admin's own name.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from fluxtestbed.bench.objects import LABEL, PLURAL, Manifest
from fluxtestbed.procs import TestbedError

APPLY_PATCH = "application/apply-patch+yaml"
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"


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

    def get_json(self, path: str) -> dict[str, Any]:
        resp = self._client.get(path)
        resp.raise_for_status()
        return dict(resp.json())

    def merge_patch(self, path: str, body: dict[str, Any]) -> None:
        resp = self._client.patch(
            path, json=body, headers={"Content-Type": "application/merge-patch+json"}
        )
        if resp.status_code >= 300:
            raise TestbedError(f"PATCH {path}: {resp.status_code} {resp.text[:500]}")
