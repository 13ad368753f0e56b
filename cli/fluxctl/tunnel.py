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
        # shutdown() first: close() alone does not wake the thread blocked in
        # accept(), and the port would keep accepting until it returns.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
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
            # Bytes are passed on as they arrive; with Nagle on, a response
            # written in two pieces would wait 40 ms for a delayed ACK.
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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
    """Copy bytes both ways until the remote side is done.

    One thread per direction: with a single thread, a peer that writes a lot
    before reading would block it in ``sendall`` while the other direction
    fills up, and both would wait forever.
    """
    upstream = threading.Thread(target=_pump, args=(local, remote), daemon=True)
    upstream.start()
    _pump(remote, local)
    # The answer is complete; wake the upstream pump, which may be waiting on
    # a kept-alive connection that will send nothing more.
    with contextlib.suppress(OSError):
        local.shutdown(socket.SHUT_RDWR)
    upstream.join()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(_CHUNK):
            sink.sendall(data)
    except OSError:
        pass  # a reset is just another way of closing
    finally:
        # Pass the end of stream on, so the other side can finish too.
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def _close_quietly(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()
