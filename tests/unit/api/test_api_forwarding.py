"""A standby replica hands the leader's requests to the leader, so fluxctl works via any pod.

The leader here is the API app served for real on 127.0.0.1 (uvicorn in a
thread) over a fake daemon; the standby is the same app in-process, told
where the leader is by its leadership view.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from prometheus_client import CollectorRegistry

from fluxd.api.app import create_app
from fluxd.settings import ApiSettings
from fluxd.views import Leadership
from unit.api.fakes import FakeDaemon
from unit.api.test_status_routes import FakeStatus
from unit.api.testclient import TestClient
from unit.cli.fake_daemon import Server

SYNC = {"type": "sync", "cause": {}, "spec": {}}
NOTIFY = {"Kind": "git", "Source": {"URL": "git@github.com:acme/fleet.git", "Branch": "main"}}


@pytest.fixture
def leader() -> Iterator[tuple[FakeDaemon, int]]:
    daemon = FakeDaemon()
    app = create_app(daemon, settings=ApiSettings(), registry=CollectorRegistry())
    server = Server(app).start()
    yield daemon, server.port
    server.stop()


def _standby(address: str, token: str = "") -> tuple[FakeDaemon, TestClient]:
    view = Leadership(elected=True, leading=False, leader="flux-a", leader_address=address)
    daemon = FakeDaemon(leader=view)
    app = create_app(daemon, settings=ApiSettings(token=token), registry=CollectorRegistry())
    return daemon, TestClient(app, raise_server_exceptions=False)


def test_a_sync_job_started_via_the_standby_runs_on_the_leader_and_is_followed_there(
    leader: tuple[FakeDaemon, int],
) -> None:
    leading, port = leader
    standby, client = _standby(f"127.0.0.1:{port}")
    with client:
        started = client.post("/api/flux/v9/update-manifests", json=SYNC)
        assert started.status_code == 200
        job = started.json()
        assert job in leading.jobs and standby.jobs == {}
        status = client.get("/api/flux/v6/jobs", params={"id": job})
        assert status.status_code == 200
        assert status.json()["StatusString"] == "queued"


def test_a_push_notification_via_the_standby_reaches_the_leader(
    leader: tuple[FakeDaemon, int],
) -> None:
    leading, port = leader
    standby, client = _standby(f"127.0.0.1:{port}")
    with client:
        assert client.post("/api/flux/v11/notify", json=NOTIFY).status_code == 202
    assert leading.notified == [("git@github.com:acme/fleet.git", "main")]
    assert standby.notified == []


def test_the_token_goes_along_and_the_leader_checks_it() -> None:
    leading = FakeDaemon()
    app = create_app(leading, settings=ApiSettings(token="s3cret"), registry=CollectorRegistry())
    server = Server(app).start()
    try:
        _, client = _standby(f"127.0.0.1:{server.port}", token="s3cret")
        with client:
            good = {"Authorization": "Bearer s3cret"}
            sent = client.post("/api/flux/v9/update-manifests", json=SYNC, headers=good)
            bad = {"Authorization": "Bearer guess"}
            refused = client.post("/api/flux/v9/update-manifests", json=SYNC, headers=bad)
    finally:
        server.stop()
    assert sent.status_code == 200 and refused.status_code == 401
    assert list(leading.jobs) == [sent.json()]


def test_without_a_reachable_leader_a_write_is_refused_with_a_retry_hint() -> None:
    standby, client = _standby("127.0.0.1:9")  # nothing listens on the discard port
    with client:
        answer = client.post("/api/flux/v9/update-manifests", json=SYNC)
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert "no leader is reachable" in answer.json()["error"]
    assert standby.jobs == {}  # never a job that pretends to have synced


def test_a_push_notification_without_a_reachable_leader_is_kept_here() -> None:
    # "Fetch soon" loses nothing by staying: this replica fetches when it leads.
    standby, client = _standby("127.0.0.1:9")
    with client:
        assert client.post("/api/flux/v11/notify", json=NOTIFY).status_code == 202
    assert standby.notified == [("git@github.com:acme/fleet.git", "main")]


def test_a_replica_that_becomes_leader_while_a_sync_waits_answers_it_itself() -> None:
    view = Leadership(elected=True, leading=False)  # starting: no leader known yet
    daemon = FakeDaemon(leader=view)
    app = create_app(daemon, settings=ApiSettings(), registry=CollectorRegistry())
    timer = threading.Timer(0.3, lambda: setattr(daemon, "leader", Leadership(elected=True)))
    timer.start()
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.post("/api/flux/v9/update-manifests", json=SYNC)
    timer.join()
    assert answer.status_code == 200
    assert list(daemon.jobs) == [answer.json()]


def test_reads_are_answered_by_the_standby_itself() -> None:
    standby, client = _standby("127.0.0.1:9")
    with client:
        assert client.get("/api/flux/v11/version").status_code == 200
        assert client.get("/api/flux/v6/identity.pub").status_code == 200
        # Listings prefer the leader, and fall back to this replica's own answer.
        assert client.get("/api/flux/v11/services").status_code == 200
    assert standby.listed == [("", ())]


def test_a_forwarded_request_is_never_forwarded_again(leader: tuple[FakeDaemon, int]) -> None:
    _, port = leader
    standby, client = _standby(f"127.0.0.1:{port}")
    with client:
        answer = client.post(
            "/api/flux/v9/update-manifests", json=SYNC, headers={"X-Fluxd-Forwarded-By": "flux-b"}
        )
    assert answer.status_code == 200
    assert list(standby.jobs) == [answer.json()]


def test_the_status_via_the_standby_is_the_leaders_which_has_run_the_passes() -> None:
    leading_status = FakeStatus()
    app = create_app(
        FakeDaemon(), settings=ApiSettings(), registry=CollectorRegistry(), status=leading_status
    )
    server = Server(app).start()
    try:
        with TestClient(app, raise_server_exceptions=False) as direct:
            from_leader = direct.get("/api/flux/v11/status").json()
        view = Leadership(
            elected=True, leading=False, leader="flux-a", leader_address=f"127.0.0.1:{server.port}"
        )
        standby_status = FakeStatus(view=replace(leading_status.view, passes=()))
        standby = create_app(
            FakeDaemon(leader=view),
            settings=ApiSettings(),
            registry=CollectorRegistry(),
            status=standby_status,
        )
        with TestClient(standby, raise_server_exceptions=False) as client:
            answer = client.get("/api/flux/v11/status")
    finally:
        server.stop()
    assert answer.status_code == 200
    assert answer.json() == from_leader
    assert from_leader != _own_status(standby_status)


def _own_status(status: FakeStatus) -> object:
    app = create_app(
        FakeDaemon(), settings=ApiSettings(), registry=CollectorRegistry(), status=status
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        return client.get("/api/flux/v11/status").json()
