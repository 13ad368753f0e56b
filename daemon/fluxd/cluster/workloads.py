"""The workloads fluxctl lists: Deployments, DaemonSets, StatefulSets, CronJobs.

One LIST per kind (per namespace when fluxd is limited to some), read as
plain JSON. With ``--k8s-allow-namespace`` a namespace outside the list is
not asked for at all: it lists nothing, as in Flux v1. Kinds fluxd may not
list (RBAC) are left out rather than failing the whole listing, as Flux v1
did; so are the add-ons the cluster itself runs in ``kube-system``.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fluxd.cluster.client import KubeClient
from fluxd.cluster.errors import api_error
from fluxd.cluster.paths import api_path, check_namespace
from fluxd.cluster.rollout import Rollout, WorkloadStatus, rollout_status
from fluxids import ObjectRef

log = logging.getLogger(__name__)

#: (kind, apiVersion, plural), in Flux v1's order.
WORKLOAD_KINDS = (
    ("Deployment", "apps/v1", "deployments"),
    ("DaemonSet", "apps/v1", "daemonsets"),
    ("StatefulSet", "apps/v1", "statefulsets"),
    ("CronJob", "batch/v1", "cronjobs"),
)
POLICY_PREFIXES = ("fluxcd.io/", "flux.weave.works/", "filter.fluxcd.io/")
#: Metadata the API server writes; an exported manifest that kept it could
#: not be applied elsewhere (uid, resourceVersion) or would pin old state.
_SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
)
_SERVER_ANNOTATIONS = (
    "deployment.kubernetes.io/revision",
    "kubectl.kubernetes.io/last-applied-configuration",
)


@dataclass(frozen=True, slots=True)
class Container:
    name: str
    image: str


@dataclass(frozen=True, slots=True)
class Workload:
    """One workload as the API shows it: containers, rollout, status, policies."""

    ref: ObjectRef
    status: WorkloadStatus
    rollout: Rollout
    containers: tuple[Container, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    #: Flux policy annotations (``fluxcd.io/automated``, ``fluxcd.io/tag.<c>``...).
    policies: Mapping[str, str] = field(default_factory=dict)
    #: The pod template's imagePullSecrets, and its ServiceAccount (whose
    #: pull secrets count too): where registry credentials come from.
    pull_secrets: tuple[str, ...] = ()
    service_account: str = "default"

    @property
    def id(self) -> str:
        return str(self.ref)


def list_workloads(
    client: KubeClient, namespace: str | None, *, allowed: Sequence[str] = ()
) -> list[Workload]:
    """Workloads in ``namespace`` (every allowed namespace when None), by id.

    ``InvalidName`` for a namespace that cannot exist.
    """
    found: list[Workload] = []
    for kind, api_version, plural in WORKLOAD_KINDS:
        for scope in list_scopes(namespace, allowed):
            path = api_path(api_version, plural, namespace=scope)
            found += [to_workload(kind, obj, api_version) for obj in _list(client, kind, path)]
    return sorted((w for w in found if not _is_addon(w)), key=lambda w: w.ref.sort_key)


def list_scopes(namespace: str | None, allowed: Sequence[str]) -> list[str]:
    """The namespaces to list ("" = the whole cluster): ``namespace`` cut to ``allowed``."""
    if namespace:
        check_namespace(namespace)
        return [namespace] if not allowed or namespace in allowed else []
    return list(allowed) or [""]


def to_workload(kind: str, obj: Mapping[str, Any], api_version: str = "") -> Workload:
    """A ``Workload`` from the API's JSON of one object."""
    meta = obj.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    status, rollout = rollout_status(kind, obj)
    namespace = str(meta.get("namespace") or "")
    return Workload(
        ref=ObjectRef(namespace, kind, str(meta.get("name", "")), api_version),
        status=status,
        rollout=rollout,
        containers=tuple(_containers(kind, obj)),
        labels=dict(meta.get("labels") or {}),
        policies={k: str(v) for k, v in annotations.items() if k.startswith(POLICY_PREFIXES)},
        pull_secrets=_pull_secrets(_pod_spec(kind, obj)),
        service_account=str(_pod_spec(kind, obj).get("serviceAccountName") or "default"),
    )


def _pod_spec(kind: str, obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = obj.get("spec") or {}
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    pod = (spec.get("template") or {}).get("spec") or {}
    return pod if isinstance(pod, Mapping) else {}


def _pull_secrets(pod: Mapping[str, Any]) -> tuple[str, ...]:
    entries = pod.get("imagePullSecrets") or ()
    return tuple(str(e["name"]) for e in entries if isinstance(e, Mapping) and e.get("name"))


def _containers(kind: str, obj: Mapping[str, Any]) -> Iterable[Container]:
    pod = _pod_spec(kind, obj)
    for entry in [*(pod.get("initContainers") or ()), *(pod.get("containers") or ())]:
        yield Container(str(entry.get("name", "")), str(entry.get("image", "")))


def _list(client: KubeClient, kind: str, path: str) -> list[Mapping[str, Any]]:
    response = client.request("GET", path)
    if response.status in (403, 404):
        log.info("not listing %ss at %s: HTTP %d", kind, path, response.status)
        return []
    if not response.ok:
        raise api_error(response.status, response.body, what=f"listing {kind}s")
    return list(response.json().get("items") or ())


def _is_addon(workload: Workload) -> bool:
    if workload.ref.namespace != "kube-system":
        return False
    labels = workload.labels
    return labels.get("kubernetes.io/cluster-service") == "true" or (
        "addonmanager.kubernetes.io/mode" in labels
    )


def export_workloads(client: KubeClient, *, allowed: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The allowed namespaces, then every workload in them, as manifests to apply again."""
    docs: list[tuple[str, dict[str, Any]]] = []
    for kind, api_version, plural in WORKLOAD_KINDS:
        for scope in list_scopes(None, allowed):
            for obj in _list(client, kind, api_path(api_version, plural, namespace=scope)):
                if not _is_addon(to_workload(kind, obj)):
                    doc = exportable(kind, api_version, obj)
                    docs.append((ObjectRef(_namespace(doc), kind, _name(doc)).sort_key, doc))
    return namespace_documents(allowed) + [doc for _, doc in sorted(docs, key=lambda d: d[0])]


def namespace_documents(namespaces: Sequence[str]) -> list[dict[str, Any]]:
    """Namespace manifests, which Flux v1 put before the workloads of each."""
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in namespaces
    ]


def exportable(kind: str, api_version: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    """A listed object as a manifest: typed, without status or server-written metadata."""
    # A LIST leaves apiVersion and kind out of its items; a manifest needs them.
    doc: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    doc.update(copy.deepcopy({k: v for k, v in obj.items() if k not in doc and k != "status"}))
    meta = doc.get("metadata") or {}
    for key in _SERVER_METADATA:
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    for key in _SERVER_ANNOTATIONS:
        annotations.pop(key, None)
    if not annotations:
        meta.pop("annotations", None)
    template = _pod_template(kind, doc)
    if isinstance(template.get("metadata"), dict):
        template["metadata"].pop("creationTimestamp", None)
    return doc


def _pod_template(kind: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    spec = doc.get("spec") or {}
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template")
    return template if isinstance(template, dict) else {}


def _namespace(doc: Mapping[str, Any]) -> str:
    return str((doc.get("metadata") or {}).get("namespace") or "")


def _name(doc: Mapping[str, Any]) -> str:
    return str((doc.get("metadata") or {}).get("name") or "")
