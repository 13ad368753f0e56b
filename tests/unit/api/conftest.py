from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from fluxd.api.app import create_app
from fluxd.settings import ApiSettings
from unit.api.fakes import FakeDaemon
from unit.api.testclient import TestClient


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
