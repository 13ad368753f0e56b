"""Fault scenarios: fluxd on the real test bed while parts of its world fail.

Each scenario checks the same three things (nothing wrongly deleted, nothing
lost, fluxd recovered without help) and records its figures with
``fluxtestbed.faults.record``. Scenarios marked ``reliability`` are heavy and
run only when selected (``make reliability``, i.e. ``-m reliability``); the
rest form a quick subset that runs with every ``make test``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fluxtestbed.faults import install_fluxd, remove
from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster
from fluxtestbed.scenario import Installation


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "reliability" in (config.option.markexpr or ""):
        return
    heavy = pytest.mark.skip(reason="heavy fault scenario: run it with 'make reliability'")
    for item in items:
        if item.get_closest_marker("reliability"):
            item.add_marker(heavy)


@pytest.fixture
def fluxd_factory(kube: Cluster, git_server: GitServer) -> Iterator[Callable[..., Installation]]:
    """Installs fluxd syncing a fresh repo (see ``install_fluxd``); removes it afterwards."""
    made: list[Installation] = []

    def make(files: dict[str, str], **kwargs: Any) -> Installation:
        inst = install_fluxd(kube, git_server, files, **kwargs)
        made.append(inst)
        return inst

    yield make
    for inst in made:
        # Shown with a failure: what fluxd said last is usually the why.
        print(f"--- fluxd log ({inst.daemon.process.log}):\n{inst.daemon.log()}", file=sys.stderr)
        remove(inst)
