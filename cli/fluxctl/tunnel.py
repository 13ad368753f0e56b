"""A local TCP listener whose connections are each carried by a fresh channel.

``portforward.py`` supplies the channels (one Kubernetes port-forward
websocket per TCP connection, as ``kubectl port-forward`` does); this module
knows nothing about Kubernetes. httpx keeps its connection alive, so a
command normally opens exactly one channel.

The first channel is dialled before the listener is handed out, so that
RBAC refusals and handshake failures surface in the caller's thread as
ordinary errors instead of as a dropped connection later.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import threading
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)

_CHUNK = 256 * 1024


class Channel(Protocol):
    """A byte stream to the remote port, as a socket the tunnel can select on."""

    def socket(self) -> socket.socket: ...

    def error(self) -> str | None: ...

    def close(self) -> None: ...


Dial = Callable[[], Channel]


class Tunnel:
    """Listens on 127.0.0.1:<random port>; forwards each connection over ``dial()``."""

    def __init__(self, dial: Dial, *, name: str = "tunnel") -> None:
        self._dial = dial
        self._lock = threading.Lock()
        self._spare: Channel | None = dial()
        self._open: set[Channel] = set()
        self._closed = False
        self.last_error = ""
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept_loop, name=name, daemon=True)
        self._acceptor.start()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            channels = list(self._open)
            if self._spare is not None:
                channels.append(self._spare)
                self._spare = None
        _close_quietly(self._listener)
        for channel in channels:
            channel.close()

    def __enter__(self) -> Tunnel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _accept_loop(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # listener closed
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _take_channel(self) -> Channel | None:
        with self._lock:
            if self._closed:
                return None
            channel, self._spare = self._spare, None
        if channel is None:
            channel = self._dial()
        with self._lock:
            self._open.add(channel)
        return channel

    def _serve(self, conn: socket.socket) -> None:
        channel: Channel | None = None
        try:
            channel = self._take_channel()
            if channel is not None:
                _shuttle(conn, channel.socket())
        except Exception as exc:  # a thread must not die silently: record it
            self.last_error = f"port-forward failed: {exc}"
            log.debug("tunnel connection failed", exc_info=True)
        finally:
            _close_quietly(conn)
            if channel is not None:
                self._finish(channel)

    def _finish(self, channel: Channel) -> None:
        error = channel.error()
        if error:
            self.last_error = f"port-forward reported: {error.strip()}"
        channel.close()
        with self._lock:
            self._open.discard(channel)


def _shuttle(local: socket.socket, remote: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    peers = {local.fileno(): remote, remote.fileno(): local}
    sockets = [local, remote]
    while True:
        readable, _, _ = select.select(sockets, [], [])
        for sock in readable:
            try:
                data = sock.recv(_CHUNK)
                if data:
                    peers[sock.fileno()].sendall(data)
            except OSError:  # a reset is just another way of closing
                return
            if not data:
                return


def _close_quietly(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()
