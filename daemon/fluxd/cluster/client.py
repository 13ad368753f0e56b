"""The one place fluxd sends HTTP requests to the Kubernetes API.

Requests go through the official client's connection pool
(``ApiClient.rest_client``), so its kubeconfig and in-cluster handling, TLS
set-up, proxies and token refresh are reused. Bodies, though, are plain
dicts serialised once to compact JSON (which is also valid
``apply-patch+yaml``), and answers are raw bytes decoded on demand: the
generated models, and even the generic ``call_api`` path, cost more CPU than
the request itself when thousands of objects are applied from a few threads.

Every foreign exception (``ApiException``, urllib3's, ``OSError``, the
config loader's) becomes a ``ClusterError`` in this module and nowhere else.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urlencode

import urllib3
import yaml
from kubernetes.client import ApiClient, Configuration
from kubernetes.client.exceptions import ApiException, OpenApiException
from kubernetes.config import ConfigException, load_incluster_config, load_kube_config

from fluxd import wirejson
from fluxd.clock import Clock, SystemClock
from fluxd.cluster.errors import api_error, transport_error
from fluxd.errors import ClusterError
from fluxd.ratelimit import RateLimiter
from fluxd.settings import ClusterSettings

JSON = "application/json"
APPLY_PATCH = "application/apply-patch+yaml"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
MERGE_PATCH = "application/merge-patch+json"
#: Metadata-only answers: the server drops spec and status before sending.
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"

Query = Sequence[tuple[str, str]]

_RETRIES_429 = 3
_MAX_RETRY_AFTER = 5.0


def _retry_after(header: str | None) -> float:
    """Seconds to wait, from a Retry-After header (seconds form), capped."""
    try:
        return min(max(float(header or 1), 0.1), _MAX_RETRY_AFTER)
    except ValueError:
        return 1.0


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP answer: status and the raw body, decoded only on demand."""

    status: int
    body: bytes
    reason: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> dict[str, Any]:
        """The body as a JSON object; ``ClusterError`` if it is anything else."""
        try:
            decoded = wirejson.loads(self.body) if self.body else {}
        except ValueError as exc:
            raise ClusterError(f"the API server sent a body that is not JSON: {exc}") from exc
        if not isinstance(decoded, dict):
            raise ClusterError(f"the API server sent a {type(decoded).__name__}, not an object")
        return decoded


class Stream:
    """An answer read as it arrives (a watch), one line at a time.

    ``abort`` may be called from any thread: it shuts the socket's read side,
    so a reader blocked waiting for the next event wakes with an error
    instead of waiting out the read timeout (how fluxd stops a watch).
    """

    def __init__(self, raw: urllib3.BaseHTTPResponse, client: KubeClient, what: str) -> None:
        self._raw = raw
        self._client = client
        self._what = what
        self._lock = threading.Lock()
        self.status = int(raw.status)
        self.reason = str(raw.reason or "")

    def read_all(self) -> bytes:
        """The whole body (for an error answer, which is short)."""
        with self._client.translated(self._what):
            return bytes(self._raw.read())

    def lines(self) -> Iterator[bytes]:
        """Each non-empty line, as the server flushes it; ends when the server ends."""
        pending = b""
        with self._client.translated(self._what):
            for chunk in self._raw.stream(None):
                pending += chunk
                *complete, pending = pending.split(b"\n")
                yield from (line for line in complete if line.strip())
        if pending.strip():
            yield pending

    def abort(self) -> None:
        # The reader thread may have released the connection already.
        with self._lock, contextlib.suppress(ValueError, RuntimeError, OSError):
            self._raw.shutdown()

    def close(self) -> None:
        with self._lock, contextlib.suppress(OSError, urllib3.exceptions.HTTPError):
            # A watch cut short leaves unread bytes: the connection is not reused.
            self._raw.close()
            self._raw.release_conn()


class KubeClient:
    """Raw JSON requests to the API server, with throttling and error translation."""

    def __init__(
        self,
        api: ApiClient,
        *,
        qps: float = 0.0,
        burst: int = 1,
        timeout: float = 60.0,
        clock: Clock | None = None,
    ) -> None:
        self._api = api
        self._clock: Clock = clock or SystemClock()
        # The official client's urllib3 pool (TLS, client certificates and
        # proxy already set up from the kubeconfig). We call it directly: its
        # ``call_api`` wrapper re-serialises and re-checks every request,
        # which is a third of the client's CPU per apply.
        self._pool = api.rest_client.pool_manager
        self._limiter = RateLimiter(qps, burst, self._clock)
        # A dead server fails fast; a slow apply may take a while.
        self._timeout = urllib3.Timeout(connect=min(10.0, timeout), read=timeout)
        self.host: str = str(api.configuration.host)

    @property
    def api_client(self) -> ApiClient:
        """The official client underneath, for code that uses its typed APIs."""
        return self._api

    @classmethod
    def from_settings(
        cls,
        settings: ClusterSettings,
        *,
        pool_size: int,
        timeout: float = 60.0,
        clock: Clock | None = None,
        user_agent: str = "",
    ) -> Self:
        """Build a client from a kubeconfig (and context) or the in-cluster config.

        ``user_agent`` names this replica in the API server's audit log.
        """
        config = load_configuration(settings)
        # urllib3 keeps only this many connections per host; every apply
        # thread beyond it would open and tear down a TLS connection per request.
        config.connection_pool_maxsize = max(pool_size, 1)
        api = ApiClient(configuration=config)
        if user_agent:
            api.user_agent = user_agent
        return cls(api, qps=settings.qps, burst=settings.burst, timeout=timeout, clock=clock)

    def close(self) -> None:
        with self._translated("closing the client"):
            self._api.close()  # type: ignore[no-untyped-call]

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Query = (),
        body: Mapping[str, Any] | None = None,
        content_type: str = JSON,
        accept: str = JSON,
    ) -> Response:
        """Send one request; non-2xx answers are returned, not raised.

        A 429 (the API server's priority-and-fairness shedding load) was not
        processed, so it is sent again after the server's Retry-After.
        """
        url = self.host + path + ("?" + urlencode(query) if query else "")
        headers = self._headers(content_type if body is not None else None, accept)
        payload = None if body is None else wirejson.dumps(body)
        for attempt in range(_RETRIES_429 + 1):
            self._limiter.take()
            with self._translated(f"{method} {path}"):
                raw = self._pool.request(
                    method,
                    url,
                    body=payload,
                    headers=headers,
                    timeout=self._timeout,
                    # No retries inside urllib3: a refused connection fails at
                    # once and the sync loop retries the pass with backoff
                    # (urllib3's own three tries per request tripled an
                    # outage's cost and logged a warning for each).
                    retries=False,
                )
            if raw.status != 429 or attempt == _RETRIES_429:
                break
            self._clock.sleep(_retry_after(raw.headers.get("Retry-After")))
        return Response(int(raw.status), raw.data or b"", str(raw.reason or ""))

    def call(
        self,
        method: str,
        path: str,
        *,
        query: Query = (),
        body: Mapping[str, Any] | None = None,
        content_type: str = JSON,
        accept: str = JSON,
        what: str = "",
    ) -> dict[str, Any]:
        """Send a JSON request and return the decoded answer; non-2xx raises."""
        response = self.request(
            method, path, query=query, body=body, content_type=content_type, accept=accept
        )
        if not response.ok:
            raise api_error(
                response.status,
                response.body,
                what=what or f"{method} {path}",
                reason=response.reason,
            )
        return response.json()

    @contextmanager
    def stream(
        self, path: str, *, query: Query = (), accept: str = JSON, read_timeout: float
    ) -> Iterator[Stream]:
        """GET ``path`` and read the answer as it comes (a watch); closed on leaving.

        ``read_timeout`` bounds the wait for each next byte: the server must
        send something (an event or a bookmark) at least that often.
        """
        url = self.host + path + ("?" + urlencode(query) if query else "")
        what = f"GET {path} (watch)"
        self._limiter.take()
        with self._translated(what):
            raw = self._pool.request(
                "GET",
                url,
                headers=self._headers(None, accept),
                timeout=urllib3.Timeout(connect=self._timeout.connect_timeout, read=read_timeout),
                retries=False,
                preload_content=False,
            )
        stream = Stream(raw, self, what)
        try:
            yield stream
        finally:
            stream.close()

    def translated(self, what: str) -> contextlib.AbstractContextManager[None]:
        """Foreign exceptions raised inside become ``ClusterError`` (for ``Stream``)."""
        return self._translated(what)

    def _headers(self, content_type: str | None, accept: str) -> dict[str, str]:
        headers = dict(self._api.default_headers)
        headers["Accept"] = accept
        if content_type is not None:
            headers["Content-Type"] = content_type
        # Asked per request because in-cluster tokens are rotated on disk and
        # the configuration's refresh hook re-reads them.
        for auth in self._api.configuration.auth_settings().values():
            if auth.get("in") == "header" and auth.get("value"):
                headers[str(auth["key"])] = str(auth["value"])
        return headers

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        try:
            yield
        except ApiException as exc:
            if exc.status and exc.body:
                body = exc.body.encode() if isinstance(exc.body, str) else bytes(exc.body)
                raise api_error(int(exc.status), body, what=what) from exc
            raise transport_error(exc, what=what, host=self.host) from exc
        except (
            OpenApiException,
            urllib3.exceptions.HTTPError,
            OSError,
            ValueError,
            TypeError,
        ) as exc:
            raise transport_error(exc, what=what, host=self.host) from exc


def load_configuration(settings: ClusterSettings) -> Configuration:
    """The client configuration from --kubeconfig, in-cluster, or ~/.kube/config."""
    config = Configuration()
    source = settings.kubeconfig or "~/.kube/config"
    try:
        if settings.kubeconfig:
            load_kube_config(  # type: ignore[no-untyped-call]
                config_file=os.path.expanduser(settings.kubeconfig),
                context=settings.context or None,
                client_configuration=config,
            )
        elif os.environ.get("KUBERNETES_SERVICE_HOST"):
            source = "the in-cluster service account"
            load_incluster_config(client_configuration=config)  # type: ignore[no-untyped-call]
        else:
            load_kube_config(  # type: ignore[no-untyped-call]
                context=settings.context or None, client_configuration=config
            )
    except (ConfigException, yaml.YAMLError, OSError, ValueError, TypeError, KeyError) as exc:
        raise ClusterError(
            f"cannot load Kubernetes client configuration from {source}: {exc}",
            help=(
                "Point --kubeconfig at a readable kubeconfig (and --k8s-context at one of its "
                "contexts), or run fluxd in a pod with a ServiceAccount token mounted."
            ),
        ) from exc
    return config
