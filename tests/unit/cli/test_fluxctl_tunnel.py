"""The local listener hands each TCP connection its own channel and copies bytes both ways."""

from __future__ import annotations

import socket
import threading

import pytest

from fluxctl.tunnel import Tunnel


class EchoChannel:
    """A channel whose far end upper-cases what it receives, then reports ``error``."""

    def __init__(self, error: str | None = None) -> None:
        self.near, far = socket.socketpair()
        self._error = error
        self.closed = threading.Event()
        threading.Thread(target=self._echo, args=(far,), daemon=True).start()

    def _echo(self, far: socket.socket) -> None:
        with far:
            while data := far.recv(65536):
                far.sendall(data.upper())

    def socket(self) -> socket.socket:
        return self.near

    def error(self) -> str | None:
        return self._error

    def close(self) -> None:
        self.closed.set()
        self.near.close()


def round_trip(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(payload)
        received = b""
        while len(received) < len(payload):
            received += conn.recv(65536)
        return received


def test_bytes_go_through_and_come_back() -> None:
    with Tunnel(EchoChannel) as tunnel:
        assert round_trip(tunnel.port, b"hello fluxd") == b"HELLO FLUXD"


def test_large_payloads_arrive_whole() -> None:
    payload = b"x" * 3_000_000
    with Tunnel(EchoChannel) as tunnel:
        assert round_trip(tunnel.port, payload) == payload.upper()


def test_each_connection_gets_its_own_channel_the_first_dialled_up_front() -> None:
    dialled: list[EchoChannel] = []

    def dial() -> EchoChannel:
        dialled.append(EchoChannel())
        return dialled[-1]

    with Tunnel(dial) as tunnel:
        assert len(dialled) == 1  # before any connection
        round_trip(tunnel.port, b"one")
        round_trip(tunnel.port, b"two")
        assert len(dialled) == 2


def test_a_refused_first_dial_raises_in_the_callers_thread() -> None:
    def refuse() -> EchoChannel:
        raise PermissionError("pods/portforward is forbidden")

    with pytest.raises(PermissionError, match="forbidden"):
        Tunnel(refuse)


def test_an_error_reported_by_the_channel_is_kept_for_diagnosis() -> None:
    channel = EchoChannel(error="error forwarding port 3030: connection refused")
    with Tunnel(lambda: channel) as tunnel:
        round_trip(tunnel.port, b"ping")
        # The connection winds down in the tunnel's thread after we hang up.
        assert channel.closed.wait(timeout=5)
    assert "connection refused" in tunnel.last_error


def test_closing_stops_listening() -> None:
    tunnel = Tunnel(EchoChannel)
    tunnel.close()

    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", tunnel.port), timeout=1)
