"""Workloads as fluxctl lists them, and the Secret and Event helpers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from fluxd.cluster import (
    SYNC_HWM_ANNOTATION,
    Cluster,
    EventTarget,
    EventType,
    Workload,
    WorkloadStatus,
)
from fluxd.errors import ClusterError
from fluxd.settings import ClusterSettings, SyncSettings
from fluxids import ObjectRef
from fluxtestbed.kube import Cluster as Kube
from fluxtestbed.objects import deployment, item, marked, rank

pytestmark = pytest.mark.cluster


@pytest.fixture
def cluster(kube: Kube, namespace: str) -> Iterator[Cluster]:
    settings = ClusterSettings(kubeconfig=str(kube.kubeconfig), namespace=namespace, qps=0)
    connected = Cluster.connect(settings, SyncSettings(concurrency=4, timeout=30.0))
    yield connected
    connected.close()


def cronjob(namespace: str) -> dict[str, Any]:
    pod = {"containers": [{"name": "backup", "image": "busybox:1.36"}], "restartPolicy": "Never"}
    return marked(
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {
                "name": "backup",
                "namespace": namespace,
                "annotations": {"fluxcd.io/automated": "true"},
            },
            "spec": {
                "schedule": "0 3 * * *",
                "suspend": True,
                "jobTemplate": {"spec": {"template": {"spec": pod}}},
            },
        }
    )


def wait_for(cluster: Cluster, namespace: str, want: WorkloadStatus) -> dict[str, Workload]:
    deadline = time.monotonic() + 60
    while True:
        found = {w.id: w for w in cluster.list_workloads(namespace)}
        web = found.get(f"{namespace}:deployment/web")
        if web is not None and web.status is want:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"web never became {want}: {web}")
        time.sleep(0.5)


def test_a_three_replica_deployment_becomes_ready(cluster: Cluster, namespace: str) -> None:
    outcomes = cluster.apply([item(deployment(namespace)), item(cronjob(namespace))], rank=rank)
    assert all(o.applied for o in outcomes), [o.error for o in outcomes]
    found = wait_for(cluster, namespace, WorkloadStatus.READY)
    web = found[f"{namespace}:deployment/web"]
    assert (web.ref.kind, web.ref.namespace, web.ref.name) == ("Deployment", namespace, "web")
    assert [(c.name, c.image) for c in web.containers] == [("nginx", "nginx:1.17")]
    rollout = web.rollout
    assert (rollout.desired, rollout.updated, rollout.ready, rollout.available) == (3, 3, 3, 3)
    assert rollout.outdated == 0
    assert web.labels["fluxcd.io/sync-gc-mark"] == "sha256.test"
    backup = found[f"{namespace}:cronjob/backup"]
    assert backup.status is WorkloadStatus.READY
    assert backup.policies == {"fluxcd.io/automated": "true"}
    assert backup.rollout.messages == ("suspended",)


def test_a_new_template_is_updating(cluster: Cluster, namespace: str) -> None:
    cluster.apply([item(deployment(namespace))], rank=rank)
    wait_for(cluster, namespace, WorkloadStatus.READY)
    newer = deployment(namespace)
    newer["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.16"
    cluster.apply([item(newer)], rank=rank)
    web = {w.id: w for w in cluster.list_workloads(namespace)}[f"{namespace}:deployment/web"]
    assert web.status is WorkloadStatus.UPDATING
    assert web.containers[0].image == "nginx:1.16"


def test_every_namespace_is_listed_when_none_is_given(cluster: Cluster, namespace: str) -> None:
    cluster.apply([item(deployment(namespace))], rank=rank)
    assert f"{namespace}:deployment/web" in {w.id for w in cluster.list_workloads(None)}


def test_secret_read_and_sync_state_annotation(
    kube: Kube, cluster: Cluster, namespace: str
) -> None:
    kube.kubectl(
        "create",
        "secret",
        "generic",
        "-n",
        namespace,
        "flux-git-deploy",
        "--from-literal=identity=private-key",
    )
    secret = cluster.read_secret("flux-git-deploy")
    assert secret.data == {"identity": b"private-key"}
    cluster.annotate_secret("flux-git-deploy", {SYNC_HWM_ANNOTATION: "0123abc"})
    assert cluster.read_secret("flux-git-deploy").annotations[SYNC_HWM_ANNOTATION] == "0123abc"
    assert cluster.read_secret("flux-git-deploy").data == {"identity": b"private-key"}
    cluster.annotate_secret("flux-git-deploy", {SYNC_HWM_ANNOTATION: None})
    assert SYNC_HWM_ANNOTATION not in cluster.read_secret("flux-git-deploy").annotations


def test_a_missing_secret_is_a_404_cluster_error(cluster: Cluster) -> None:
    with pytest.raises(ClusterError) as caught:
        cluster.read_secret("nope")
    assert caught.value.status == 404
    assert "not found" in caught.value.message


def test_events_are_recorded_about_an_object(kube: Kube, cluster: Cluster, namespace: str) -> None:
    [applied] = cluster.apply([item(deployment(namespace))], rank=rank)
    target = EventTarget(ObjectRef(namespace, "Deployment", "web", "apps/v1"), applied.uid)
    cluster.record_event(target, reason="Sync", message="applied at 0123abc")
    cluster.record_event(target, reason="SyncFailed", message="boom", type=EventType.WARNING)
    out = kube.kubectl("get", "events", "-n", namespace, "-o", "json").stdout
    events = {e["reason"]: e for e in json.loads(out)["items"]}
    assert events["Sync"]["message"] == "applied at 0123abc"
    assert events["Sync"]["source"]["component"] == "fluxd"
    assert events["Sync"]["involvedObject"]["uid"] == applied.uid
    assert events["SyncFailed"]["type"] == "Warning"
