"""fluxctl's HTTP transport: one kept-alive connection, replaced when the server dropped it."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from fluxctl.transport import ConnectFailed, HttpTransport

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\nnull"


@dataclass
class RawServer:
    """An HTTP/1.1 server on 127.0.0.1 that records request lines per connection.

    With ``drop_after_answer`` it closes each connection after its first
    answer without saying so, as a server whose keep-alive timeout passed.
    """

    drop_after_answer: bool = False
    connections: list[list[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.answered = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            lines: list[str] = []
            self.connections.append(lines)
            threading.Thread(target=self._serve, args=(conn, lines), daemon=True).start()

    def _serve(self, conn: socket.socket, lines: list[str]) -> None:
        with conn, conn.makefile("rb") as reader:
            while request_line := reader.readline():
                while reader.readline() not in (b"\r\n", b""):
                    pass  # headers; the test requests carry no body
                lines.append(request_line.decode().strip())
                conn.sendall(ANSWER)
                if self.drop_after_answer:
                    conn.shutdown(socket.SHUT_RDWR)
                    self.answered.set()
                    return

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def server() -> Iterator[RawServer]:
    raw = RawServer()
    yield raw
    raw.close()


def transport(port: int, *, trust_env: bool = False) -> HttpTransport:
    return HttpTransport(
        f"http://127.0.0.1:{port}/api/flux", headers={}, timeout=5, trust_env=trust_env
    )


def test_requests_share_one_connection(server: RawServer) -> None:
    http = transport(server.port)

    first = http.request("GET", "/v6/sync", params={"ref": "abc"})
    http.request("GET", "/v6/jobs")
    http.close()

    assert first.status == 200 and first.body == b"null"
    assert server.connections == [
        ["GET /api/flux/v6/sync?ref=abc HTTP/1.1", "GET /api/flux/v6/jobs HTTP/1.1"]
    ]


def test_a_connection_the_server_dropped_is_replaced_before_the_next_request() -> None:
    server = RawServer(drop_after_answer=True)
    http = transport(server.port)

    http.request("GET", "/v6/sync")
    assert server.answered.wait(5)
    second = http.request("GET", "/v6/jobs")
    http.close()
    server.close()

    assert second.status == 200
    assert server.connections == [
        ["GET /api/flux/v6/sync HTTP/1.1"],
        ["GET /api/flux/v6/jobs HTTP/1.1"],
    ]


def test_the_environments_http_proxy_gets_the_absolute_url(
    server: RawServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    # The URL's own port is closed: only the proxy can answer.
    http = transport(closed_port(), trust_env=True)

    http.request("GET", "/v11/version")
    http.close()

    assert server.connections[0][0].startswith("GET http://127.0.0.1:")
    assert server.connections[0][0].endswith("/api/flux/v11/version HTTP/1.1")


def test_no_proxy_and_an_untrusted_environment_go_direct(
    server: RawServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    transport(server.port, trust_env=True).request("GET", "/v11/version")
    monkeypatch.delenv("NO_PROXY")
    transport(server.port, trust_env=False).request("GET", "/v11/version")

    assert [c[0] for c in server.connections] == ["GET /api/flux/v11/version HTTP/1.1"] * 2


def test_a_refused_connection_is_a_connect_failure() -> None:
    with pytest.raises(ConnectFailed, match="Connection refused"):
        transport(closed_port()).request("GET", "/v11/version")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
