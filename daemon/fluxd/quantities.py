"""Byte sizes as Kubernetes writes them (``4Mi``, ``512Ki``, ``1G``) or plain bytes.

Also the error for a file over ``--manifest-max-file-size``: fluxd.git
raises it before inflating a blob and fluxd.manifests before parsing one, and
neither of those packages may import the other.
"""

from __future__ import annotations

import re

from fluxd.errors import LimitError

FILE_SIZE_FLAG = "--manifest-max-file-size"

_UNITS = {
    "": 1,
    "k": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
}
_SIZE = re.compile(r"(\d+)(|k|M|G|Ki|Mi|Gi)")


def parse_byte_size(text: str) -> int:
    """Bytes in ``text``; ``ValueError`` naming the text if malformed."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"invalid size {text!r}: use a whole number of bytes or one with a unit,"
            " e.g. 4Mi, 512Ki, 4194304"
        )
    return int(match.group(1)) * _UNITS[match.group(2)]


def format_byte_size(size: int) -> str:
    """The shortest exact binary spelling (``4Mi``), else plain bytes."""
    for unit in ("Gi", "Mi", "Ki"):
        if size and size % _UNITS[unit] == 0:
            return f"{size // _UNITS[unit]}{unit}"
    return str(size)


def describe_byte_size(size: int) -> str:
    """A rounded size for messages about a file: ``30.0 MiB``, ``812 bytes``."""
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def file_too_large(size: int, limit: int) -> LimitError:
    return LimitError(
        f"file too large: {describe_byte_size(size)} is over the limit of"
        f" {format_byte_size(limit)}",
        flag=FILE_SIZE_FLAG,
    )
