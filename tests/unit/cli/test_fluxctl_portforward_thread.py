"""A failure in the port-forward's proxy thread ends that connection, told, not printed.

The client copies bytes in its own thread; when it raises there, the forward
keeps the failure for the diagnosis and closes the connection, and nothing
process-wide (``threading.excepthook``) is involved.
"""

from __future__ import annotations

import socket
import threading

import pytest

from fluxctl import portforward
from fluxctl.portforward import FLUX_PORT, Forward, GuardedPortForward, PodRef, _PodChannel


class GarbledWebsocket:
    """Readable at once, and what it reads is a protocol surprise."""

    connected = True

    def __init__(self) -> None:
        self._ours, self._theirs = socket.socketpair()
        self._theirs.sendall(b"?")
        self.closed = False

    def fileno(self) -> int:
        return self._ours.fileno()

    def recv_data_frame(self, control_frame: bool) -> tuple[int, object]:
        raise RuntimeError("Unexpected websocket opcode: 3")

    def close(self) -> None:
        self.closed = True
        self._ours.close()
        self._theirs.close()


def _guarded(websocket: GarbledWebsocket) -> GuardedPortForward:
    return GuardedPortForward(websocket, [FLUX_PORT])  # type: ignore[no-untyped-call]


def test_a_proxy_thread_failure_closes_the_connection_and_is_kept_for_diagnosis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hooked: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", hooked.append)
    websocket = GarbledWebsocket()

    channel = _PodChannel(_guarded(websocket))
    near = channel.socket()
    near.settimeout(10)

    assert near.recv(1) == b""  # the connection ended
    assert channel.error() == "port-forward stream failed: Unexpected websocket opcode: 3"
    assert websocket.closed
    assert hooked == []  # handled inside the thread


class ClosableApi:
    def close(self) -> None:
        return None


def test_opening_a_forward_installs_no_process_wide_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    def dial(api: object, pod: PodRef, timeout: float) -> _PodChannel:
        return _PodChannel(_guarded(GarbledWebsocket()))

    monkeypatch.setattr(portforward, "_dial_within", dial)
    before = threading.excepthook
    forward = Forward(ClosableApi(), PodRef("flux", "fluxd-0", "app=fluxd"), timeout=5)  # type: ignore[arg-type]
    try:
        assert threading.excepthook is before
    finally:
        forward.close()
