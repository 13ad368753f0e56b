"""JSON to and from the API server, through orjson where it can.

The only module that imports orjson. Every applied object is serialised
once and every answer (and the drift check's metadata LISTs, megabytes at
thousands of objects) decoded once; the standard library's ``json`` spent
several times orjson's CPU on both. What orjson refuses to write (integers
beyond 64 bits, lone surrogates) goes through the standard library
instead, so every body means the same either way. Reading, orjson would
turn an integer beyond 64 bits into a float; the API server never sends
one (it holds numbers as int64 or float64 itself).
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    """Compact JSON of ``value`` (keys that are not strings become strings, as in ``json``)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(value, separators=(",", ":")).encode()


def loads(data: bytes | str) -> Any:
    """The value of a JSON text; ``ValueError`` (the standard library's message) if invalid."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)
