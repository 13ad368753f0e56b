"""End-to-end fixtures: the product installed from deploy/ onto the test bed."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster
from fluxtestbed.scenario import Installation, installations


@pytest.fixture
def installation_factory(
    kube: Cluster, git_server: GitServer
) -> Iterator[Callable[..., Installation]]:
    """Installs fluxd (deploy/ + a host fluxd) per call; removes them afterwards."""
    with installations(kube, git_server) as make:
        yield make
