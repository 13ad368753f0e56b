"""Requests exactly as Flux v1's Go fluxctl sends them are understood.

The Go client (``pkg/http/client``) posts ``json.Marshal`` output with no
Content-Type header and ``Accept: application/json``; Flux v1's daemon read
every body as JSON. It prints only the ``help`` of an error answer, and only
when the answer is ``application/json`` with a non-empty ``error``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from fluxd.errors import UserError
from unit.api.fakes import REMOTE_URL

API = "/api/flux"

# Bodies byte for byte as the Go client marshals them.
SYNC = b'{"type":"sync","cause":{"Message":"","User":""},"spec":{}}'
RELEASE = (
    b'{"type":"image","cause":{"Message":"","User":""},"spec":{"ServiceSpecs":'
    b'["default:deployment/web"],"ImageSpec":"nginx:1.16.1","Kind":"execute",'
    b'"Excludes":null,"Force":false}}'
)
POLICY = (
    b'{"type":"policy","cause":{"Message":"","User":""},"spec":'
    b'{"default:deployment/web":{"add":{"automated":"true"},"remove":{}}}}'
)
NOTIFY = json.dumps({"Kind": "git", "Source": {"URL": REMOTE_URL, "Branch": "main"}}).encode()


def go_post(client: Any, path: str, body: bytes, **headers: str) -> Any:
    """POST as the Go client does; checks that no Content-Type went out."""
    response = client.post(f"{API}{path}", content=body, headers=headers)
    sent = {name.lower() for name in response.request.headers}
    if "content-type" not in {name.lower() for name in headers}:
        assert "content-type" not in sent
    return response


def go_decodes_as_error(response: Any) -> str:
    """What the Go fluxctl prints after ``== Error ==``: the help, if it decodes the body."""
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"], "an empty error makes the Go client print the raw body"
    return str(body["help"])


@pytest.mark.parametrize(("body", "regenerated"), [(b"false", 0), (b"true", 1)])
def test_identity_body_without_content_type_is_read_as_json(client, daemon, body, regenerated):
    response = go_post(client, "/v9/git-repo-config", body)
    assert response.status_code == 200, response.text
    assert response.json()["remote"]["url"] == REMOTE_URL
    assert daemon.regenerated == regenerated


def test_sync_spec_without_content_type_starts_a_job(client):
    response = go_post(client, "/v9/update-manifests", SYNC)
    assert response.status_code == 200, response.text
    assert isinstance(response.json(), str)


def test_notify_without_content_type_is_accepted(client, daemon):
    response = go_post(client, "/v11/notify", NOTIFY)
    assert response.status_code == 202, response.text
    assert daemon.notified == [(REMOTE_URL, "main")]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_body_under_another_content_type_is_json_too_as_in_flux_v1(client, content_type):
    # curl -d sends form-urlencoded; Flux v1 read the body as JSON regardless.
    response = go_post(client, "/v9/git-repo-config", b"false", **{"Content-Type": content_type})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("content_type", ["text/plain", None])
def test_a_browser_request_keeps_its_content_type_and_is_refused(client, daemon, content_type):
    # A cross-site page can post text/plain, or a Blob with no type at all,
    # without a CORS preflight; it must not make fluxd replace its deploy key.
    headers = {"Origin": "https://evil.example"}
    if content_type:
        headers["Content-Type"] = content_type
    response = go_post(client, "/v9/git-repo-config", b"true", **headers)
    assert response.status_code == 400
    assert daemon.regenerated == 0


@pytest.mark.parametrize(("body", "kind"), [(RELEASE, "image"), (POLICY, "policy")])
def test_release_and_policy_specs_as_the_go_client_sends_them_become_jobs(
    client, daemon, body, kind
):
    response = go_post(client, "/v9/update-manifests", body)
    assert response.status_code == 200, response.text
    job_id = response.json()
    (request,) = daemon.updates
    # The job status echoes the spec as Flux v1 did: the Go client's own bytes.
    assert daemon.jobs[job_id].spec == json.loads(body)
    assert request.wire()["type"] == kind


def test_an_empty_body_is_a_400_naming_the_body(client):
    response = go_post(client, "/v9/git-repo-config", b"")
    assert response.status_code == 400
    assert "body" in go_decodes_as_error(response)


def test_a_body_that_is_not_json_is_a_400_naming_the_body(client):
    response = go_post(client, "/v9/update-manifests", b"{sync")
    assert response.status_code == 400
    assert "JSON" in go_decodes_as_error(response)


def test_the_help_of_every_error_states_the_error(client):
    response = client.get(f"{API}/v6/jobs", params={"id": "nope"})
    assert response.status_code == 404
    help = go_decodes_as_error(response)
    assert help.startswith("unknown job 'nope'\n\n")
    assert "The job ID is not known." in help


def test_a_help_that_already_states_the_error_is_kept_as_it_is(client, daemon):
    def refuse(ref: str) -> list[str]:
        raise UserError(f"{ref!r} is no revision", help=f"{ref!r} is no revision: give a sha.")

    daemon.sync_status = refuse
    help = go_decodes_as_error(client.get(f"{API}/v6/sync", params={"ref": "x"}))
    assert help == "'x' is no revision: give a sha."
