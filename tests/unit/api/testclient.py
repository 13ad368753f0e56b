"""Starlette's TestClient, imported without its httpx deprecation warning.

Starlette now prefers the httpx2 package and warns when the client runs on
httpx, which is what this project depends on; the client works the same.
"""

from __future__ import annotations

import warnings

from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

__all__ = ["TestClient"]
