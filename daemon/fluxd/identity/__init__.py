"""fluxd's SSH identity: a key pair kept in a Secret and a 0400 key file for ssh.

``KeyRing`` is the entry point; ``SecretStore`` is the seam to the Secret
(``KubeSecretStore`` for the real API, through ``SecretApi``). Key handling and fingerprints are
pure functions in ``keys`` and ``fingerprints``.
"""

from fluxd.identity.fingerprints import Fingerprint, PublicKeyInfo, describe
from fluxd.identity.keyring import KeyRing
from fluxd.identity.keys import KeyPair, generate_key, parse_private_key
from fluxd.identity.store import (
    KubeSecretStore,
    SecretApi,
    SecretConflict,
    SecretSnapshot,
    SecretStore,
)

__all__ = [
    "Fingerprint",
    "KeyPair",
    "KeyRing",
    "KubeSecretStore",
    "PublicKeyInfo",
    "SecretApi",
    "SecretConflict",
    "SecretSnapshot",
    "SecretStore",
    "describe",
    "generate_key",
    "parse_private_key",
]
