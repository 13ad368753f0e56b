"""The ``coordination.k8s.io/v1`` Lease the replicas of one install elect a leader with.

Only reading and writing the object lives here; the rules of the election
(who may take it when) are ``fluxd.sync.election``'s. Every write carries
the ``resourceVersion`` that was read, so of two replicas racing for the
Lease the API server lets exactly one through and answers the other 409.

Besides the holder, the Lease carries the leader's API address in an
annotation: the other replicas forward writes (``fluxctl sync``) there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fluxd.cluster.client import KubeClient
from fluxd.cluster.errors import api_error
from fluxd.cluster.paths import api_path
from fluxd.errors import ClusterError

ADDRESS_ANNOTATION = "fluxd.io/leader-address"
_API_VERSION = "coordination.k8s.io/v1"


class LeaseConflict(ClusterError):
    """Someone else wrote the Lease since we read it (HTTP 409): we lost the race."""


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """What a Lease says about its holder."""

    holder: str
    duration: float
    transitions: int = 0
    address: str = ""
    #: The server's version of the object; empty for a Lease not written yet.
    version: str = ""
    acquired: str = ""


def _micro_time(now: dt.datetime | None = None) -> str:
    """The API's MicroTime form: RFC 3339 with microseconds, UTC."""
    return (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaseStore:
    """Reads and writes one Lease."""

    def __init__(self, client: KubeClient, *, namespace: str, name: str) -> None:
        self._client = client
        self._namespace = namespace
        self._name = name

    @property
    def name(self) -> str:
        return f"{self._namespace}/{self._name}"

    def _path(self, name: str = "") -> str:
        return api_path(_API_VERSION, "leases", namespace=self._namespace, name=name)

    def get(self) -> LeaseRecord | None:
        """The Lease as it is now; None when there is none yet."""
        response = self._client.request("GET", self._path(self._name))
        if response.status == 404:
            return None
        if not response.ok:
            raise api_error(response.status, response.body, what=f"reading Lease {self.name}")
        return _record(response.json())

    def write(self, record: LeaseRecord, *, previous: LeaseRecord | None) -> LeaseRecord:
        """Create the Lease (``previous`` None) or replace the version ``previous`` read.

        ``LeaseConflict`` when another replica wrote it first.
        """
        body = self._body(record, previous)
        if previous is None or not previous.version:
            method, path = "POST", self._path()
        else:
            method, path = "PUT", self._path(self._name)
        response = self._client.request(method, path, body=body)
        if response.status == 409:
            raise LeaseConflict(f"Lease {self.name} was written by another replica first")
        if not response.ok:
            raise api_error(response.status, response.body, what=f"writing Lease {self.name}")
        return _record(response.json())

    def _body(self, record: LeaseRecord, previous: LeaseRecord | None) -> dict[str, Any]:
        now = _micro_time()
        metadata: dict[str, Any] = {
            "name": self._name,
            "namespace": self._namespace,
            "labels": {"app.kubernetes.io/managed-by": "fluxd"},
            "annotations": {ADDRESS_ANNOTATION: record.address},
        }
        if previous is not None and previous.version:
            metadata["resourceVersion"] = previous.version
        spec: dict[str, Any] = {
            "holderIdentity": record.holder,
            # Whole seconds, at least one, as the API requires.
            "leaseDurationSeconds": max(1, round(record.duration)),
            "leaseTransitions": record.transitions,
            "renewTime": now,
            "acquireTime": record.acquired or now,
        }
        return {"apiVersion": _API_VERSION, "kind": "Lease", "metadata": metadata, "spec": spec}


def _record(body: dict[str, Any]) -> LeaseRecord:
    meta = body.get("metadata") or {}
    spec = body.get("spec") or {}
    annotations = meta.get("annotations") or {}
    return LeaseRecord(
        holder=str(spec.get("holderIdentity") or ""),
        duration=float(spec.get("leaseDurationSeconds") or 0),
        transitions=int(spec.get("leaseTransitions") or 0),
        address=str(annotations.get(ADDRESS_ANNOTATION, "")),
        version=str(meta.get("resourceVersion", "")),
        acquired=str(spec.get("acquireTime") or ""),
    )
