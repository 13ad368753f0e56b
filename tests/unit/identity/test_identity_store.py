"""KubeSecretStore turns every Kubernetes client failure into our own errors."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from kubernetes import client as k8s

from fluxd.cluster import SecretRequests
from fluxd.errors import ClusterError, IdentityError
from fluxd.identity import KubeSecretStore, SecretConflict

STATUS = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure"}


class CannedApi(BaseHTTPRequestHandler):
    """Answers every request with the status code set on the server."""

    def _answer(self) -> None:
        code: int = self.server.code  # type: ignore[attr-defined]
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        body = json.dumps({**STATUS, "code": code, "reason": "Canned"}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), CannedApi)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def store_at(host: str) -> KubeSecretStore:
    configuration = k8s.Configuration(host=host)
    configuration.retries = 0
    api = SecretRequests(k8s.ApiClient(configuration), namespace="flux", name="flux-git-deploy")
    return KubeSecretStore(api)


@pytest.fixture
def store(api) -> KubeSecretStore:
    return store_at(f"http://127.0.0.1:{api.server_address[1]}")


def test_a_missing_secret_reads_as_none(api, store):
    api.code = 404
    assert store.get_secret_data() is None


@pytest.mark.parametrize("expect_version", [None, "12"])
@pytest.mark.parametrize("code", [409, 404])
def test_a_write_that_lost_a_race_is_a_conflict(api, store, code, expect_version):
    api.code = code
    with pytest.raises(SecretConflict):
        store.write_secret_data({"identity": b"k"}, expect_version=expect_version)


def test_forbidden_is_a_cluster_error_naming_rbac(api, store):
    api.code = 403
    with pytest.raises(ClusterError) as caught:
        store.get_secret_data()
    assert caught.value.status == 403
    assert "RBAC" in caught.value.help or "ServiceAccount" in caught.value.help


def test_server_failure_is_a_cluster_error(api, store):
    api.code = 500
    with pytest.raises(ClusterError) as caught:
        store.write_secret_data({"identity": b"k"}, expect_version="3")
    assert not isinstance(caught.value, IdentityError)


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port that is bound but not listening, so connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def test_an_unreachable_api_server_is_a_cluster_error_not_a_urllib3_one():
    with closed_port() as port:
        store = store_at(f"http://127.0.0.1:{port}")
        with pytest.raises(ClusterError, match="did not answer"):
            store.get_secret_data()
