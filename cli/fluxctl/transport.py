"""HTTP/1.1 to fluxd's API with the standard library: one kept-alive connection.

fluxctl makes a handful of small requests per command, to one host. A full
HTTP client library cost more CPU to import and set up than a whole
``fluxctl sync`` takes otherwise, so this module does what those requests
need with ``http.client``: keep-alive (a dead kept-alive connection is
replaced before use, never after sending), HTTPS against the system's and
certifi's CAs, and, when allowed, the ``HTTP(S)_PROXY`` / ``NO_PROXY``
environment. Failures come out as the ``TransportError`` kinds below, so
that ``fluxctl.client`` translates one set of exceptions.
"""

from __future__ import annotations

import http.client
import os
import select
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import SplitResult, urlencode, urlsplit

_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy")


class TransportError(Exception):
    """The request did not get an answer."""


class ConnectFailed(TransportError):
    """No connection: refused, unresolvable host, TLS handshake failure."""


class ConnectTimedOut(ConnectFailed):
    """Connecting took longer than the timeout."""


class ReadTimedOut(TransportError):
    """Connected, but the answer took longer than the timeout."""


class InvalidUrl(TransportError):
    """The base URL cannot be used (scheme, host or port)."""


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    content_type: str
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class HttpTransport:
    """Requests under ``base_url``, all over one connection while the server keeps it."""

    def __init__(
        self, base_url: str, *, headers: dict[str, str], timeout: float, trust_env: bool
    ) -> None:
        self._url = _split(base_url)
        self._prefix = self._url.path.rstrip("/")
        self._headers = headers
        self._timeout = timeout
        self._proxy = _proxy_for(self._url) if trust_env else None
        self._conn: http.client.HTTPConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Answer:
        target = self._prefix + path + ("?" + urlencode(params) if params else "")
        if self._proxy is not None and self._url.scheme == "http":
            # A plain-http proxy is asked for the absolute URL.
            target = f"http://{self._url.netloc}{target}"
        headers = dict(self._headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn = self._connection()
        try:
            conn.request(method, target, body=body, headers=headers)
            response = conn.getresponse()
            answer = Answer(
                response.status,
                response.reason,
                response.getheader("content-type", ""),
                response.read(),
            )
        except TimeoutError as exc:
            self.close()
            raise ReadTimedOut(str(exc) or "timed out") from exc
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise TransportError(_describe(exc)) from exc
        if response.will_close:
            self.close()
        return answer

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is not None and _stale(self._conn):
            self.close()
        if self._conn is None:
            try:
                conn = self._new_connection()
            except http.client.InvalidURL as exc:
                raise InvalidUrl(str(exc)) from exc
            try:
                conn.connect()
            except TimeoutError as exc:
                conn.close()
                raise ConnectTimedOut(str(exc) or "timed out") from exc
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise ConnectFailed(_describe(exc)) from exc
            self._conn = conn
        return self._conn

    def _new_connection(self) -> http.client.HTTPConnection:
        url, proxy = self._url, self._proxy
        host, port = _host_port(proxy or url)
        if url.scheme == "http":
            return http.client.HTTPConnection(host, port, timeout=self._timeout)
        conn = http.client.HTTPSConnection(
            host, port, timeout=self._timeout, context=_tls_context()
        )
        if proxy is not None:
            conn.set_tunnel(*_host_port(url))
        return conn


def _split(base_url: str) -> SplitResult:
    try:
        url = urlsplit(base_url)
        _host_port(url)
    except ValueError as exc:
        raise InvalidUrl(str(exc)) from exc
    if url.scheme not in ("http", "https"):
        raise InvalidUrl(f"the scheme must be http or https, not {url.scheme!r}")
    if not url.hostname:
        raise InvalidUrl("the URL names no host")
    return url


def _host_port(url: SplitResult) -> tuple[str, int]:
    """Host and port; ``ValueError`` for a port out of range."""
    return url.hostname or "", url.port or (443 if url.scheme == "https" else 80)


def _proxy_for(url: SplitResult) -> SplitResult | None:
    """The proxy the environment names for ``url``, as curl and Go read it."""
    if not any(os.environ.get(name) or os.environ.get(name.upper()) for name in _PROXY_VARS):
        return None  # the common case, without importing urllib.request
    from urllib.request import getproxies_environment, proxy_bypass

    if proxy_bypass(url.hostname or ""):
        return None
    proxies = getproxies_environment()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy:
        return None
    parsed = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    return _split(parsed.geturl()) if parsed.scheme == "http" else None


def _tls_context() -> ssl.SSLContext:
    # The system's CAs (and SSL_CERT_FILE / SSL_CERT_DIR), plus certifi's
    # bundle where it is installed, which is what fluxctl trusted before.
    context = ssl.create_default_context()
    try:
        import certifi
    except ImportError:
        return context
    context.load_verify_locations(cafile=certifi.where())
    return context


def _stale(conn: http.client.HTTPConnection) -> bool:
    """Whether a kept-alive connection was closed (or written to) by the server meanwhile."""
    sock = conn.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return f"name resolution failed: {exc}"
    return str(exc) or type(exc).__name__
