"""Fingerprints and the randomart picture of a public key, as ``ssh-keygen -lv`` shows them.

Flux v1 ran ``ssh-keygen -l -v -E <algo>`` and served the hash without the
``MD5:``/``SHA256:`` prefix plus every line after the first (the picture,
ending in a newline). We compute the same text without a subprocess.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Final

from fluxd.identity.keys import KeyPair

__all__ = ["Fingerprint", "PublicKeyInfo", "describe", "md5_hash", "randomart", "sha256_hash"]

# The "drunken bishop" walks a 17x9 board; each square shows how often it was
# visited, with S and E marking where the walk started and ended.
_WIDTH: Final = 17
_HEIGHT: Final = 9
_SYMBOLS: Final = " .o+=*BOX@%&#/^SE"
_START: Final = len(_SYMBOLS) - 2
_END: Final = len(_SYMBOLS) - 1
_MOST_VISITS: Final = len(_SYMBOLS) - 3


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """One fingerprint in Flux v1's wire form: hash without prefix, picture."""

    algorithm: str  # "MD5" or "SHA256"
    hash: str
    randomart: str

    @property
    def display(self) -> str:
        """The hash as ssh-keygen prints it, e.g. ``SHA256:abc...`` (for logs)."""
        return f"{self.algorithm}:{self.hash}"


@dataclass(frozen=True, slots=True)
class PublicKeyInfo:
    """What may be shown about a key pair: never the private half."""

    key: str  # one line ending in a newline, as ``ssh-keygen -y`` prints it
    md5: Fingerprint
    sha256: Fingerprint


def md5_hash(blob: bytes) -> str:
    """Colon-separated hex pairs of the MD5 digest (the legacy fingerprint)."""
    return ":".join(f"{byte:02x}" for byte in hashlib.md5(blob, usedforsecurity=False).digest())


def sha256_hash(blob: bytes) -> str:
    """Unpadded base64 of the SHA-256 digest, without the ``SHA256:`` prefix."""
    return base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")


def describe(pair: KeyPair) -> PublicKeyInfo:
    """Fingerprints and pictures of ``pair``'s public key."""
    blob = pair.public_blob
    md5 = hashlib.md5(blob, usedforsecurity=False).digest()
    sha = hashlib.sha256(blob).digest()
    return PublicKeyInfo(
        key=pair.public_key_text,
        md5=Fingerprint("MD5", md5_hash(blob), randomart(md5, pair.type_name, pair.bits, "MD5")),
        sha256=Fingerprint(
            "SHA256", sha256_hash(blob), randomart(sha, pair.type_name, pair.bits, "SHA256")
        ),
    )


def randomart(digest: bytes, key_type: str, bits: int, algorithm: str) -> str:
    """The picture ``ssh-keygen -lv`` draws for ``digest``, with a trailing newline."""
    board = _walk(digest)
    rows = [
        "|" + "".join(_SYMBOLS[board[y][x]] for x in range(_WIDTH)) + "|" for y in range(_HEIGHT)
    ]
    title = f"[{key_type} {bits}]"
    if len(title) > _WIDTH - 2:
        title = f"[{key_type}]"
    lines = [_border(title), *rows, _border(f"[{algorithm}]")]
    return "\n".join(lines) + "\n"


def _walk(digest: bytes) -> list[list[int]]:
    board = [[0] * _WIDTH for _ in range(_HEIGHT)]
    x, y = _WIDTH // 2, _HEIGHT // 2
    for byte in digest:
        # Two bits per step, least significant first: bit 0 moves east/west,
        # bit 1 south/north; the walls stop the bishop rather than wrap.
        for shift in range(0, 8, 2):
            step = byte >> shift
            x = min(max(x + (1 if step & 1 else -1), 0), _WIDTH - 1)
            y = min(max(y + (1 if step & 2 else -1), 0), _HEIGHT - 1)
            if board[y][x] < _MOST_VISITS:
                board[y][x] += 1
    board[_HEIGHT // 2][_WIDTH // 2] = _START
    board[y][x] = _END
    return board


def _border(label: str) -> str:
    left = (_WIDTH - len(label)) // 2
    right = _WIDTH - len(label) - left
    return "+" + "-" * left + label + "-" * right + "+"
