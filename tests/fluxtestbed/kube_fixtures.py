"""pytest fixtures for the Kubernetes test bed.

``kube`` starts one real control plane per test session (or uses the cluster
named by FLUXPY_KUBECONFIG); ``namespace`` gives each test a fresh namespace
and deletes it afterwards, so tests never see each other's objects.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fluxtestbed.kube import Cluster, start_cluster


@pytest.fixture(scope="session")
def kube() -> Iterator[Cluster]:
    workdir = Path(tempfile.mkdtemp(prefix="fluxpy-kube-"))
    cluster = start_cluster(workdir)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def namespace(kube: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    base = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40].strip("-")
    name = f"{base}-{uuid.uuid4().hex[:6]}".lstrip("-")
    kube.kubectl("create", "namespace", name)
    try:
        yield name
    finally:
        kube.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)
