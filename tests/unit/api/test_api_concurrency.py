"""A slow daemon call never holds up the other routes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import httpx
from prometheus_client import CollectorRegistry

from fluxd.api.app import create_app
from fluxd.settings import ApiSettings
from fluxd.views import WorkloadView
from unit.api.fakes import FakeDaemon


class SlowDaemon(FakeDaemon):
    """Its cluster listing hangs until released, like a cluster behind a sync."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.listing = threading.Event()

    def list_workloads(self, namespace: str, ids: Sequence[str]) -> list[WorkloadView]:
        self.listing.set()
        self.release.wait(timeout=10)
        return []


async def reads_while_a_listing_hangs(daemon: SlowDaemon) -> dict[str, int]:
    app = create_app(daemon, settings=ApiSettings(), registry=CollectorRegistry())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://fluxd") as client:
        hanging = asyncio.create_task(client.get("/api/flux/v6/services"))
        assert await asyncio.to_thread(daemon.listing.wait, 10)
        quick = {
            path: (await asyncio.wait_for(client.get(path), timeout=2)).status_code
            for path in (
                "/api/flux/v11/version",
                "/api/flux/v11/sync-errors",
                "/readyz",
                "/healthz",
            )
        }
        assert not hanging.done()
        daemon.release.set()
        quick["services"] = (await hanging).status_code
    return quick


def test_quick_routes_answer_while_a_blocking_call_is_in_progress():
    daemon = SlowDaemon()
    assert asyncio.run(reads_while_a_listing_hangs(daemon)) == {
        "/api/flux/v11/version": 200,
        "/api/flux/v11/sync-errors": 200,
        "/readyz": 200,
        "/healthz": 200,
        "services": 200,
    }
