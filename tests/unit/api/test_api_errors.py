"""Every failure is ``{type, help, error}`` with Flux v1's status codes; bad input names itself."""

from __future__ import annotations

from typing import Any

import pytest

from fluxd.errors import ClusterError, UserError
from unit.api.wire import fixture

API = "/api/flux"


def assert_error_shape(response, status: int, kind: str) -> Any:
    assert response.status_code == status
    body = response.json()
    assert set(body) == set(fixture("error-missing.json")) == {"type", "help", "error"}
    assert body["type"] == kind
    assert body["help"] and body["error"]
    return body


def test_unknown_job_is_404_missing(client):
    body = assert_error_shape(client.get(f"{API}/v6/jobs", params={"id": "nope"}), 404, "missing")
    assert "nope" in body["error"]


def test_the_empty_job_id_is_unknown_too_as_in_flux_v1(client):
    assert_error_shape(client.get(f"{API}/v6/jobs", params={"id": ""}), 404, "missing")


def test_unknown_ref_is_422_user(client):
    assert_error_shape(client.get(f"{API}/v6/sync", params={"ref": "deadbee"}), 422, "user")


def test_user_error_from_the_daemon_is_422(client, daemon):
    def refuse(ref: str) -> list[str]:
        raise UserError(f"{ref!r} is not a revision", help="Give a commit SHA or branch name.")

    daemon.sync_status = refuse
    body = assert_error_shape(client.get(f"{API}/v6/sync", params={"ref": "x y"}), 422, "user")
    # The help states the error too: Flux v1's fluxctl prints only the help.
    assert body["help"] == "'x y' is not a revision\n\nGive a commit SHA or branch name."


def test_server_error_from_the_daemon_is_500_with_its_help(client, daemon):
    daemon.ping_error = ClusterError("cannot reach the cluster", help="Is the API server up?")
    body = assert_error_shape(client.get(f"{API}/v11/ping"), 500, "server")
    assert body == {
        "type": "server",
        "help": "cannot reach the cluster\n\nIs the API server up?",
        "error": "cannot reach the cluster",
    }


def test_unexpected_exception_is_500_server_without_its_text(client, daemon):
    daemon.ping_error = RuntimeError("https://user:hunter2@example.com exploded")
    body = assert_error_shape(client.get(f"{API}/v11/ping"), 500, "server")
    assert "hunter2" not in str(body)


@pytest.mark.parametrize("kind", ["auto", "containers"])
def test_update_types_fluxd_does_not_carry_out_are_422_naming_those_it_does(client, kind):
    response = client.post(
        f"{API}/v9/update-manifests", json={"type": kind, "cause": {}, "spec": {}}
    )
    body = assert_error_shape(response, 422, "user")
    assert "'image' (fluxctl release) and 'policy'" in body["help"]


@pytest.mark.parametrize(
    ("kind", "spec", "named"),
    [
        ("image", {}, "spec.ServiceSpecs"),
        ("image", {"ServiceSpecs": ["<all>"], "ImageSpec": "nginx"}, "blank tag"),
        ("image", {"ServiceSpecs": ["nope"], "ImageSpec": "nginx:1"}, "spec.ServiceSpecs"),
        ("policy", [], "object of workload ids"),
        ("policy", {"default:deployment/x": {"add": {"locked": 1}}}, "policy names to strings"),
    ],
)
def test_malformed_release_and_policy_specs_are_422_naming_the_field(client, kind, spec, named):
    response = client.post(
        f"{API}/v9/update-manifests", json={"type": kind, "cause": {}, "spec": spec}
    )
    body = assert_error_shape(response, 422, "user")
    assert named in body["error"]


@pytest.mark.parametrize("version", ["v1", "v2", "v3", "v4", "v5"])
def test_old_api_versions_are_410_gone(client, version):
    body = assert_error_shape(client.get(f"{API}/{version}/services"), 410, "missing")
    assert "deprecated" in body["error"]


def test_unknown_path_is_404_with_the_path_in_the_help(client):
    body = assert_error_shape(client.get(f"{API}/v99/flying-cars"), 404, "missing")
    assert "/api/flux/v99/flying-cars" in body["help"]


def test_wrong_method_is_405_in_the_error_shape(client):
    assert_error_shape(client.get(f"{API}/v9/update-manifests"), 405, "user")


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "named"),
    [
        ("GET", "/v6/jobs", {}, "query parameter 'id'"),
        ("GET", "/v6/sync", {}, "query parameter 'ref'"),
        ("POST", "/v9/git-repo-config", {"content": b"maybe"}, "body"),
        ("POST", "/v9/git-repo-config", {"json": "true"}, "body"),
        ("POST", "/v9/git-repo-config", {}, "body"),
        ("POST", "/v9/update-manifests", {"json": {"type": "teleport"}}, "body field 'type'"),
        ("POST", "/v9/update-manifests", {"content": b"{not json"}, "body"),
        ("POST", "/v11/notify", {"json": {"Kind": "weather", "Source": {}}}, "body field 'Kind'"),
        ("POST", "/v11/notify", {"json": {"Kind": "git", "Source": {"URL": 1}}}, "'Source'"),
        ("GET", "/v11/services", {"params": {"services": "not an id"}}, "'not an id'"),
        ("GET", "/v10/images", {"params": {"service": "%%%"}}, "'%%%'"),
    ],
)
def test_malformed_requests_are_400_user_errors_naming_the_input(
    client, method, path, kwargs, named
):
    response = client.request(method, f"{API}{path}", **kwargs)
    body = assert_error_shape(response, 400, "user")
    assert named in body["error"], body["error"]


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/v11/services", {"services": "a:b/c", "namespace": "a"}, "'namespace'"),
        ("/v10/images", {"containerFields": "Name,Colour"}, "Colour"),
        ("/v10/images", {"service": "a:b/c", "namespace": "a"}, "'namespace'"),
    ],
)
def test_well_formed_requests_it_cannot_serve_are_422_as_in_flux_v1(client, path, params, named):
    body = assert_error_shape(client.get(f"{API}{path}", params=params), 422, "user")
    assert named in body["error"], body["error"]
