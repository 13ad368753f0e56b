"""fluxctl runs in-process (click's CliRunner) against a real HTTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from unit.cli.fake_daemon import FakeDaemon, Server, build_app
from unit.cli.harness import CLEAN_ENV, Fluxctl


@pytest.fixture(scope="session")
def _daemon_server() -> Iterator[FakeDaemon]:
    daemon = FakeDaemon()
    server = Server(build_app(daemon)).start()
    daemon.url = f"http://127.0.0.1:{server.port}/api/flux"
    try:
        yield daemon
    finally:
        server.stop()


@pytest.fixture
def daemon(_daemon_server: FakeDaemon) -> FakeDaemon:
    """The fake fluxd, with the default answers and no recorded requests."""
    _daemon_server.reset()
    return _daemon_server


@pytest.fixture
def fluxctl(tmp_path_factory: pytest.TempPathFactory) -> Fluxctl:
    """``fluxctl`` with no kubeconfig and none of its environment variables set."""
    home = tmp_path_factory.mktemp("home")
    return Fluxctl({**CLEAN_ENV, "KUBECONFIG": str(home / "no-kubeconfig"), "HOME": str(home)})


@pytest.fixture
def at_daemon(fluxctl: Fluxctl, daemon: FakeDaemon) -> Fluxctl:
    """``fluxctl`` pointed at the fake fluxd through FLUX_URL."""
    return Fluxctl({**fluxctl.env, "FLUX_URL": daemon.url})
