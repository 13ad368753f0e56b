"""pytest fixture for the image registry: ``registry`` (once per session)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fluxtestbed.registry import Registry, running_registry


@pytest.fixture(scope="session")
def registry() -> Iterator[Registry]:
    """The distribution registry (authenticated + anonymous read-only) on 127.0.0.1."""
    with running_registry(Path(tempfile.mkdtemp(prefix="fluxpy-registry-"))) as running:
        yield running
