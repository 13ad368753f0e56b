"""``create_app``: the one ASGI app fluxd serves on ``--listen``.

It holds Flux v1's API under ``/api/flux``, the probes, ``/metrics``, the
push webhooks under ``/hook`` and the OpenAPI docs at ``/api/flux/docs``.
``make_webhook_app`` serves only the webhooks, for ``--listen-webhook``.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI

from fluxd import __version__
from fluxd.api.auth import token_checker
from fluxd.api.errors import install_error_handlers
from fluxd.api.flux_routes import flux_router, open_flux_router
from fluxd.api.forward import LeaderForwarding
from fluxd.api.hooks import hook_router
from fluxd.api.middleware import JsonBodyDefault, RequestMetricsMiddleware
from fluxd.api.models import API_PREFIX
from fluxd.api.port import DaemonPort, StatusPort
from fluxd.api.probes import metrics_router, probe_router
from fluxd.api.status_page import page_router
from fluxd.api.status_routes import status_router
from fluxd.metrics import CollectorRegistry, RequestMetrics
from fluxd.settings import ApiSettings, ManifestSettings

__all__ = ["create_app", "make_webhook_app"]

_DESCRIPTION = (
    "Flux v1's HTTP API (paths, JSON and status codes), plus probes, metrics and "
    "push webhooks. With a token configured, send `Authorization: Bearer <token>` "
    "(or fluxctl's `Scope-Probe token=<token>`)."
)


def create_app(
    daemon: DaemonPort,
    *,
    settings: ApiSettings,
    registry: CollectorRegistry,
    status: StatusPort | None = None,
    limits: ManifestSettings | None = None,
) -> FastAPI:
    """The API app; registers ``flux_request_duration_seconds`` on ``registry``.

    With ``status`` it also serves the status page at ``/``, ``/v11/status``
    and ``/v11/diff`` (whose request size follows ``limits``).
    """
    app = _base_app(registry)
    auth = [Depends(token_checker(settings.token))]
    app.include_router(flux_router(daemon), dependencies=auth)
    if status is not None:
        app.include_router(status_router(status, limits or ManifestSettings()), dependencies=auth)
        app.include_router(page_router(status, settings.token))
    app.include_router(metrics_router(registry), dependencies=auth)
    app.include_router(probe_router(daemon))
    app.include_router(open_flux_router(daemon))
    app.include_router(hook_router(daemon, secret=settings.webhook_secret))
    app.add_middleware(JsonBodyDefault, prefix=f"{API_PREFIX}/")
    # Outermost of ours: a follower relays the request before anything reads it.
    app.add_middleware(LeaderForwarding, daemon=daemon)
    return app


def make_webhook_app(
    daemon: DaemonPort, *, settings: ApiSettings, registry: CollectorRegistry
) -> FastAPI:
    """Only ``/hook/*`` (and ``/healthz``), for a listener reachable from the internet."""
    app = _base_app(registry, docs=False)
    app.include_router(hook_router(daemon, secret=settings.webhook_secret))
    app.include_router(probe_router(daemon))
    app.add_middleware(LeaderForwarding, daemon=daemon)
    return app


def _base_app(registry: CollectorRegistry, *, docs: bool = True) -> FastAPI:
    app = FastAPI(
        title="fluxd",
        version=__version__,
        description=_DESCRIPTION,
        docs_url=f"{API_PREFIX}/docs" if docs else None,
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json" if docs else None,
    )
    install_error_handlers(app)
    app.add_middleware(RequestMetricsMiddleware, metrics=RequestMetrics.for_registry(registry))
    return app
