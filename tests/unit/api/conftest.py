from __future__ import annotations

import warnings

import pytest
from prometheus_client import CollectorRegistry
from starlette.exceptions import StarletteDeprecationWarning

# Starlette's TestClient now prefers the httpx2 package and warns when it runs
# on httpx, which is what this project depends on; the client works the same.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from fluxd.api.app import create_app
from fluxd.settings import ApiSettings
from unit.api.fakes import FakeDaemon


@pytest.fixture
def daemon() -> FakeDaemon:
    return FakeDaemon()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def settings() -> ApiSettings:
    return ApiSettings()


@pytest.fixture
def client(daemon, settings, registry):
    app = create_app(daemon, settings=settings, registry=registry)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        test_client.headers["Accept"] = "application/json"
        yield test_client
