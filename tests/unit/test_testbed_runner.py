"""How the test bed chooses to run fluxd: in its image, or as a host process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fluxtestbed import container, procs
from fluxtestbed.image import Engine


@pytest.fixture(autouse=True)
def _fresh_choice() -> Iterator[None]:
    container.choose_runner.cache_clear()
    yield
    container.choose_runner.cache_clear()


def test_with_an_engine_fluxd_runs_in_the_image(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(container.RUNNER_ENV, raising=False)
    monkeypatch.setattr(container, "find_engine", lambda: Engine("podman", ("podman",)))
    engine, message = container.choose_runner()
    assert engine == Engine("podman", ("podman",))
    assert message == "fluxd runs in its container image ghcr.io/fluxpy/fluxd:0.1.0 (podman)"


def test_without_an_engine_fluxd_runs_on_the_host_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(container.RUNNER_ENV, raising=False)
    monkeypatch.setattr(container, "find_engine", lambda: None)
    engine, message = container.choose_runner()
    assert engine is None
    assert "host process: no container engine here" in message
    assert "install-build-deps.sh" in message


def test_the_host_process_can_be_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(container.RUNNER_ENV, "host")
    monkeypatch.setattr(container, "find_engine", lambda: Engine("podman", ("podman",)))
    assert container.choose_runner() == (
        None,
        "fluxd runs as a host process (FLUXD_TESTBED_RUNNER=host)",
    )


def test_asking_for_the_container_without_an_engine_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(container.RUNNER_ENV, "container")
    monkeypatch.setattr(container, "find_engine", lambda: None)
    with pytest.raises(procs.TestbedError, match="neither podman nor docker"):
        container.choose_runner()
