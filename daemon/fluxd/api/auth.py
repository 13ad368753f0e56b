"""Optional token check: ``Authorization: Scope-Probe token=<t>`` (fluxctl) or ``Bearer <t>``.

Flux v1's daemon checked nothing; with ``ApiSettings.token`` set we require
the token fluxctl already sends. Probes and webhooks are exempt: kubelet
cannot send a token, and webhooks carry their own signatures.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import Request

from fluxd.api.errors import BadRequest

__all__ = ["Unauthorized", "token_checker"]

_SCHEMES = ("Scope-Probe token=", "Bearer ")


class Unauthorized(BadRequest):
    """No token, or the wrong one (HTTP 401)."""

    status = 401
    default_help = (
        "Authentication failed: pass the daemon's API token with --token (or FLUX_SERVICE_TOKEN)."
    )


def _presented(header: str) -> str | None:
    for scheme in _SCHEMES:
        if header.startswith(scheme):
            return header[len(scheme) :].strip()
    return None


def token_checker(token: str) -> Callable[[Request], None]:
    """A FastAPI dependency refusing requests without ``token`` (a no-op when empty)."""
    expected = token.encode()

    def check(request: Request) -> None:
        if not expected:
            return
        presented = _presented(request.headers.get("authorization", ""))
        if presented is None:
            raise Unauthorized("missing or unsupported Authorization header")
        # compare_digest: the time taken must not tell how much of the token matched.
        if not hmac.compare_digest(presented.encode(), expected):
            raise Unauthorized("the API token is wrong")

    return check
