"""``fluxctl save`` / ``GET /v6/export``: live workloads as manifests one could apply again."""

from __future__ import annotations

from typing import Any

from fluxd.cluster.workloads import exportable, namespace_documents


def listed_deployment() -> dict[str, Any]:
    """A Deployment as a LIST answers it: no apiVersion/kind, server fields, status."""
    return {
        "metadata": {
            "name": "web",
            "namespace": "team-a",
            "uid": "0b7d6f0e-5d5c-4c1e-9a55-000000000001",
            "resourceVersion": "4711",
            "generation": 3,
            "creationTimestamp": "2026-12-01T10:00:00Z",
            "managedFields": [{"manager": "fluxd"}],
            "labels": {"app": "web"},
            "annotations": {
                "deployment.kubernetes.io/revision": "3",
                "fluxcd.io/automated": "true",
            },
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}, "creationTimestamp": None},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        },
        "status": {"readyReplicas": 2},
    }


def test_an_exported_deployment_keeps_its_pod_template_and_drops_server_fields() -> None:
    doc = exportable("Deployment", "apps/v1", listed_deployment())

    assert doc["apiVersion"] == "apps/v1" and doc["kind"] == "Deployment"
    containers = doc["spec"]["template"]["spec"]["containers"]
    assert containers == [{"name": "web", "image": "nginx:1.27"}]
    assert "containers" not in doc["spec"]
    assert doc["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert "status" not in doc
    assert doc["metadata"] == {
        "name": "web",
        "namespace": "team-a",
        "labels": {"app": "web"},
        "annotations": {"fluxcd.io/automated": "true"},
    }
    assert "creationTimestamp" not in doc["spec"]["template"]["metadata"]


def test_exporting_leaves_the_listed_object_as_it_was() -> None:
    listed = listed_deployment()
    exportable("Deployment", "apps/v1", listed)
    assert listed == listed_deployment()


def test_a_cronjob_keeps_its_job_template() -> None:
    pod = {"containers": [{"name": "backup", "image": "busybox:1.36"}], "restartPolicy": "Never"}
    listed = {
        "metadata": {"name": "backup", "namespace": "ops", "uid": "u"},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": pod}}}},
    }
    doc = exportable("CronJob", "batch/v1", listed)
    assert doc["apiVersion"] == "batch/v1"
    assert doc["spec"]["jobTemplate"]["spec"]["template"]["spec"] == pod


def test_allowed_namespaces_come_first_as_namespace_documents() -> None:
    assert namespace_documents(["team-a", "team-b"]) == [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-b"}},
    ]
    assert namespace_documents([]) == []
