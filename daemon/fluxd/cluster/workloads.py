"""The workloads fluxctl lists: Deployments, DaemonSets, StatefulSets, CronJobs.

One LIST per kind (per namespace when fluxd is limited to some), read as
plain JSON. With ``--k8s-allow-namespace`` a namespace outside the list is
not asked for at all: it lists nothing, as in Flux v1. Kinds fluxd may not
list (RBAC) are left out rather than failing the whole listing, as Flux v1
did; so are the add-ons the cluster itself runs in ``kube-system``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fluxd.cluster.client import KubeClient
from fluxd.cluster.drift import object_id
from fluxd.cluster.errors import api_error
from fluxd.cluster.paths import api_path, check_namespace
from fluxd.cluster.rollout import Rollout, WorkloadStatus, rollout_status

log = logging.getLogger(__name__)

#: (kind, apiVersion, plural), in Flux v1's order.
WORKLOAD_KINDS = (
    ("Deployment", "apps/v1", "deployments"),
    ("DaemonSet", "apps/v1", "daemonsets"),
    ("StatefulSet", "apps/v1", "statefulsets"),
    ("CronJob", "batch/v1", "cronjobs"),
)
POLICY_PREFIXES = ("fluxcd.io/", "flux.weave.works/", "filter.fluxcd.io/")


@dataclass(frozen=True, slots=True)
class Container:
    name: str
    image: str


@dataclass(frozen=True, slots=True)
class Workload:
    """One workload as the API shows it: containers, rollout, status, policies."""

    id: str
    kind: str
    namespace: str
    name: str
    status: WorkloadStatus
    rollout: Rollout
    containers: tuple[Container, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    #: Flux policy annotations (``fluxcd.io/automated``, ``fluxcd.io/tag.<c>``...).
    policies: Mapping[str, str] = field(default_factory=dict)


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
            found += [to_workload(kind, obj) for obj in _list(client, kind, path)]
    return sorted((w for w in found if not _is_addon(w)), key=lambda w: w.id)


def list_scopes(namespace: str | None, allowed: Sequence[str]) -> list[str]:
    """The namespaces to list ("" = the whole cluster): ``namespace`` cut to ``allowed``."""
    if namespace:
        check_namespace(namespace)
        return [namespace] if not allowed or namespace in allowed else []
    return list(allowed) or [""]


def to_workload(kind: str, obj: Mapping[str, Any]) -> Workload:
    """A ``Workload`` from the API's JSON of one object."""
    meta = obj.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    status, rollout = rollout_status(kind, obj)
    namespace = str(meta.get("namespace") or "")
    return Workload(
        id=object_id(namespace, kind, str(meta.get("name", ""))),
        kind=kind,
        namespace=namespace,
        name=str(meta.get("name", "")),
        status=status,
        rollout=rollout,
        containers=tuple(_containers(kind, obj)),
        labels=dict(meta.get("labels") or {}),
        policies={k: str(v) for k, v in annotations.items() if k.startswith(POLICY_PREFIXES)},
    )


def _containers(kind: str, obj: Mapping[str, Any]) -> Iterable[Container]:
    spec = obj.get("spec") or {}
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    pod = (spec.get("template") or {}).get("spec") or {}
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
    if workload.namespace != "kube-system":
        return False
    labels = workload.labels
    return labels.get("kubernetes.io/cluster-service") == "true" or (
        "addonmanager.kubernetes.io/mode" in labels
    )
