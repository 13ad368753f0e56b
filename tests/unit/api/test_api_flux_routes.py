"""Each Flux v1 route answers with Flux v1's path, status code and JSON shape."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pydantic import TypeAdapter

from fluxd.api import models
from fluxd.cluster import Rollout
from fluxd.jobs import JobState
from fluxd.views import JobStatus, Remote, WorkloadView
from fluxd.writeback import ContainerUpdate, Status, WorkloadResult
from fluxids import ObjectRef
from unit.api.fakes import (
    REVISION,
    images_from_wire,
    job_from_wire,
    public_key_from_wire,
    sync_report_from_wire,
    workload_from_wire,
)
from unit.api.wire import fixture, go_differences

API = "/api/flux"


def seed_git_config(daemon, name: str) -> Any:
    recorded = fixture(name)
    remote = recorded["remote"]
    paths = tuple(remote["path"].split(",")) if remote["path"] else ()
    daemon.remote = Remote(url=remote["url"], branch=remote["branch"], paths=paths)
    daemon.status = recorded["status"]
    daemon.git_errors = recorded["errors"]
    daemon.public_key = public_key_from_wire(recorded["publicSSHKey"])
    return recorded


def test_ping_answers_204_without_body(client):
    response = client.get(f"{API}/v11/ping")
    assert response.status_code == 204
    assert response.content == b""


def test_version_is_a_json_string(client):
    response = client.get(f"{API}/v11/version")
    assert response.status_code == 200
    assert response.json() == fixture("version.json")


@pytest.mark.parametrize(
    "name",
    ["git-repo-config.json", "git-repo-config-new.json", "git-repo-config-unconfigured.json"],
)
def test_git_repo_config_has_flux_v1_fields(client, daemon, name):
    recorded = seed_git_config(daemon, name)

    response = client.post(f"{API}/v9/git-repo-config", json=False)

    assert response.status_code == 200
    assert go_differences(response.json(), recorded) == []
    assert set(response.json()) == {"remote", "publicSSHKey", "status", "errors"}


def test_git_repo_config_true_regenerates_the_key(client, daemon):
    assert client.post(f"{API}/v9/git-repo-config", json=True).status_code == 200
    assert client.post(f"{API}/v9/git-repo-config", json=False).status_code == 200
    assert daemon.regenerated == 1


def test_public_key_is_served_at_the_legacy_path(client, daemon):
    recorded = seed_git_config(daemon, "git-repo-config.json")
    response = client.get(f"{API}/v6/identity.pub")
    assert response.status_code == 200
    assert go_differences(response.json(), fixture("identity.pub.json")) == []
    assert response.json() == recorded["publicSSHKey"]


def test_posting_to_the_legacy_key_path_regenerates_with_204(client, daemon):
    response = client.post(f"{API}/v6/identity.pub")
    assert response.status_code == 204
    assert daemon.regenerated == 1


@pytest.mark.parametrize("version", ["v6", "v11"])
def test_services_list_has_flux_v1_fields(client, daemon, version):
    recorded = fixture("services.json")
    daemon.workloads = [workload_from_wire(workload) for workload in recorded]

    response = client.get(f"{API}/{version}/services", params={"namespace": "default"})

    assert response.status_code == 200
    assert go_differences(response.json(), recorded) == []
    assert daemon.listed == [("default", ())]


def test_controller_status_keeps_every_go_field_even_when_empty(client, daemon):
    daemon.workloads = [WorkloadView(id="default:service/web", status="", rollout=Rollout())]
    (workload,) = client.get(f"{API}/v6/services").json()
    assert set(workload) == set(fixture("services.json")[0])


def test_v11_services_filter_is_parsed_into_workload_ids(client, daemon):
    response = client.get(
        f"{API}/v11/services", params={"services": "default:Deployment/web,kube-system/dns"}
    )
    assert response.status_code == 200
    assert daemon.listed == [("", ("default:deployment/web", "kube-system:deployment/dns"))]


@pytest.mark.parametrize("version", ["v6", "v10"])
def test_images_list_has_flux_v1_fields(client, daemon, version):
    recorded = fixture("images-no-data.json")
    daemon.images = [images_from_wire(workload) for workload in recorded]

    response = client.get(f"{API}/{version}/images")

    assert response.status_code == 200
    assert go_differences(response.json(), recorded) == []
    assert daemon.images_asked == [("<all>", "")]


def test_image_wire_model_carries_what_a_registry_scanning_flux_v1_sends():
    # fluxd knows current images only, but fluxctl reads Flux v1's full answer.
    recorded = fixture("images.json")
    adapter = TypeAdapter(list[models.ImageStatus])
    assert go_differences(adapter.dump_python(adapter.validate_python(recorded)), recorded) == []


def test_images_container_fields_selects_what_is_returned(client, daemon):
    daemon.images = [images_from_wire(workload) for workload in fixture("images.json")]

    response = client.get(
        f"{API}/v10/images",
        params={
            "service": "default:deployment/nginx-deployment",
            "containerFields": "Name,Current",
        },
    )

    (container,) = response.json()[0]["Containers"]
    # Flux v1 leaves the fields not asked for at their zero value; structs stay.
    assert set(container) == {"Name", "Current", "LatestFiltered"}
    assert container["LatestFiltered"] == {"ID": "", "Labels": {}}
    assert daemon.images_asked == [("default:deployment/nginx-deployment", "")]


def test_update_manifests_sync_returns_a_job_id_string(client):
    response = client.post(
        f"{API}/v9/update-manifests", json=fixture("update-manifests-sync-request.json")
    )
    assert response.status_code == 200
    assert isinstance(response.json(), str)
    assert isinstance(fixture("update-manifests.json"), str)


@pytest.mark.parametrize(
    "name", ["jobs-queued.json", "jobs-running.json", "jobs-succeeded.json", "jobs-failed.json"]
)
def test_job_status_has_flux_v1_fields(client, daemon, name):
    recorded = fixture(name)
    daemon.jobs["d5a6"] = job_from_wire(recorded)

    response = client.get(f"{API}/v6/jobs", params={"id": "d5a6"})

    assert response.status_code == 200
    assert response.json() == recorded, "omitempty fields are left out exactly as Go does"


def test_a_sync_job_can_be_followed_from_queued(client):
    job_id = client.post(
        f"{API}/v9/update-manifests", json={"type": "sync", "cause": {}, "spec": {}}
    ).json()
    assert client.get(f"{API}/v6/jobs", params={"id": job_id}).json()["StatusString"] == "queued"


@pytest.mark.parametrize("name", ["sync-pending.json", "sync-done.json"])
def test_sync_status_is_the_list_of_pending_revisions(client, daemon, name):
    daemon.pending[REVISION[:7]] = fixture(name)
    response = client.get(f"{API}/v6/sync", params={"ref": REVISION[:7]})
    assert response.status_code == 200
    assert response.json() == fixture(name)


def test_sync_errors_extension_lists_per_resource_failures(client, daemon):
    recorded = fixture("sync-errors.json")
    daemon.errors = sync_report_from_wire(recorded)

    response = client.get(f"{API}/v11/sync-errors", params={"ref": recorded["revision"][:7]})

    assert response.status_code == 200
    assert response.json() == recorded


def test_sync_errors_without_ref_is_the_last_pass(client, daemon):
    assert client.get(f"{API}/v11/sync-errors").json() == {"revision": "", "errors": []}


def test_notify_git_change_for_our_repo_is_accepted_and_passed_on(client, daemon):
    daemon.remote = Remote(url="ssh://git@github.com/acme/fleet.git", branch="master")
    response = client.post(f"{API}/v11/notify", json=fixture("notify-git-request.json"))
    assert response.status_code == 202
    assert daemon.notified == [("git@github.com:acme/fleet", "master")]


def test_notify_for_another_branch_of_our_repo_is_accepted_but_ignored(client, daemon):
    daemon.remote = Remote(url="git@github.com:acme/fleet", branch="main")
    response = client.post(f"{API}/v11/notify", json=fixture("notify-git-request.json"))
    assert response.status_code == 202
    assert daemon.notified == []


def test_notify_image_change_asks_for_a_scan(client, daemon):
    request = fixture("notify-image-request.json")
    response = client.post(f"{API}/v11/notify", json=request)
    assert response.status_code == 202
    assert daemon.notified == [("image", "docker.io/library/nginx")]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_export_is_the_yaml_as_a_base64_json_string(client, daemon, method):
    response = client.request(method, f"{API}/v6/export")
    assert response.status_code == 200
    if method == "GET":
        assert base64.b64decode(response.json()).decode() == daemon.exported
        assert isinstance(fixture("export.json"), str)


def test_blocking_port_calls_run_off_the_event_loop(client, daemon):
    client.get(f"{API}/v6/services")
    client.get(f"{API}/v6/export")
    client.post(f"{API}/v9/git-repo-config", json=False)
    assert daemon.threads
    assert "MainThread" not in daemon.threads


def test_a_release_job_status_has_flux_v1s_shape(client, daemon):
    # As Go encodes job.Status: spec echoed, Error left out when empty,
    # PerContainer null when there is none.
    release = {
        "ServiceSpecs": ["default:deployment/web"],
        "ImageSpec": "nginx:1.16.1",
        "Kind": "execute",
        "Excludes": None,
        "Force": False,
    }
    web, db = ObjectRef.parse("default:deployment/web"), ObjectRef.parse("default:deployment/db")
    daemon.jobs["r1"] = JobStatus(
        state=JobState.SUCCEEDED,
        revision=REVISION,
        spec={"type": "image", "cause": {"Message": "", "User": "jane"}, "spec": release},
        results={
            web: WorkloadResult(
                Status.SUCCESS,
                per_container=(ContainerUpdate("nginx", "nginx:1.14.2", "nginx:1.16.1"),),
            ),
            db: WorkloadResult(Status.IGNORED, "not included"),
        },
    )
    assert client.get(f"{API}/v6/jobs", params={"id": "r1"}).json() == {
        "Result": {
            "revision": REVISION,
            "spec": {"type": "image", "cause": {"Message": "", "User": "jane"}, "spec": release},
            "result": {
                "default:deployment/db": {
                    "Status": "ignored",
                    "Error": "not included",
                    "PerContainer": None,
                },
                "default:deployment/web": {
                    "Status": "success",
                    "PerContainer": [
                        {"Container": "nginx", "Current": "nginx:1.14.2", "Target": "nginx:1.16.1"}
                    ],
                },
            },
        },
        "Err": "",
        "StatusString": "succeeded",
    }
