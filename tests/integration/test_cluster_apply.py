"""Server-side apply against the real API server: staging, CRDs, failures one by one."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from fluxd.cluster import ApplyObject, Cluster, Result
from fluxd.settings import ClusterSettings, SyncSettings
from fluxtestbed.kube import Cluster as Kube
from fluxtestbed.objects import configmap, deployment, item, marked, rank

pytestmark = pytest.mark.cluster


@pytest.fixture
def cluster(kube: Kube, namespace: str) -> Iterator[Cluster]:
    settings = ClusterSettings(kubeconfig=str(kube.kubeconfig), namespace=namespace, qps=0)
    connected = Cluster.connect(settings, SyncSettings(concurrency=8, timeout=30.0))
    yield connected
    connected.close()


def get(kube: Kube, *args: str) -> dict[str, Any]:
    return dict(json.loads(kube.kubectl("get", "-o", "json", *args).stdout))


def test_namespace_deployment_and_configmap_are_applied_by_fluxd(
    kube: Kube, cluster: Cluster
) -> None:
    ns = f"apply-{uuid.uuid4().hex[:6]}"
    items = [
        item(deployment(ns)),
        item(configmap(ns, "settings", color="blue")),
        item(marked({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})),
    ]
    try:
        outcomes = cluster.apply(items, rank=rank)
        assert [(o.id, o.result) for o in outcomes] == [
            (f"<cluster>:namespace/{ns}", Result.APPLIED),
            (f"{ns}:configmap/settings", Result.APPLIED),
            (f"{ns}:deployment/web", Result.APPLIED),
        ]
        live = get(kube, "-n", ns, "deployment", "web", "--show-managed-fields")
        managers = {(f["manager"], f["operation"]) for f in live["metadata"]["managedFields"]}
        assert ("fluxd", "Apply") in managers
        web = outcomes[2]
        assert web.uid == live["metadata"]["uid"]
        assert web.generation == live["metadata"]["generation"] == 1
        assert web.resource_version
        assert outcomes[1].generation is None  # ConfigMaps have none
        assert get(kube, "-n", ns, "configmap", "settings")["data"] == {"color": "blue"}
    finally:
        kube.kubectl("delete", "namespace", ns, "--wait=false", check=False)


def crd(group: str) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {
            "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
        },
    }
    return marked(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"widgets.{group}"},
            "spec": {
                "group": group,
                "scope": "Namespaced",
                "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {"openAPIV3Schema": schema},
                    }
                ],
            },
        }
    )


def test_a_crd_and_its_custom_resource_apply_in_one_call(
    kube: Kube, cluster: Cluster, namespace: str
) -> None:
    group = f"t{uuid.uuid4().hex[:8]}.example.com"
    widget = marked(
        {
            "apiVersion": f"{group}/v1",
            "kind": "Widget",
            "metadata": {"name": "w1", "namespace": namespace},
            "spec": {"size": 3},
        }
    )
    assert cluster.scope(f"{group}/v1", "Widget") is None
    asked: list[bool] = []

    def before_rest() -> list[ApplyObject]:
        # The sync engine resolves objects of unknown scope here, once the CRDs exist.
        asked.append(True)
        assert cluster.scope(f"{group}/v1", "Widget") is True
        return [item(widget)]

    try:
        outcomes = cluster.apply([item(crd(group))], rank=rank, before_rest=before_rest)
        assert asked == [True]
        assert [(o.ref.kind, o.result, o.error) for o in outcomes] == [
            ("CustomResourceDefinition", Result.APPLIED, ""),
            ("Widget", Result.APPLIED, ""),
        ]
        assert get(kube, "-n", namespace, f"widgets.{group}", "w1")["spec"] == {"size": 3}
        # Applying both again is a no-op the CRD stage does not wait for.
        again = cluster.apply([item(crd(group)), item(widget)], rank=rank)
        assert all(o.applied for o in again)
    finally:
        kube.kubectl("delete", "crd", f"widgets.{group}", "--wait=false", check=False)


def test_a_bad_object_fails_alone_with_the_apis_message(
    kube: Kube, cluster: Cluster, namespace: str
) -> None:
    bad = deployment(namespace, "bad", replicas=-1)
    items = [
        item(configmap(namespace, "good")),
        item(bad, "repo/bad.yaml"),
        item(deployment(namespace)),
    ]
    outcomes = {o.id: o for o in cluster.apply(items, rank=rank)}
    failed = outcomes[f"{namespace}:deployment/bad"]
    assert failed.result is Result.FAILED
    assert failed.source == "repo/bad.yaml"
    assert "spec.replicas" in failed.error and "must be greater than or equal to 0" in failed.error
    assert outcomes[f"{namespace}:configmap/good"].applied
    assert outcomes[f"{namespace}:deployment/web"].applied
    assert kube.kubectl("get", "-n", namespace, "deployment", "bad", check=False).returncode != 0


def test_unknown_kinds_and_missing_namespaces_fail_with_a_reason(
    cluster: Cluster, namespace: str
) -> None:
    nokind = marked(
        {
            "apiVersion": "nowhere.example.com/v1",
            "kind": "Gadget",
            "metadata": {"name": "g", "namespace": namespace},
        }
    )
    nons = configmap("", "x")
    outcomes = cluster.apply([item(nokind), item(nons)], rank=rank)
    errors = sorted(o.error for o in outcomes)
    assert "has no namespace" in errors[0]
    assert "does not serve kind Gadget" in errors[1]


def test_an_immutable_field_change_is_reported_as_such(
    kube: Kube, cluster: Cluster, namespace: str
) -> None:
    assert cluster.apply([item(deployment(namespace))], rank=rank)[0].applied
    changed = deployment(namespace, app="other")  # selector is immutable
    [outcome] = cluster.apply([item(changed)], rank=rank)
    assert outcome.result is Result.FAILED
    assert outcome.error.startswith("immutable field changed:")
    assert "field is immutable" in outcome.error
    assert "fluxcd.io/recreate" in outcome.error
    live = get(kube, "-n", namespace, "deployment", "web")
    assert live["spec"]["selector"]["matchLabels"] == {"app": "web"}


def test_recreate_annotation_deletes_and_recreates(
    kube: Kube, cluster: Cluster, namespace: str
) -> None:
    [first] = cluster.apply([item(deployment(namespace))], rank=rank)
    changed = deployment(namespace, app="other")
    changed["metadata"]["annotations"] = {"fluxcd.io/recreate": "true"}
    [outcome] = cluster.apply([item(changed)], rank=rank)
    assert outcome.applied, outcome.error
    assert outcome.uid != first.uid
    live = get(kube, "-n", namespace, "deployment", "web")
    assert live["spec"]["selector"]["matchLabels"] == {"app": "other"}


def test_scope_answers_for_builtin_kinds(cluster: Cluster) -> None:
    assert cluster.scope("v1", "ConfigMap") is True
    assert cluster.scope("v1", "Namespace") is False
    assert cluster.scope("rbac.authorization.k8s.io/v1", "ClusterRole") is False
    assert cluster.scope("v1", "NoSuchKind") is None


def test_a_version_added_to_an_existing_crd_is_usable_in_the_same_apply(
    kube: Kube, cluster: Cluster, namespace: str
) -> None:
    group = f"t{uuid.uuid4().hex[:8]}.example.com"
    first = crd(group)
    try:
        assert cluster.apply([item(first)], rank=rank)[0].applied
        cluster.scope(f"{group}/v1", "Widget")  # the cache now knows v1 only
        second = crd(group)
        v2 = dict(second["spec"]["versions"][0], name="v2", storage=False)
        second["spec"]["versions"].append(v2)
        widget = marked(
            {
                "apiVersion": f"{group}/v2",
                "kind": "Widget",
                "metadata": {"name": "w2", "namespace": namespace},
                "spec": {"size": 1},
            }
        )
        outcomes = cluster.apply([item(second), item(widget)], rank=rank)
        assert [(o.ref.kind, o.error) for o in outcomes] == [
            ("CustomResourceDefinition", ""),
            ("Widget", ""),
        ]
    finally:
        kube.kubectl("delete", "crd", f"widgets.{group}", "--wait=false", check=False)
