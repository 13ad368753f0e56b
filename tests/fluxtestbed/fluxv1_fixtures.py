"""pytest fixture for Flux v1's own programs: ``fluxv1`` (built once, then cached)."""

from __future__ import annotations

import pytest

from fluxtestbed.fluxv1 import FluxV1Binaries, find_fluxv1_binaries


@pytest.fixture(scope="session")
def fluxv1() -> FluxV1Binaries:
    """Flux v1's fluxctl and fluxd 1.25.4 (FLUXPY_FLUXV1_BIN_DIR, or built by build-fluxv1.sh)."""
    return find_fluxv1_binaries()
