"""One ``pods/portforward`` websocket to one port of a pod, seen as a socket.

The only module that imports websocket-client. The API server's protocol
(``v4.channel.k8s.io``): every binary message starts with a channel byte;
for the one port asked for, channel 0 carries its data and channel 1 its
error text, and the first message on each channel is the port number (two
bytes, little-endian) instead of payload. What the tunnel writes into
``socket()`` goes out as channel-0 messages; channel-0 messages come back
out of it.

Two threads per channel, one per direction, each blocking on its own side:
websocket-client serialises sends and receives with separate locks.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from urllib.parse import quote, urlsplit

from websocket import (
    ABNF,
    WebSocket,
    WebSocketBadStatusException,
    WebSocketConnectionClosedException,
    WebSocketException,
)

from fluxctl.kubeaccess import KubeAccess

log = logging.getLogger(__name__)

PROTOCOL = "v4.channel.k8s.io"
_DATA, _ERROR = 0, 1
_CHUNK = 256 * 1024
#: How long closing waits for the pump threads to see the stream end.
_JOIN_SECONDS = 2.0


class DialError(Exception):
    """The websocket could not be opened; ``status`` is the HTTP answer's, 0 if none."""

    def __init__(self, message: str, status: int = 0, body: bytes = b"") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body


def dial(access: KubeAccess, namespace: str, pod: str, port: int, timeout: float) -> PodChannel:
    """Open the websocket to ``port`` of ``pod``; ``DialError`` if refused or unreachable."""
    ns, name = quote(namespace, safe=""), quote(pod, safe="")
    scheme = "wss" if access.tls is not None else "ws"
    base = access.server.split("://", 1)[1]
    url = f"{scheme}://{base}/api/v1/namespaces/{ns}/pods/{name}/portforward?ports={port}"
    sslopt: dict[str, object] = {}
    if access.tls is not None:
        sslopt = {"context": access.tls, "check_hostname": access.tls.check_hostname}
        if access.server_name:
            sslopt["server_hostname"] = access.server_name
    websocket = WebSocket(sslopt=sslopt, skip_utf8_validation=True, enable_multithread=True)
    options: dict[str, object] = {}
    if access.proxy:
        proxy = urlsplit(access.proxy)
        options = {
            "http_proxy_host": proxy.hostname,
            "http_proxy_port": proxy.port or 80,
            "proxy_type": "http",
        }
    try:
        websocket.connect(  # type: ignore[no-untyped-call]
            url,
            header=[f"{k}: {v}" for k, v in access.headers.items()],
            subprotocols=[PROTOCOL],
            timeout=timeout,
            **options,
        )
    except WebSocketBadStatusException as exc:
        body = exc.resp_body if isinstance(exc.resp_body, bytes) else b""
        raise DialError(str(exc), exc.status_code, body) from exc
    except (WebSocketException, OSError, ssl.SSLError, ValueError) as exc:
        raise DialError(str(exc) or type(exc).__name__) from exc
    # The answer may take as long as the daemon needs: fluxctl's own HTTP
    # timeout bounds it, not the socket's.
    websocket.settimeout(None)
    return PodChannel(websocket, port)


class PodChannel:
    """A socket pair whose far end is pumped to and from the websocket."""

    def __init__(self, websocket: WebSocket, port: int) -> None:
        self._websocket = websocket
        self._port = port
        self._near, self._far = socket.socketpair()
        self._errors: list[str] = []
        self.failure = ""
        self._pumps = [
            threading.Thread(target=target, name=f"port-forward {direction}", daemon=True)
            for target, direction in ((self._down, "in"), (self._up, "out"))
        ]
        for pump in self._pumps:
            pump.start()

    def socket(self) -> socket.socket:
        return self._near

    def error(self) -> str | None:
        return "".join(self._errors) or self.failure or None

    def close(self) -> None:
        """End the stream; the websocket's socket is closed only once no pump uses it.

        Closing a socket while another thread reads it (OpenSSL reads the
        raw descriptor) frees the descriptor's number for the next file
        this process opens, and the reader then consumes that file's bytes.
        A shutdown wakes the pumps instead and keeps the number taken.
        """
        _quietly(self._near.close)
        self._end_stream()
        me = threading.current_thread()
        for pump in self._pumps:
            if pump is not me:
                pump.join(_JOIN_SECONDS)
        if any(pump.is_alive() for pump in self._pumps):
            return  # left to the process's exit rather than risk a reused descriptor
        _quietly(self._websocket.shutdown)
        _quietly(self._far.close)

    def _end_stream(self) -> None:
        sock = self._websocket.sock
        if sock is not None:
            _quietly(lambda: sock.shutdown(socket.SHUT_RDWR))

    def _down(self) -> None:
        """Pod to tunnel: channel-0 payloads into the socket, channel-1 text kept."""
        started = [False, False]
        try:
            while True:
                opcode, frame = self._websocket.recv_data_frame(True)
                if opcode == ABNF.OPCODE_CLOSE:
                    return
                if opcode != ABNF.OPCODE_BINARY:
                    if opcode in (ABNF.OPCODE_PING, ABNF.OPCODE_PONG):
                        continue
                    raise RuntimeError(f"Unexpected websocket opcode: {opcode}")
                self._take(bytes(frame.data), started)
        except WebSocketConnectionClosedException:
            pass
        except Exception as exc:  # a thread must not die with a traceback: keep it
            log.debug("port-forward stream failed", exc_info=True)
            self.failure = f"port-forward stream failed: {exc}"
        finally:
            # The end of the stream, passed on: the tunnel then finishes the connection.
            _quietly(lambda: self._far.shutdown(socket.SHUT_WR))
            self._end_stream()

    def _take(self, data: bytes, started: list[bool]) -> None:
        if not data or data[0] not in (_DATA, _ERROR):
            raise RuntimeError(f"Unexpected channel in frame: {data[:1]!r}")
        channel, payload = data[0], data[1:]
        if not started[channel]:
            if len(payload) != 2 or int.from_bytes(payload, "little") != self._port:
                raise RuntimeError(f"Unexpected initial frame on channel {channel}: {payload!r}")
            started[channel] = True
        elif channel == _DATA:
            self._far.sendall(payload)
        elif payload:
            self._errors.append(payload.decode("utf-8", "replace"))
            _quietly(lambda: self._far.shutdown(socket.SHUT_WR))

    def _up(self) -> None:
        """Tunnel to pod: what is written into the socket, as channel-0 messages."""
        try:
            while data := self._far.recv(_CHUNK):
                self._websocket.send_binary(bytes([_DATA]) + data)
            # The local side is done; so is the stream (the pod's end has no half-close).
            self._websocket.send_close()
        except (OSError, WebSocketException) as exc:
            log.debug("port-forward upstream ended: %s", exc)


def _quietly(action: Callable[[], object]) -> None:
    with contextlib.suppress(OSError, WebSocketException):
        action()
