"""ASGI middleware timing every request into ``flux_request_duration_seconds``."""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fluxd.metrics import RequestMetrics

__all__ = ["RequestMetricsMiddleware"]

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
