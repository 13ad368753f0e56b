"""Workload status from rollout JSON, as the API server reports it."""

from __future__ import annotations

from typing import Any

import pytest

from fluxd.cluster import WorkloadStatus, rollout_status
from fluxd.cluster.workloads import to_workload


def deployment(
    *, replicas: int = 3, generation: int = 2, observed: int = 2, **status: Any
) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "namespace": "demo", "generation": generation},
        "spec": {"replicas": replicas},
        "status": {"observedGeneration": observed, **status},
    }


def test_deployment_with_all_replicas_updated_and_ready_is_ready() -> None:
    obj = deployment(replicas=3, updatedReplicas=3, readyReplicas=3, availableReplicas=3)
    obj["status"]["replicas"] = 3
    status, rollout = rollout_status("Deployment", obj)
    assert status is WorkloadStatus.READY
    assert (rollout.desired, rollout.updated, rollout.ready, rollout.outdated) == (3, 3, 3, 0)


def test_deployment_not_yet_observed_is_updating() -> None:
    obj = deployment(generation=3, observed=2, replicas=3, updatedReplicas=3, readyReplicas=3)
    assert rollout_status("Deployment", obj)[0] is WorkloadStatus.UPDATING


def test_deployment_with_old_pods_left_is_updating_and_counts_them_outdated() -> None:
    obj = deployment(replicas=3, updatedReplicas=3, readyReplicas=3)
    obj["status"]["replicas"] = 5
    status, rollout = rollout_status("Deployment", obj)
    assert status is WorkloadStatus.UPDATING
    assert rollout.outdated == 2


def test_deployment_with_unready_pods_is_updating() -> None:
    obj = deployment(replicas=3, updatedReplicas=3, readyReplicas=1)
    obj["status"]["replicas"] = 3
    assert rollout_status("Deployment", obj)[0] is WorkloadStatus.UPDATING


def test_progress_deadline_exceeded_is_an_error_with_the_controllers_message() -> None:
    stuck = {
        "type": "Progressing",
        "status": "False",
        "reason": "ProgressDeadlineExceeded",
        "message": 'ReplicaSet "web-5d" has timed out progressing.',
    }
    obj = deployment(updatedReplicas=1, readyReplicas=0, conditions=[stuck])
    status, rollout = rollout_status("Deployment", obj)
    assert status is WorkloadStatus.ERROR
    assert rollout.messages == ('ReplicaSet "web-5d" has timed out progressing.',)


def test_replica_failure_is_an_error() -> None:
    failure = {"type": "ReplicaFailure", "status": "True", "message": "quota exceeded"}
    obj = deployment(conditions=[failure])
    assert rollout_status("Deployment", obj)[0] is WorkloadStatus.ERROR


def test_deployment_without_replicas_defaults_to_one() -> None:
    obj = deployment(updatedReplicas=1, readyReplicas=1, availableReplicas=1)
    del obj["spec"]["replicas"]
    obj["status"]["replicas"] = 1
    status, rollout = rollout_status("Deployment", obj)
    assert (status, rollout.desired) == (WorkloadStatus.READY, 1)


def test_deployment_the_controller_never_saw_is_updating() -> None:
    obj = {"metadata": {"generation": 1}, "spec": {"replicas": 2}}
    assert rollout_status("Deployment", obj)[0] is WorkloadStatus.UPDATING


@pytest.mark.parametrize(
    ("current", "expected"),
    [(3, WorkloadStatus.READY), (2, WorkloadStatus.UPDATING)],
)
def test_daemonset_counts_scheduled_pods(current: int, expected: WorkloadStatus) -> None:
    obj = {
        "metadata": {"generation": 1},
        "status": {
            "observedGeneration": 1,
            "desiredNumberScheduled": 3,
            "currentNumberScheduled": 3,
            "updatedNumberScheduled": current,
            "numberReady": 3,
            "numberAvailable": 3,
        },
    }
    status, rollout = rollout_status("DaemonSet", obj)
    assert status is expected
    assert rollout.outdated == 3 - current


def test_statefulset_done_rolling_counts_current_replicas_as_updated() -> None:
    obj = {
        "metadata": {"generation": 4},
        "spec": {"replicas": 2},
        "status": {
            "observedGeneration": 4,
            "replicas": 2,
            "currentReplicas": 2,
            "readyReplicas": 2,
            "currentRevision": "db-7f",
            "updateRevision": "db-7f",
        },
    }
    assert rollout_status("StatefulSet", obj)[0] is WorkloadStatus.READY


def test_statefulset_mid_rollout_is_updating() -> None:
    obj = {
        "metadata": {"generation": 4},
        "spec": {"replicas": 2},
        "status": {
            "observedGeneration": 4,
            "replicas": 2,
            "updatedReplicas": 1,
            "readyReplicas": 2,
            "currentRevision": "db-7f",
            "updateRevision": "db-8a",
        },
    }
    status, rollout = rollout_status("StatefulSet", obj)
    assert (status, rollout.outdated) == (WorkloadStatus.UPDATING, 1)


def test_cronjob_is_ready_and_says_when_suspended() -> None:
    status, rollout = rollout_status("CronJob", {"spec": {"suspend": True}})
    assert status is WorkloadStatus.READY
    assert rollout.messages == ("suspended",)


def test_unknown_kind_is_unknown() -> None:
    assert rollout_status("ReplicationController", {})[0] is WorkloadStatus.UNKNOWN


def test_workload_carries_containers_labels_and_only_flux_policies() -> None:
    obj = deployment(updatedReplicas=3, readyReplicas=3)
    obj["metadata"]["labels"] = {"app": "web"}
    obj["metadata"]["annotations"] = {
        "fluxcd.io/automated": "true",
        "flux.weave.works/locked": "true",
        "deployment.kubernetes.io/revision": "2",
    }
    obj["spec"]["template"] = {
        "spec": {
            "initContainers": [{"name": "init", "image": "busybox:1"}],
            "containers": [{"name": "nginx", "image": "nginx:1.17"}],
        }
    }
    workload = to_workload("Deployment", obj)
    assert workload.id == "demo:deployment/web"
    assert [(c.name, c.image) for c in workload.containers] == [
        ("init", "busybox:1"),
        ("nginx", "nginx:1.17"),
    ]
    assert workload.labels == {"app": "web"}
    assert workload.policies == {"fluxcd.io/automated": "true", "flux.weave.works/locked": "true"}


def test_cronjob_containers_come_from_the_job_template() -> None:
    obj = {
        "metadata": {"name": "backup", "namespace": "ops"},
        "spec": {
            "jobTemplate": {
                "spec": {"template": {"spec": {"containers": [{"name": "b", "image": "x:1"}]}}}
            }
        },
    }
    workload = to_workload("CronJob", obj)
    assert workload.id == "ops:cronjob/backup"
    assert [c.image for c in workload.containers] == ["x:1"]
