"""``POST /hook/<provider>``: push webhooks, judged by ``fluxd.webhooks``.

The handler reads the body, checks it and at most sets the daemon's "fetch
soon" flag; it never waits for git, so a burst of deliveries costs little.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from fluxd.api.errors import BadRequest
from fluxd.api.port import DaemonPort
from fluxd.webhooks import PROVIDERS, BadPayload, BadSignature, Outcome, receive

__all__ = ["MAX_BODY", "hook_router"]

log = logging.getLogger(__name__)

#: Push payloads are a few kB; GitHub caps them at 25 MB, far more than we read.
MAX_BODY = 5 * 1024 * 1024


class Unsigned(BadRequest):
    """Webhook signature missing or wrong (HTTP 401)."""

    status = 401


class TooLarge(BadRequest):
    status = 413


def hook_router(daemon: DaemonPort, *, secret: str) -> APIRouter:
    """Routes for every provider in ``fluxd.webhooks.PROVIDERS``."""
    router = APIRouter(prefix="/hook", tags=["webhooks"])
    for provider in PROVIDERS:
        router.add_api_route(
            f"/{provider}",
            _handler(daemon, provider, secret),
            methods=["POST"],
            name=f"hook_{provider}",
            summary=f"Push webhook from {provider}",
        )
    return router


def _handler(
    daemon: DaemonPort, provider: str, secret: str
) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def handle(request: Request) -> JSONResponse:
        body = await _read_body(request)
        remote = daemon.git_remote()
        try:
            result = receive(
                provider,
                dict(request.headers),
                body,
                secret=secret,
                remote_url=remote.url,
                branch=remote.branch,
            )
        except BadSignature as exc:
            log.warning("webhook refused provider=%s reason=%s", provider, exc)
            raise Unsigned(exc.message, help=exc.help) from exc
        except BadPayload as exc:
            raise BadRequest(exc.message, help=exc.help) from exc
        if result.outcome is Outcome.TRIGGER:
            daemon.notify_git_change(remote.url, remote.branch)
        status = 200 if result.outcome is Outcome.PONG else 202
        return JSONResponse({"message": result.message}, status_code=status)

    return handle


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise TooLarge(f"webhook body of {declared} bytes is larger than {MAX_BODY}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise TooLarge(f"webhook body is larger than {MAX_BODY} bytes")
    return bytes(body)
