"""ASGI middleware: request timing, and Flux v1's "every body is JSON"."""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fluxd.metrics import RequestMetrics

__all__ = ["JsonBodyDefault", "RequestMetricsMiddleware"]

#: Label for requests no route matched, so raw paths never become label values
#: (a scanner could otherwise create a time series per probed URL).
UNMATCHED = "unmatched"


class RequestMetricsMiddleware:
    """Observe method, route template and status code of each HTTP request."""

    def __init__(self, app: ASGIApp, *, metrics: RequestMetrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        status = 500  # what the client sees if the app dies before answering
        started = time.perf_counter()

        async def send_and_record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, send_and_record_status)
        finally:
            self._metrics.observe(
                scope["method"], _route_of(scope), status, time.perf_counter() - started
            )


def _route_of(scope: Scope) -> str:
    # The router stores the matched route in the scope (a dict shared down the stack).
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class JsonBodyDefault:
    """Read request bodies under ``prefix`` as JSON whatever their Content-Type says.

    Flux v1 decoded every body as JSON, and its Go fluxctl sends none
    (``POST /v9/git-repo-config`` with ``false``), which FastAPI would take
    as raw bytes. A request with an ``Origin`` header comes from a browser:
    it keeps its own Content-Type, so a cross-site page still cannot post a
    body the API accepts without a CORS preflight (which fluxd never grants).
    """

    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self._app = app
        self._prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in _WITH_BODY
            and str(scope["path"]).startswith(self._prefix)
        ):
            scope = _as_json(scope)
        await self._app(scope, receive, send)


_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


def _as_json(scope: Scope) -> Scope:
    headers: list[tuple[bytes, bytes]] = list(scope["headers"])
    declared = next((v for n, v in headers if n.lower() == b"content-type"), None)
    if any(name.lower() == b"origin" for name, _ in headers):
        if declared is not None:
            return scope
        # Older FastAPI releases read an untyped body as JSON: say it is not.
        return {**scope, "headers": [*headers, (b"content-type", b"application/octet-stream")]}
    if declared is not None and _is_json(declared):
        return scope
    kept = [(name, value) for name, value in headers if name.lower() != b"content-type"]
    return {**scope, "headers": [*kept, (b"content-type", b"application/json")]}


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or media.endswith(b"+json")
