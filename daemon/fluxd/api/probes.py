"""Liveness, readiness and ``/metrics``: the routes kubelet and Prometheus call."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from fluxd.api import convert, models
from fluxd.api.port import DaemonPort
from fluxd.metrics import CONTENT_TYPE_LATEST, CollectorRegistry, render

__all__ = ["metrics_router", "probe_router"]


def probe_router(daemon: DaemonPort) -> APIRouter:
    """``/healthz`` (the process answers) and ``/readyz`` (fluxd is serving)."""
    router = APIRouter(tags=["probes"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        # Alive means the event loop answers; nothing else is checked, so a slow
        # cluster or git host never gets fluxd restarted.
        return {"status": "ok"}

    @router.get("/readyz", response_model=models.ReadyReport)
    async def readyz() -> JSONResponse:
        report = convert.ready_report(daemon.ready())
        return JSONResponse(
            report.model_dump(mode="json"), status_code=200 if report.ready else 503
        )

    return router


def metrics_router(registry: CollectorRegistry) -> APIRouter:
    """``GET /metrics`` in the Prometheus text format."""
    router = APIRouter(tags=["metrics"])

    @router.get("/metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(render(registry), media_type=CONTENT_TYPE_LATEST)

    return router
