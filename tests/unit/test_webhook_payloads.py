"""A delivery whose body has the wrong shape, or a URL that cannot be read, is a 400
naming the field: never a 500, never a fetch."""

from __future__ import annotations

import json
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from fluxd.api.app import create_app
from fluxd.settings import ApiSettings
from fluxd.views import Remote
from unit.api.fakes import FakeDaemon
from unit.api.testclient import TestClient

OUR_URL = "git@github.com:acme/fleet.git"
EVENT = {
    "github": {"X-GitHub-Event": "push"},
    "gitea": {"X-Gitea-Event": "push"},
    "gitlab": {"X-Gitlab-Event": "Push Hook"},
    "bitbucket": {"X-Event-Key": "repo:push"},
    "generic": {},
}


@pytest.fixture
def daemon() -> FakeDaemon:
    return FakeDaemon(remote=Remote(url=OUR_URL, branch="main"))


@pytest.fixture
def client(daemon):
    # No secret: the body is read whoever sent it, which is where shapes matter.
    app = create_app(daemon, settings=ApiSettings(), registry=CollectorRegistry())
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def post(client, provider: str, payload: Any):
    body = json.dumps(payload).encode()
    headers = {**EVENT[provider], "Content-Type": "application/json"}
    return client.post(f"/hook/{provider}", content=body, headers=headers)


@pytest.mark.parametrize(
    ("provider", "payload", "named"),
    [
        ("github", {"ref": "refs/heads/main", "repository": {"clone_url": "http://[bad"}}, "URL"),
        ("gitea", {"ref": "refs/heads/main", "repository": {"ssh_url": "ssh://h:99999/x"}}, "URL"),
        ("generic", {"url": "http://[bad", "branch": "main"}, "URL"),
        ("generic", {"url": "not a url", "branch": "main"}, "URL"),
        ("gitlab", {"ref": "refs/heads/main", "project": {"web_url": "http://[x"}}, "URL"),
        (
            "bitbucket",
            {"repository": {"links": {"html": {"href": "http://[bad"}}}, "push": {"changes": []}},
            "URL",
        ),
        ("bitbucket", {"repository": {}, "push": {"changes": 5}}, "push.changes"),
        ("bitbucket", {"repository": {}, "push": {"changes": [{"new": 5}]}}, "push.changes.0.new"),
        ("bitbucket", {"repository": {}, "changes": {"ref": 1}}, "changes"),
        ("bitbucket", {"repository": {"links": []}, "push": {"changes": []}}, "repository.links"),
        ("bitbucket", {"repository": {"full_name": 7}, "push": {}}, "repository.full_name"),
        ("github", {"ref": 5, "repository": {}}, "ref"),
        ("github", {"ref": "refs/heads/main", "repository": []}, "repository"),
        ("github", {"ref": "refs/heads/main", "repository": {"clone_url": 5}}, "clone_url"),
        ("gitlab", {"ref": "refs/heads/main", "project": 5}, "project"),
        ("gitlab", {"ref": ["x"], "project": {"web_url": OUR_URL}}, "ref"),
        ("generic", {"url": OUR_URL, "branch": {"name": "main"}}, "branch"),
    ],
)
def test_a_wrong_shape_or_url_is_a_400_naming_the_field(client, daemon, provider, payload, named):
    response = post(client, provider, payload)

    assert response.status_code == 400, response.text
    assert named in response.json()["error"]
    assert daemon.notified == []


@pytest.mark.parametrize("provider", ["github", "gitea", "gitlab", "bitbucket", "generic"])
@pytest.mark.parametrize("payload", [None, 5, "push", [], {"": {}}, {"ref": None}])
def test_bodies_that_are_not_push_objects_are_400(client, daemon, provider, payload):
    response = post(client, provider, payload)

    assert response.status_code == 400
    assert daemon.notified == []


def test_a_github_push_with_null_urls_still_matches_by_the_others(client, daemon):
    repo = {"clone_url": None, "ssh_url": OUR_URL, "homepage": None}
    response = post(client, "github", {"ref": "refs/heads/main", "repository": repo})

    assert response.status_code == 202
    assert daemon.notified == [(OUR_URL, "main")]
