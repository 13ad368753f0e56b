"""Domain values to wire models, for the code that implements ``DaemonPort``."""

from __future__ import annotations

from fluxd.api import models
from fluxd.identity import PublicKeyInfo

__all__ = ["public_key"]


def public_key(info: PublicKeyInfo | None) -> models.PublicKey:
    """Flux v1's ``publicSSHKey``; empty when there is no key."""
    if info is None:
        return models.PublicKey(key="")
    return models.PublicKey(
        key=info.key,
        fingerprints={
            "md5": models.Fingerprint(hash=info.md5.hash, randomart=info.md5.randomart),
            "sha256": models.Fingerprint(hash=info.sha256.hash, randomart=info.sha256.randomart),
        },
    )
