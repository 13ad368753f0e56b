"""A failure in the port-forward's threads ends that connection, told, not printed.

The channel copies bytes in threads of its own; when the stream from the API
server is garbled there, the channel keeps the failure for the diagnosis and
ends the connection, and nothing process-wide (``threading.excepthook``) is
involved. Well-formed streams are covered for real by
``tests/integration/test_fluxctl_portforward.py``.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from websocket import ABNF

from fluxctl import portforward
from fluxctl.podchannel import PodChannel
from fluxctl.portforward import FLUX_PORT, Forward, PodRef


class ScriptedSocket:
    """The websocket's socket: a shutdown ends the stream, as the kernel's does."""

    def __init__(self, shut: threading.Event) -> None:
        self._shut = shut

    def shutdown(self, how: int) -> None:
        self._shut.set()


class ScriptedWebsocket:
    """Answers ``recv_data_frame`` from a list of (opcode, payload); then the stream ends."""

    def __init__(self, frames: list[tuple[int, bytes]]) -> None:
        self._frames = list(frames)
        self.sent: list[bytes] = []
        self.shut = threading.Event()
        self.closed_by_us = threading.Event()
        self.sock = ScriptedSocket(self.shut)
        #: Set when the socket is closed: its descriptor's number is free again.
        self.released = threading.Event()

    def recv_data_frame(self, control_frame: bool) -> tuple[int, object]:
        if not self._frames:
            self.shut.wait(10)
            return ABNF.OPCODE_CLOSE, SimpleNamespace(data=b"")
        opcode, data = self._frames.pop(0)
        return opcode, SimpleNamespace(data=data)

    def send_binary(self, data: bytes) -> None:
        self.sent.append(data)

    def send_close(self) -> None:
        self.closed_by_us.set()

    def shutdown(self) -> None:
        self.released.set()
        self.shut.set()


PORT = FLUX_PORT.to_bytes(2, "little")
#: What the API server sends first: the port number on the data and the error channel.
OPENING = [(ABNF.OPCODE_BINARY, b"\x00" + PORT), (ABNF.OPCODE_BINARY, b"\x01" + PORT)]


def _channel(frames: list[tuple[int, bytes]]) -> tuple[PodChannel, ScriptedWebsocket]:
    websocket = ScriptedWebsocket(frames)
    return PodChannel(websocket, FLUX_PORT), websocket  # type: ignore[arg-type]


def test_a_garbled_stream_closes_the_connection_and_is_kept_for_diagnosis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hooked: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", hooked.append)
    channel, websocket = _channel([(ABNF.OPCODE_TEXT, b"?")])
    near = channel.socket()
    near.settimeout(10)

    assert near.recv(1) == b""  # the connection ended
    assert channel.error() == "port-forward stream failed: Unexpected websocket opcode: 1"
    assert websocket.shut.wait(10)
    assert hooked == []  # handled inside the thread


def test_the_pods_bytes_come_out_after_the_port_frames_and_ours_go_in_on_channel_0() -> None:
    channel, websocket = _channel([*OPENING, (ABNF.OPCODE_BINARY, b"\x00HTTP/1.1 200 OK\r\n")])
    near = channel.socket()
    near.settimeout(10)
    near.sendall(b"GET / HTTP/1.1\r\n")

    assert near.recv(100) == b"HTTP/1.1 200 OK\r\n"
    near.shutdown(2)  # SHUT_RDWR: the local side is done
    assert websocket.closed_by_us.wait(10)  # the stream is closed after what we sent
    assert b"".join(websocket.sent) == b"\x00GET / HTTP/1.1\r\n"
    channel.close()


def test_the_error_channel_ends_the_connection_with_the_pods_message() -> None:
    refused = b"\x01error forwarding port 3030: connection refused"
    channel, _ = _channel([*OPENING, (ABNF.OPCODE_BINARY, refused)])
    near = channel.socket()
    near.settimeout(10)

    assert near.recv(1) == b""
    assert channel.error() == "error forwarding port 3030: connection refused"
    channel.close()


def test_a_first_frame_for_another_port_is_a_stream_failure() -> None:
    channel, _ = _channel([(ABNF.OPCODE_BINARY, b"\x00" + (8080).to_bytes(2, "little"))])
    near = channel.socket()
    near.settimeout(10)

    assert near.recv(1) == b""
    assert "Unexpected initial frame on channel 0" in (channel.error() or "")


def test_opening_a_forward_installs_no_process_wide_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    def dial(access: object, pod: PodRef, timeout: float) -> PodChannel:
        return _channel([(ABNF.OPCODE_TEXT, b"?")])[0]

    monkeypatch.setattr(portforward, "_dial_within", dial)
    before = threading.excepthook
    forward = Forward(object(), PodRef("flux", "fluxd-0", "app=fluxd"), timeout=5)  # type: ignore[arg-type]
    try:
        assert threading.excepthook is before
    finally:
        forward.close()


def test_the_socket_is_given_back_only_after_the_reader_stopped_reading_it() -> None:
    # A descriptor closed under a reader is reused by the next file opened,
    # and the reader then eats that file's first bytes.
    websocket = ScriptedWebsocket(OPENING)
    released_while_reading: list[bool] = []
    scripted = websocket.recv_data_frame

    def recv_data_frame(control_frame: bool) -> tuple[int, object]:
        frame = scripted(control_frame)
        released_while_reading.append(websocket.released.is_set())
        return frame

    websocket.recv_data_frame = recv_data_frame  # type: ignore[method-assign]
    channel = PodChannel(websocket, FLUX_PORT)  # type: ignore[arg-type]

    channel.close()

    assert websocket.released.is_set()
    assert released_while_reading == [False, False, False]
