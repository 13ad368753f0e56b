"""The status page, ``/v11/status`` and ``/v11/diff`` over the real HTTP contract."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import pytest
from prometheus_client import CollectorRegistry

from fluxd.api.app import create_app
from fluxd.cluster import Container, Rollout
from fluxd.settings import ApiSettings, ManifestSettings
from fluxd.sync.results import ResourceFailure, SyncResult
from fluxd.views import (
    Action,
    CommitView,
    DiffReport,
    ObjectChange,
    Remote,
    StatusView,
    WorkloadView,
)
from unit.api.fakes import REVISION, FakeDaemon
from unit.api.testclient import TestClient

BAD = ResourceFailure(
    "", "apps/<broken>.yaml", "apps/<broken>.yaml (document 0, line 6): bad YAML", line=6
)


@dataclass
class FakeStatus:
    """Implements ``fluxd.api.port.StatusPort``."""

    view: StatusView = field(
        default_factory=lambda: StatusView(
            version="1.0",
            remote=Remote("ssh://git@example.com/fleet", "main"),
            git_status="ready",
            last_synced=CommitView(REVISION, "Ada <ada@example.com>", 1_700_000_000.0, "Fix"),
            passes=(SyncResult(REVISION, 1_700_000_000.0, 0.5, applied=2, failures=(BAD,)),),
            workloads=(
                WorkloadView(
                    "demo:deployment/web",
                    "ready",
                    Rollout(desired=3, updated=3, ready=3),
                    (Container("web", "nginx:1.16.1"),),
                ),
            ),
            garbage_collection=True,
        )
    )
    asked: list[tuple[str, Mapping[str, bytes] | None]] = field(default_factory=list)

    def status(self) -> StatusView:
        return self.view

    def diff(self, ref: str, files: Mapping[str, bytes] | None) -> DiffReport:
        self.asked.append((ref, files))
        change = ObjectChange("demo:configmap/a", "a.yaml", Action.CHANGE, diff="-x\n+y\n")
        return DiffReport(REVISION, (change,), unchanged=4, garbage_collection=True)


def _client(status: FakeStatus, token: str = "") -> Iterator[TestClient]:
    app = create_app(
        FakeDaemon(),
        settings=ApiSettings(token=token),
        registry=CollectorRegistry(),
        status=status,
        limits=ManifestSettings(max_file_size=1024),
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def status() -> FakeStatus:
    return FakeStatus()


@pytest.fixture
def client(status: FakeStatus) -> Iterator[TestClient]:
    yield from _client(status)


def test_the_page_shows_the_failure_with_file_and_line_escaped(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<meta http-equiv="refresh" content="10">' in html
    assert f"Last sync of {REVISION[:7]}: 1 failed" in html
    assert "<code>apps/&lt;broken&gt;.yaml</code></td><td>6</td>" in html
    assert "<broken>" not in html
    assert '<h2 id="workloads">Workloads</h2>' in html and "3/3 ready" in html
    assert 'href="/metrics"' in html and 'href="/api/flux/docs"' in html
    assert 'href="/status.css"' in html and "<script" not in html
    css = client.get("/status.css")
    assert css.headers["content-type"].startswith("text/css") and ".verdict" in css.text


def test_status_json_carries_the_same_summary(client: TestClient) -> None:
    report = client.get("/api/flux/v11/status").json()
    assert report["garbageCollection"] == "on"
    assert report["lastSync"]["author"] == "Ada <ada@example.com>"
    assert report["passes"][0]["failures"] == [
        {"id": "", "file": "apps/<broken>.yaml", "line": 6, "error": BAD.error}
    ]


def test_a_diff_of_files_sends_them_to_the_port(client: TestClient, status: FakeStatus) -> None:
    answer = client.post("/api/flux/v11/diff", json={"files": {"a.yaml": "kind: x\n"}})
    assert answer.status_code == 200, answer.text
    assert answer.json()["change"] == 1 and answer.json()["unchanged"] == 4
    assert status.asked == [("", {"a.yaml": b"kind: x\n"})]


def test_a_diff_body_over_the_cap_is_refused_before_it_is_read_whole(
    client: TestClient, status: FakeStatus
) -> None:
    answer = client.post("/api/flux/v11/diff", json={"files": {"a.yaml": "x" * 20_000}})
    assert answer.status_code == 413
    assert "--manifest-max-file-size" in answer.json()["help"]
    assert status.asked == []


@pytest.mark.parametrize("name", ["/etc/passwd", ""])
def test_a_diff_file_must_be_named_by_a_relative_path(client: TestClient, name: str) -> None:
    answer = client.post("/api/flux/v11/diff", json={"files": {name: "x"}})
    assert answer.status_code == 400
    assert "not a relative path" in answer.json()["error"]


def test_with_a_token_the_page_asks_for_it_once(status: FakeStatus) -> None:
    for client in _client(status, token="s3cret"):
        asked = client.get("/")
        assert asked.status_code == 401
        assert '<label for="token">API token</label>' in asked.text
        assert client.get("/api/flux/v11/status").status_code == 401
        wrong = client.post("/login", content=b"token=nope", follow_redirects=False)
        assert wrong.status_code == 401 and "That token is not fluxd" in wrong.text
        right = client.post("/login", content=b"token=s3cret", follow_redirects=False)
        assert right.status_code == 303
        assert "s3cret" not in right.headers["set-cookie"]
        assert "HttpOnly" in right.headers["set-cookie"]
        assert client.get("/").status_code == 200
        client.cookies.clear()
        assert client.get("/").status_code == 401
        assert client.get("/", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_a_diff_from_a_browser_page_must_say_json(client: TestClient, status: FakeStatus) -> None:
    answer = client.post(
        "/api/flux/v11/diff",
        content=b'{"ref": ""}',
        headers={"Origin": "https://elsewhere.example", "Content-Type": "text/plain"},
    )
    assert answer.status_code == 415
    assert status.asked == []


def test_a_git_problem_shows_with_its_error_and_what_to_do(status: FakeStatus) -> None:
    status.view = StatusView(
        version="1.0",
        remote=Remote("ssh://git@example.com/fleet", "main"),
        git_status="unreachable",
        git_error="Permission denied (publickey)",
        git_help="Add the key from 'fluxctl identity' as a deploy key.",
    )
    for client in _client(status):
        html = client.get("/").text
        assert "Git repository not ready (unreachable)" in html
        assert '<dd><span class="error">Permission denied (publickey)</span>' in html
        assert "<dt>What to do</dt><dd>Add the key from &#x27;fluxctl identity&#x27;" in html
        assert "No sync pass has run yet." in html
