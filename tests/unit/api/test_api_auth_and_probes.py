"""Token auth on the API; probes, docs and the legacy key probe stay open."""

from __future__ import annotations

import datetime as dt

import pytest

from fluxd.api import models
from fluxd.settings import ApiSettings
from fluxd.views import ReadyStatus

API = "/api/flux"
TOKEN = "s3cr3t-token"


@pytest.fixture
def settings() -> ApiSettings:
    return ApiSettings(token=TOKEN)


@pytest.mark.parametrize(
    "header", [f"Scope-Probe token={TOKEN}", f"Bearer {TOKEN}"], ids=["fluxctl", "bearer"]
)
def test_either_header_form_with_the_token_is_let_in(client, header):
    response = client.get(f"{API}/v11/version", headers={"Authorization": header})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"token={TOKEN}"],
)
def test_missing_or_wrong_token_is_401_in_the_error_shape(client, header):
    headers = {"Authorization": header} if header is not None else {}
    response = client.get(f"{API}/v6/services", headers=headers)
    assert response.status_code == 401
    assert response.json()["type"] == "user"
    assert "Authentication failed" in response.json()["help"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v9/git-repo-config"),
        ("POST", "/v6/identity.pub"),
        ("POST", "/v9/update-manifests"),
        ("GET", "/v6/export"),
        ("GET", "/v11/sync-errors"),
    ],
)
def test_every_api_route_needs_the_token(client, daemon, method, path):
    assert client.request(method, f"{API}{path}").status_code == 401
    assert daemon.regenerated == 0


def test_metrics_need_the_token_on_the_api_port(client):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz", f"{API}/v6/identity.pub", f"{API}/docs"])
def test_probes_the_public_key_and_docs_need_no_token(client, path):
    assert client.get(path).status_code == 200


def test_without_a_configured_token_nothing_is_asked(daemon, registry):
    from fluxd.api.app import create_app
    from unit.api.testclient import TestClient

    app = create_app(daemon, settings=ApiSettings(), registry=registry)
    with TestClient(app) as open_client:
        assert open_client.get(f"{API}/v6/services").status_code == 200


def test_healthz_says_ok(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_git_and_last_sync_when_ready(client, daemon):
    finished = dt.datetime(2026, 11, 27, 13, 0, 0, 500000, tzinfo=dt.UTC).timestamp()
    daemon.report = ReadyStatus(
        ready=True, git_status="ready", last_sync_revision="5a3f1c9", last_sync_finished=finished
    )
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["last_sync_revision"] == "5a3f1c9"
    assert response.json()["last_sync_time"] == "2026-11-27T13:00:00Z"
    assert set(response.json()) == set(models.ReadyReport.model_fields)


def test_readyz_is_503_while_not_serving(client, daemon):
    daemon.report = ReadyStatus(ready=False, git_status="new", git_error="Permission denied")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["git_error"] == "Permission denied"


def test_openapi_document_lists_the_flux_routes(client):
    paths = client.get(f"{API}/openapi.json").json()["paths"]
    assert {f"{API}/v9/git-repo-config", f"{API}/v6/jobs", "/hook/github", "/readyz"} <= set(paths)
