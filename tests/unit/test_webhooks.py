"""Push webhooks: signatures, payloads of each provider, and what gets triggered."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from fluxd.api.app import create_app, make_webhook_app
from fluxd.git.urls import repo_key as normalize_repo_url
from fluxd.settings import ApiSettings
from fluxd.views import Remote
from unit.api.fakes import FakeDaemon
from unit.api.testclient import TestClient

SECRET = "webhook-shared-secret"
OUR_URL = "git@github.com:Acme/fleet.git"


@pytest.fixture
def daemon() -> FakeDaemon:
    return FakeDaemon(remote=Remote(url=OUR_URL, branch="main"))


@pytest.fixture
def client(daemon):
    app = create_app(
        daemon, settings=ApiSettings(webhook_secret=SECRET), registry=CollectorRegistry()
    )
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def github_push(ref: str = "refs/heads/main", repo: str = "acme/fleet") -> dict[str, Any]:
    return {
        "ref": ref,
        "after": "5a3f1c9e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f",
        "repository": {
            "full_name": repo,
            "clone_url": f"https://github.com/{repo}.git",
            "ssh_url": f"git@github.com:{repo}.git",
            "git_url": f"git://github.com/{repo}.git",
            "html_url": f"https://github.com/{repo}",
        },
    }


def hmac_hex(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_github(
    client, payload: dict[str, Any], *, event: str = "push", signature: str | None = "good"
):
    body = json.dumps(payload).encode()
    headers = {"X-GitHub-Event": event, "Content-Type": "application/json"}
    if signature == "good":
        headers["X-Hub-Signature-256"] = "sha256=" + hmac_hex(body)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return client.post("/hook/github", content=body, headers=headers)


# --- GitHub ---------------------------------------------------------------------------


def test_github_ping_is_answered_pong(client, daemon):
    response = post_github(
        client, {"zen": "Keep it logically awesome.", "hook_id": 1}, event="ping"
    )
    assert response.status_code == 200
    assert response.json() == {"message": "pong"}
    assert daemon.notified == []


def test_github_push_to_our_repo_and_branch_asks_for_a_fetch(client, daemon):
    response = post_github(client, github_push())
    assert response.status_code == 202
    assert daemon.notified == [(OUR_URL, "main")]


def test_github_push_to_another_branch_is_accepted_and_ignored(client, daemon, caplog):
    with caplog.at_level(logging.INFO, logger="fluxd.webhooks"):
        response = post_github(client, github_push(ref="refs/heads/feature"))
    assert response.status_code == 202
    assert daemon.notified == []
    assert "webhook ignored" in caplog.text


def test_github_push_to_another_repo_is_accepted_and_ignored(client, daemon):
    assert post_github(client, github_push(repo="acme/other")).status_code == 202
    assert daemon.notified == []


def test_a_tag_push_is_not_a_branch_push(client, daemon):
    assert post_github(client, github_push(ref="refs/tags/main")).status_code == 202
    assert daemon.notified == []


def test_other_github_events_are_accepted_and_ignored(client, daemon):
    assert post_github(client, {"action": "opened"}, event="pull_request").status_code == 202
    assert daemon.notified == []


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=" + "0" * 64, "sha1=abcdef", "sha256=" + hmac_hex(b"other body")],
    ids=["missing", "empty", "zeros", "wrong-algorithm", "other-body"],
)
def test_bad_or_missing_github_signature_is_401_and_triggers_nothing(client, daemon, signature):
    response = post_github(client, github_push(), signature=signature)
    assert response.status_code == 401
    assert response.json()["type"] == "user"
    assert daemon.notified == []


def test_signature_is_checked_before_the_body_is_read(client, daemon):
    response = client.post("/hook/github", content=b"{broken", headers={"X-GitHub-Event": "push"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (json.dumps({"ref": "refs/heads/main"}).encode(), "'repository'"),
        (json.dumps({"repository": {}}).encode(), "'ref'"),
    ],
)
def test_malformed_push_body_is_400_naming_the_problem(client, daemon, body, named):
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + hmac_hex(body)}
    response = client.post("/hook/github", content=body, headers=headers)
    assert response.status_code == 400
    assert named in response.json()["error"]
    assert daemon.notified == []


def test_an_oversized_body_is_refused(client, daemon):
    body = b"x" * (5 * 1024 * 1024 + 1)
    response = client.post("/hook/github", content=body, headers={"X-GitHub-Event": "push"})
    assert response.status_code == 413
    assert daemon.notified == []


def test_a_burst_of_100_deliveries_calls_notify_100_times_without_blocking(client, daemon):
    body = json.dumps(github_push()).encode()
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + hmac_hex(body)}

    statuses = {
        client.post("/hook/github", content=body, headers=headers).status_code for _ in range(100)
    }

    assert statuses == {202}
    assert len(daemon.notified) == 100
    assert daemon.threads == set(), "a webhook must not make blocking daemon calls"


# --- GitLab, Bitbucket, Gitea, generic -------------------------------------------------------


def gitlab_push(ref: str = "refs/heads/main") -> dict[str, Any]:
    return {
        "object_kind": "push",
        "ref": ref,
        "project": {
            "git_ssh_url": "git@gitlab.com:acme/fleet.git",
            "git_http_url": "https://gitlab.com/acme/fleet.git",
            "web_url": "https://gitlab.com/acme/fleet",
        },
        "repository": {
            "url": "git@gitlab.com:acme/fleet.git",
            "homepage": "https://gitlab.com/acme/fleet",
        },
    }


@pytest.mark.parametrize(("token", "status"), [(SECRET, 202), ("nope", 401), (None, 401)])
def test_gitlab_push_needs_the_token(client, daemon, token, status):
    daemon.remote = Remote(url="https://gitlab.com/acme/fleet", branch="main")
    headers = {"X-Gitlab-Event": "Push Hook"}
    if token is not None:
        headers["X-Gitlab-Token"] = token
    response = client.post("/hook/gitlab", json=gitlab_push(), headers=headers)
    assert response.status_code == status
    assert len(daemon.notified) == (1 if status == 202 else 0)


def bitbucket_cloud_push(branch: str = "main") -> dict[str, Any]:
    return {
        "repository": {
            "full_name": "acme/fleet",
            "links": {"html": {"href": "https://bitbucket.org/acme/fleet"}},
        },
        "push": {"changes": [{"new": {"type": "branch", "name": branch}, "old": None}]},
    }


def bitbucket_server_push(branch: str = "main") -> dict[str, Any]:
    return {
        "eventKey": "repo:refs_changed",
        "repository": {
            "slug": "fleet",
            "links": {
                "clone": [
                    {"href": "ssh://git@bitbucket.acme.io:7999/ops/fleet.git", "name": "ssh"},
                    {"href": "https://bitbucket.acme.io/scm/ops/fleet.git", "name": "http"},
                ]
            },
        },
        "changes": [{"ref": {"id": f"refs/heads/{branch}", "displayId": branch, "type": "BRANCH"}}],
    }


def post_signed(
    client, path: str, payload: dict[str, Any], headers: dict[str, str], header: str, prefix: str
):
    body = json.dumps(payload).encode()
    return client.post(path, content=body, headers={**headers, header: prefix + hmac_hex(body)})


def test_bitbucket_cloud_push_for_our_repo_triggers(client, daemon):
    daemon.remote = Remote(url="git@bitbucket.org:acme/fleet.git", branch="main")
    response = post_signed(
        client,
        "/hook/bitbucket",
        bitbucket_cloud_push(),
        {"X-Event-Key": "repo:push"},
        "X-Hub-Signature",
        "sha256=",
    )
    assert response.status_code == 202
    assert len(daemon.notified) == 1


def test_bitbucket_server_push_matches_ssh_and_scm_http_urls(client, daemon):
    daemon.remote = Remote(url="https://bitbucket.acme.io/scm/ops/fleet.git", branch="main")
    response = post_signed(
        client,
        "/hook/bitbucket",
        bitbucket_server_push(),
        {"X-Event-Key": "repo:refs_changed"},
        "X-Hub-Signature",
        "sha256=",
    )
    assert response.status_code == 202
    assert len(daemon.notified) == 1


def test_bitbucket_without_signature_is_refused_when_a_secret_is_set(client, daemon):
    daemon.remote = Remote(url="git@bitbucket.org:acme/fleet.git", branch="main")
    response = client.post(
        "/hook/bitbucket", json=bitbucket_cloud_push(), headers={"X-Event-Key": "repo:push"}
    )
    assert response.status_code == 401
    assert daemon.notified == []


def test_gitea_push_with_its_plain_hex_signature_triggers(client, daemon):
    daemon.remote = Remote(url="ssh://git@gitea.acme.io:2222/acme/fleet.git", branch="main")
    payload = github_push()
    payload["repository"] = {
        "clone_url": "https://gitea.acme.io/acme/fleet.git",
        "ssh_url": "git@gitea.acme.io:acme/fleet.git",
        "html_url": "https://gitea.acme.io/acme/fleet",
    }
    response = post_signed(
        client, "/hook/gitea", payload, {"X-Gitea-Event": "push"}, "X-Gitea-Signature", ""
    )
    assert response.status_code == 202
    assert len(daemon.notified) == 1


def test_gitea_with_a_wrong_signature_is_401(client, daemon):
    response = client.post(
        "/hook/gitea",
        json=github_push(),
        headers={"X-Gitea-Event": "push", "X-Gitea-Signature": "ab" * 32},
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("auth", "status"), [(f"Bearer {SECRET}", 202), ("Bearer nope", 401), (None, 401)]
)
def test_generic_hook_needs_the_bearer_secret(client, daemon, auth, status):
    headers = {"Authorization": auth} if auth else {}
    response = client.post(
        "/hook/generic", json={"url": OUR_URL, "branch": "main"}, headers=headers
    )
    assert response.status_code == status
    assert len(daemon.notified) == (1 if status == 202 else 0)


@pytest.mark.parametrize(
    "payload", [{"branch": "main"}, {"url": OUR_URL}, {"url": 3, "branch": "main"}]
)
def test_generic_hook_without_url_or_branch_is_400(client, daemon, payload):
    response = client.post(
        "/hook/generic", json=payload, headers={"Authorization": f"Bearer {SECRET}"}
    )
    assert response.status_code == 400
    assert "'url'" in response.json()["error"] or "'branch'" in response.json()["error"]


def test_unknown_provider_is_404(client):
    assert client.post("/hook/sourceforge", json={}).status_code == 404


# --- without a secret, on a separate listener ------------------------------------------------


def test_without_a_secret_unsigned_pushes_are_accepted(daemon):
    app = create_app(daemon, settings=ApiSettings(), registry=CollectorRegistry())
    with TestClient(app) as open_client:
        response = open_client.post(
            "/hook/github", json=github_push(), headers={"X-GitHub-Event": "push"}
        )
    assert response.status_code == 202
    assert len(daemon.notified) == 1


def test_webhook_app_for_a_separate_listener_serves_only_hooks(daemon):
    registry = CollectorRegistry()
    create_app(daemon, settings=ApiSettings(), registry=registry)  # same registry: no clash
    app = make_webhook_app(daemon, settings=ApiSettings(webhook_secret=SECRET), registry=registry)
    with TestClient(app) as hooks_only:
        assert post_github(hooks_only, github_push()).status_code == 202
        assert hooks_only.get("/api/flux/v6/services").status_code == 404
        assert hooks_only.get("/api/flux/docs").status_code == 404


# --- URL matching -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "git@github.com:acme/fleet.git",
        "git@github.com:acme/fleet",
        "ssh://git@github.com/acme/fleet.git",
        "ssh://git@github.com:22/acme/fleet",
        "https://github.com/acme/fleet.git",
        "https://token:x-oauth@GitHub.com/Acme/Fleet/",
        "git://github.com/acme/fleet.git",
        "http://github.com/acme/fleet",
    ],
)
def test_repo_urls_in_every_form_compare_equal(url):
    assert normalize_repo_url(url) == normalize_repo_url("git@github.com:acme/fleet.git")


@pytest.mark.parametrize(
    "url",
    [
        "git@github.com:acme/fleet2.git",
        "git@gitlab.com:acme/fleet.git",
        "https://github.com/acme/fleet/sub",
    ],
)
def test_other_repos_do_not_compare_equal(url):
    assert normalize_repo_url(url) != normalize_repo_url("git@github.com:acme/fleet.git")
