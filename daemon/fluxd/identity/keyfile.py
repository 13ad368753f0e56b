"""The private key file ssh reads: 0400, in a memory-backed directory, replaced atomically."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from pathlib import Path

from fluxd.errors import IdentityError

__all__ = ["KeyFile", "default_keygen_dir"]

_SHM = Path("/dev/shm")


def default_keygen_dir() -> Path:
    """A fresh private directory, in RAM when the system has /dev/shm."""
    parent = _SHM if _SHM.is_dir() and os.access(_SHM, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="fluxd-keygen-", dir=parent))


class KeyFile:
    """``<dir>/identity``: written whole or not at all, so ssh never reads half a key."""

    def __init__(self, directory: Path | None = None, *, name: str = "identity") -> None:
        self._owns_dir = directory is None
        self.directory = directory if directory is not None else default_keygen_dir()
        self.path = self.directory / name

    def write(self, private_key: bytes) -> Path:
        """Replace the key file with ``private_key``; a running ssh keeps its old copy."""
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            staging = self.directory / f".{self.path.name}-{secrets.token_hex(6)}"
            # Created 0400 from the start: there is no moment when others could read it.
            fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
            with os.fdopen(fd, "wb") as handle:
                handle.write(private_key)
            os.replace(staging, self.path)
        except OSError as exc:
            raise IdentityError(
                f"cannot write the SSH key file in {self.directory}: {exc.strerror}",
                help="Make --ssh-keygen-dir a writable directory (a memory-backed emptyDir).",
            ) from exc
        return self.path

    def remove(self) -> None:
        """Delete the key file, so no git operation can use a key that was withdrawn."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def close(self) -> None:
        """Delete the key file, and the directory when this object made it."""
        self.remove()
        if self._owns_dir:
            shutil.rmtree(self.directory, ignore_errors=True)
