"""Small reads and writes the daemon needs besides syncing: Secrets and Events.

With ``--sync-state=secret`` the applied revision is an annotation on the
deploy-key Secret (``flux.weave.works/sync-hwm``), so we read and patch
Secrets; Events tell ``kubectl describe`` readers what fluxd did to an object.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from fluxd.cluster.client import MERGE_PATCH, STRATEGIC_MERGE_PATCH, KubeClient, Response
from fluxd.cluster.errors import api_error
from fluxd.cluster.paths import api_path
from fluxd.errors import ClusterError
from fluxids import ObjectRef

SYNC_HWM_ANNOTATION = "flux.weave.works/sync-hwm"
EVENT_SOURCE = "fluxd"


@dataclass(frozen=True, slots=True)
class SecretData:
    """A Secret's decoded data and its annotations."""

    data: Mapping[str, bytes]
    annotations: Mapping[str, str]


class EventType(StrEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


@dataclass(frozen=True, slots=True)
class EventTarget:
    """The object an Event is about (its ref must carry the apiVersion)."""

    ref: ObjectRef
    uid: str = ""


def _secret_path(namespace: str, name: str) -> str:
    return api_path("v1", "secrets", namespace=namespace, name=name)


class SecretRequests:
    """Requests on one Secret, for the key ring's store (``fluxd.identity.SecretApi``).

    Raw JSON through a client of its own (no throttle, 30 s timeout) rather
    than the generated typed API: importing that API and its models alone
    costs about 20 MiB of memory.
    """

    def __init__(self, api_client: Any, *, namespace: str, name: str) -> None:
        self.namespace = namespace
        self.name = name
        self._client = KubeClient(api_client, timeout=30.0)
        self._collection = api_path("v1", "secrets", namespace=namespace)
        self._object = _secret_path(namespace, name)

    def get(self) -> Response:
        return self._client.request("GET", self._object)

    def create(self, body: Mapping[str, Any]) -> Response:
        return self._client.request("POST", self._collection, body=body)

    def merge_patch(self, patch: Mapping[str, Any]) -> Response:
        return self._client.request("PATCH", self._object, body=patch, content_type=MERGE_PATCH)


def read_secret(client: KubeClient, namespace: str, name: str) -> SecretData:
    """A Secret's data, base64-decoded; ``ClusterError`` (status 404) when absent."""
    secret = client.call("GET", _secret_path(namespace, name), what=f"reading Secret {name}")
    try:
        data = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
    except (binascii.Error, ValueError) as exc:
        raise ClusterError(f"Secret {namespace}/{name} holds data that is not base64") from exc
    annotations = (secret.get("metadata") or {}).get("annotations") or {}
    return SecretData(data, {str(k): str(v) for k, v in annotations.items()})


def service_account_pull_secrets(client: KubeClient, namespace: str, name: str) -> list[str]:
    """The imagePullSecrets a ServiceAccount lends its pods ([] when it has none or is gone)."""
    path = api_path("v1", "serviceaccounts", namespace=namespace, name=name)
    response = client.request("GET", path)
    if response.status == 404:
        return []
    if not response.ok:
        raise api_error(response.status, response.body, what=f"reading ServiceAccount {name}")
    entries = response.json().get("imagePullSecrets") or ()
    return [str(e["name"]) for e in entries if isinstance(e, Mapping) and e.get("name")]


def annotate_secret(
    client: KubeClient, namespace: str, name: str, annotations: Mapping[str, str | None]
) -> None:
    """Set (or, with None, remove) annotations on a Secret, touching nothing else."""
    client.call(
        "PATCH",
        _secret_path(namespace, name),
        body={"metadata": {"annotations": dict(annotations)}},
        content_type=STRATEGIC_MERGE_PATCH,
        what=f"annotating Secret {namespace}/{name}",
    )


def record_event(
    client: KubeClient,
    target: EventTarget,
    *,
    reason: str,
    message: str,
    type: EventType = EventType.NORMAL,
) -> None:
    """Create a core/v1 Event about ``target`` from component fluxd."""
    # Events about cluster-scoped objects live in "default", as kubectl shows them.
    ref = target.ref
    namespace = ref.namespace or "default"
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    involved = {"apiVersion": ref.api_version, "kind": ref.kind, "name": ref.name}
    if ref.namespace:
        involved["namespace"] = ref.namespace
    if target.uid:
        involved["uid"] = target.uid
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{ref.name}.", "namespace": namespace},
        "involvedObject": involved,
        "reason": reason,
        "message": message[:1024],
        "type": str(type),
        "source": {"component": EVENT_SOURCE},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }
    client.call(
        "POST",
        api_path("v1", "events", namespace=namespace),
        body=event,
        what="recording an event",
    )
