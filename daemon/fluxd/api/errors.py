"""Every failed request is answered ``{type, help, error}``, as Flux v1 did.

Status codes follow the error's kind (missing 404, user 422, server 500).
Malformed requests (bad JSON, a query parameter missing or wrong) get 400,
which is what Flux v1 answered when it could not decode a request; FastAPI's
own 422 validation body is rewritten into the same shape, naming the input.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from fluxd.api import models
from fluxd.errors import ErrorKind, FluxError

__all__ = ["BadRequest", "error_response", "install_error_handlers", "self_contained"]

log = logging.getLogger(__name__)

_STATUS = {ErrorKind.MISSING: 404, ErrorKind.USER: 422, ErrorKind.SERVER: 500}

ErrorType = Literal["user", "missing", "server"]


class BadRequest(FluxError):
    """The request itself is malformed (HTTP 400)."""

    kind = ErrorKind.USER
    status = 400
    default_help = "Check the request against the API reference at /api/flux/docs."


def error_response(
    status: int, kind: ErrorType, error: str, help: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The one error body shape; ``help`` also states the error (see ``self_contained``)."""
    body = models.ErrorBody(type=kind, help=self_contained(help, error), error=error)
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def self_contained(help: str, error: str) -> str:
    """``help`` led by ``error`` unless it already says it.

    Flux v1's fluxctl prints only ``help`` (``== Error ==`` and the help), so
    a help that does not name what went wrong would leave its users guessing.
    """
    if not error or error in help:
        return help
    return f"{error}\n\n{help}" if help else error


def _flux_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FluxError)
    status = getattr(exc, "status", None) or _STATUS[exc.kind]
    if status >= 500:
        log.warning("request failed path=%s error=%s", request.url.path, exc)
    return error_response(status, exc.kind.value, exc.message, exc.help)


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(_describe(error) for error in exc.errors())
    return error_response(
        400,
        "user",
        f"invalid request: {problems}",
        "Check the named input against the API reference at /api/flux/docs.",
    )


def _describe(error: Any) -> str:
    location: Sequence[str | int] = error.get("loc", ())
    where = _where(location)
    return f"{where}: {error.get('msg', 'invalid')}"


def _where(location: Sequence[str | int]) -> str:
    if not location:
        return "request"
    source, *rest = location
    names = {"query": "query parameter", "body": "body", "header": "header", "path": "path"}
    label = names.get(str(source), str(source))
    if not rest:
        return label
    field = ".".join(str(part) for part in rest)
    return f"{label} '{field}'" if source != "body" else f"body field '{field}'"


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    path = request.url.path
    if exc.status_code == 404:
        return error_response(
            404,
            "missing",
            f"API endpoint not found: {path}",
            f"fluxd does not serve {path}. The client may be newer or older than this "
            "daemon; see /api/flux/docs for the routes it serves.",
        )
    if exc.status_code == 405:
        return error_response(
            405,
            "user",
            f"method {request.method} is not allowed on {path}",
            "See /api/flux/docs for the methods each route accepts.",
            headers=dict(exc.headers or {}),
        )
    kind: ErrorType = "server" if exc.status_code >= 500 else "user"
    return error_response(
        exc.status_code, kind, str(exc.detail), "See /api/flux/docs.", dict(exc.headers or {})
    )


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error path=%s", request.url.path, exc_info=exc)
    # The text of an unexpected exception may hold anything (a URL with a
    # password, a path): it goes to the log only.
    return error_response(
        500, "server", "internal error; see the fluxd log", FluxError.default_help
    )


def install_error_handlers(app: FastAPI) -> None:
    """Route every failure through the ``{type, help, error}`` shape."""
    app.add_exception_handler(FluxError, _flux_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
