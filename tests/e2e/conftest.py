"""End-to-end fixtures: the product installed from deploy/ onto the test bed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster
from fluxtestbed.scenario import Installation, install


@pytest.fixture
def installation_factory(
    kube: Cluster, git_server: GitServer
) -> Iterator[Callable[..., Installation]]:
    """Installs fluxd (deploy/ + a host fluxd) per call; removes them afterwards."""
    made: list[Installation] = []

    def make(**kwargs: Any) -> Installation:
        inst = install(kube, git_server, **kwargs)
        made.append(inst)
        return inst

    yield make
    for inst in made:
        inst.remove()
