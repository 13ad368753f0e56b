"""The status page at ``/``: one server-rendered HTML page and one CSS file.

No script and nothing fetched from elsewhere, so it works offline and in a
locked-down browser; a ``<meta http-equiv="refresh">`` reloads it. Every
value is escaped here (``html.escape``), the one place text from git, the
cluster or an error message meets HTML.

With ``--api-token`` the page wants the token too: as an ``Authorization``
header, or once in the form it shows, after which a cookie (an HMAC of the
token, HttpOnly, SameSite=Strict) carries it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from importlib import resources
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from fluxd.api.auth import Unauthorized, token_checker
from fluxd.api.page_parts import login_page, status_page
from fluxd.api.port import StatusPort

__all__ = ["COOKIE", "REFRESH_SECONDS", "page_router"]

COOKIE = "fluxd_token"
REFRESH_SECONDS = 10
_MAX_FORM = 4096
_CSS = resources.files("fluxd.api").joinpath("status.css").read_bytes()


def _cookie_value(token: str) -> str:
    return hmac.new(token.encode(), b"fluxd status page", hashlib.sha256).hexdigest()


def page_router(status: StatusPort, token: str) -> APIRouter:
    """``/``, ``/status.css`` and ``/login``; not in the OpenAPI schema (not JSON)."""
    router = APIRouter(include_in_schema=False)
    header_check = token_checker(token)

    def allowed(request: Request) -> bool:
        if not token:
            return True
        cookie = request.cookies.get(COOKIE, "")
        if cookie and hmac.compare_digest(cookie, _cookie_value(token)):
            return True
        try:
            header_check(request)
        except Unauthorized:
            return False
        return True

    @router.get("/", response_class=HTMLResponse)
    async def page(request: Request) -> HTMLResponse:
        if not allowed(request):
            return HTMLResponse(login_page(""), status_code=401)
        view = await asyncio.to_thread(status.status)
        return HTMLResponse(status_page(view, refresh=REFRESH_SECONDS))

    @router.get("/status.css")
    async def css() -> Response:
        return Response(_CSS, media_type="text/css", headers={"Cache-Control": "max-age=300"})

    @router.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        body = await request.body()
        given = parse_qs(body[:_MAX_FORM].decode("utf-8", "replace")).get("token", [""])[0]
        if not token or hmac.compare_digest(given.encode(), token.encode()):
            answer = RedirectResponse("/", status_code=303)
            if token:
                answer.set_cookie(COOKIE, _cookie_value(token), httponly=True, samesite="strict")
            return answer
        return HTMLResponse(login_page("That token is not fluxd's API token."), status_code=401)

    return router
