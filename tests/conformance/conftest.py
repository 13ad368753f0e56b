"""Conformance fixtures: Flux v1's own fluxctl 1.25.4 and ours, side by side.

Each test module installs fluxd from deploy/ once (``install_module``) and
runs both programs through the real port-forward (``--k8s-fwd-ns``), so
every comparison is against the same daemon in the same state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster
from fluxtestbed.scenario import Installation, installations


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the further cases out of the default suite; ``-m conformance_full`` runs them."""
    if "conformance_full" in (config.option.markexpr or ""):
        return
    later = pytest.mark.skip(reason="a further case: run it with 'make conformance-full'")
    for item in items:
        if item.get_closest_marker("conformance_full"):
            item.add_marker(later)


@pytest.fixture(scope="module")
def install_module(kube: Cluster, git_server: GitServer) -> Iterator[Callable[..., Installation]]:
    """``install`` for the whole module; the installations are removed after it."""
    with installations(kube, git_server) as make:
        yield make
