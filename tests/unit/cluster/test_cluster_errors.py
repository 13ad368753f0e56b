"""Translating what the API server and the transport say into ClusterError."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from kubernetes.client import ApiClient, Configuration
from kubernetes.client.exceptions import ApiException

from fluxd.cluster import (
    ApplyObject,
    Cluster,
    EventTarget,
    Inventory,
    InventoryEntry,
    KubeClient,
)
from fluxd.cluster.errors import (
    IMMUTABLE_HELP,
    api_error,
    help_for,
    is_immutable,
    status_message,
)
from fluxd.errors import ClusterError
from fluxd.settings import ClusterSettings, SyncSettings
from fluxids import ObjectRef


def status_body(code: int, message: str, reason: str = "Invalid") -> bytes:
    return json.dumps(
        {"kind": "Status", "status": "Failure", "code": code, "reason": reason, "message": message}
    ).encode()


def test_the_apis_own_message_is_kept() -> None:
    message = 'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1'
    error = api_error(422, status_body(422, message), what="applying demo:deployment/web")
    assert error.message == f"applying demo:deployment/web: {message}"
    assert error.status == 422
    assert "fix the manifest in git" in error.help


@pytest.mark.parametrize(
    ("status", "words"),
    [(401, "credentials"), (403, "RBAC"), (404, "does not exist"), (503, "retries")],
)
def test_help_depends_on_who_has_to_act(status: int, words: str) -> None:
    assert words in api_error(status, b"", what="x").help


def test_transport_failures_point_at_the_connection() -> None:
    assert "cannot reach the Kubernetes API" in help_for(None)


def test_a_body_that_is_not_a_status_is_shown_as_text() -> None:
    assert status_message(b"upstream timed out\n", 504) == "upstream timed out"
    assert status_message(b"", 502, "Bad Gateway") == "Bad Gateway"


def test_long_messages_are_cut() -> None:
    assert len(status_message(status_body(422, "x" * 10_000), 422)) < 2100


def test_immutable_field_errors_are_named_as_such() -> None:
    message = (
        'Deployment.apps "web" is invalid: spec.selector: Invalid value: ...: field is immutable'
    )
    assert is_immutable(422, message)
    assert not is_immutable(409, message)
    error = api_error(422, status_body(422, message), what="applying web")
    assert "immutable field changed" in error.message
    assert error.help == IMMUTABLE_HELP


def test_statefulset_spec_changes_count_as_immutable() -> None:
    message = (
        'StatefulSet.apps "db" is invalid: spec: Forbidden: updates to statefulset spec '
        "for fields other than 'replicas', 'template' are forbidden"
    )
    assert is_immutable(422, message)


@pytest.fixture
def not_tls() -> Iterator[int]:
    """A local port that answers TLS handshakes with plain text."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def broken_cluster(port: int) -> Cluster:
    config = Configuration(host=f"https://127.0.0.1:{port}")
    # No retries, so urllib3's own SSLError reaches our edge, not MaxRetryError.
    config.retries = False
    client = KubeClient(ApiClient(configuration=config), timeout=2.0)
    return Cluster(client, ClusterSettings(namespace="flux"), SyncSettings(timeout=1.0))


def test_the_official_client_raises_apiexception_here(not_tls: int) -> None:
    # What would leak through a careless caller of the official client.
    config = Configuration(host=f"https://127.0.0.1:{not_tls}")
    config.retries = False
    with pytest.raises(ApiException):
        ApiClient(configuration=config).call_api("GET", config.host + "/api")


def test_no_foreign_exception_escapes_a_public_method(not_tls: int) -> None:
    cluster = broken_cluster(not_tls)
    ref = ObjectRef("demo", "ConfigMap", "a", "v1")
    obj = ApplyObject(ref, "a.yaml", {})
    entry = InventoryEntry(ref, mark="m")
    calls: dict[str, Callable[[], object]] = {
        "ping": cluster.ping,
        "scope": lambda: cluster.scope("v1", "ConfigMap"),
        "detect_drift": lambda: cluster.detect_drift([entry]),
        "foreign_objects": lambda: cluster.foreign_objects([ref]),
        "load_inventory": cluster.load_inventory,
        "save_inventory": lambda: cluster.save_inventory(Inventory()),
        "collect_garbage": lambda: cluster.collect_garbage(Inventory.of([entry]), set(), rank=len),
        "list_workloads": cluster.list_workloads,
        "export_workloads": cluster.export_workloads,
        "read_secret": lambda: cluster.read_secret("flux-git-deploy"),
        "pull_secrets_of": lambda: cluster.pull_secrets_of("demo", "default"),
        "annotate_secret": lambda: cluster.annotate_secret("flux-git-deploy", {"a": "b"}),
        "record_event": lambda: cluster.record_event(EventTarget(ref), reason="Sync", message="m"),
        "namespace_annotations": lambda: cluster.namespace_annotations("flux"),
    }
    public = {name for name in dir(Cluster) if not name.startswith("_")}
    # apply and the previews fail object by object; the fence is asked, never the server.
    failing_alone = {"apply", "preview_apply", "preview_delete"}
    # secret_requests only builds an object; its requests are the key ring's to make.
    # stop_watching only ends threads (a watch that fails relists by itself).
    local = {"close", "connect", "secret_requests", "set_fence", "may_write", "stop_watching"}
    assert public - failing_alone - local == set(calls), "add new methods here"
    for name, call in calls.items():
        with pytest.raises(ClusterError) as caught:
            call()
            pytest.fail(f"{name} did not raise")
        assert "127.0.0.1" in caught.value.message, name
        assert caught.value.status is None, name
        assert caught.value.transient, name  # no answer at all: worth retrying soon
    outcomes = cluster.apply([obj], rank=lambda kind: 0)
    assert [o.applied for o in outcomes] == [False]
    assert "cannot talk to the Kubernetes API" in outcomes[0].error
    previews = [*cluster.preview_apply([obj]), *cluster.preview_delete([entry])]
    assert [p.id for p in previews] == ["demo:configmap/a"] * 2
    assert all("cannot talk to the Kubernetes API" in p.error for p in previews)
    assert outcomes[0].transient
    cluster.close()


def test_nothing_listening_is_a_cluster_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = KubeClient(ApiClient(Configuration(host=f"https://127.0.0.1:{port}")), timeout=2.0)
    with pytest.raises(ClusterError, match="cannot talk to the Kubernetes API"):
        client.request("GET", "/api")


def test_an_unreadable_kubeconfig_is_a_cluster_error(tmp_path) -> None:
    bad = tmp_path / "config"
    bad.write_text("not: [a kubeconfig")
    with pytest.raises(ClusterError, match="cannot load Kubernetes client configuration"):
        Cluster.connect(ClusterSettings(kubeconfig=str(bad)), SyncSettings())


def test_an_apiexception_with_a_status_body_keeps_the_apis_words() -> None:
    client = KubeClient(ApiClient(Configuration(host="https://127.0.0.1:1")))
    body = status_body(403, 'secrets "x" is forbidden', "Forbidden").decode()
    with pytest.raises(ClusterError) as caught, client._translated("reading Secret x"):
        raise ApiException(status=403, reason="Forbidden", body=body)
    assert caught.value.status == 403
    assert caught.value.message == 'reading Secret x: secrets "x" is forbidden'
    assert isinstance(caught.value.__cause__, ApiException)
