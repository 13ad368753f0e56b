"""fluxctl: the command line client of fluxd (Flux v1 compatible)."""

from __future__ import annotations

import functools


@functools.cache
def version() -> str:
    """This build's version, or ``unversioned`` outside an installed package."""
    # Imported here: importlib.metadata costs a noticeable part of start-up,
    # and only ``fluxctl version`` needs it.
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        return package_version("fluxpy")
    except PackageNotFoundError:
        return "unversioned"
