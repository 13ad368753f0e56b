"""SSH key pairs: generate them, read the ones users bring, and write them out.

Keys are kept as ``cryptography`` objects only for as long as it takes to
serialise them; what the rest of fluxd handles is a ``KeyPair`` of the
OpenSSH private key bytes and the one-line public key.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from fluxd.errors import IdentityError

__all__ = [
    "KEY_TYPES",
    "KeyPair",
    "generate_key",
    "parse_private_key",
]

KEY_TYPES: Final = ("ed25519", "rsa", "ecdsa")

# ssh-keygen's defaults and limits, so `--ssh-keygen-bits` means the same here.
_RSA_DEFAULT_BITS: Final = 3072
_RSA_MIN_BITS: Final = 1024
_RSA_MAX_BITS: Final = 16384
_ECDSA_CURVES: Final[dict[int, ec.EllipticCurve]] = {
    256: ec.SECP256R1(),
    384: ec.SECP384R1(),
    521: ec.SECP521R1(),
}

_SshKey = ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A private key in OpenSSH format and its public half."""

    private_openssh: bytes = b""
    #: ``<type> <base64 blob>``, without comment or newline.
    public_line: str = ""
    #: What ``ssh-keygen -l`` shows in brackets, e.g. ``ED25519``.
    type_name: str = ""
    bits: int = 0

    def __repr__(self) -> str:
        # The dataclass default would print the private key into logs and tracebacks.
        return f"KeyPair({self.type_name} {self.bits}, public={self.public_line[:40]}...)"

    @property
    def public_key_text(self) -> str:
        """The public key as ``ssh-keygen -y`` prints it (Flux v1 served this)."""
        return self.public_line + "\n"

    @property
    def public_blob(self) -> bytes:
        """The wire-format public key that fingerprints are computed over."""
        return base64.b64decode(self.public_line.split()[1])


def generate_key(key_type: str = "ed25519", bits: int | None = None) -> KeyPair:
    """Make a new key pair of ``key_type`` (``ed25519``, ``rsa``, ``ecdsa``)."""
    key: _SshKey
    if key_type == "ed25519":
        if bits not in (None, 256):
            raise IdentityError(
                f"ed25519 keys have a fixed size; --ssh-keygen-bits={bits} is not valid",
                help="Leave --ssh-keygen-bits unset for ed25519 keys.",
            )
        key = ed25519.Ed25519PrivateKey.generate()
    elif key_type == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=_rsa_bits(bits))
    elif key_type == "ecdsa":
        key = ec.generate_private_key(_ecdsa_curve(bits))
    else:
        raise IdentityError(
            f"unknown SSH key type {key_type!r}",
            help=f"Use one of {', '.join(KEY_TYPES)} for --ssh-keygen-type.",
        )
    return _key_pair(key)


def parse_private_key(data: bytes, *, source: str = "the key") -> KeyPair:
    """Read a user's private key (OpenSSH or PEM); refuse what ssh could not use."""
    text = data.replace(b"\r\n", b"\n").strip() + b"\n"
    loaded: object
    try:
        if b"-----BEGIN OPENSSH PRIVATE KEY-----" in text:
            loaded = serialization.load_ssh_private_key(text, password=None)
        elif b"-----BEGIN " in text:
            loaded = serialization.load_pem_private_key(text, password=None)
        else:
            raise ValueError("it is neither an OpenSSH nor a PEM private key")
    except TypeError as exc:
        # cryptography signals "needs a password" with TypeError.
        raise IdentityError(
            f"{source} is protected by a passphrase",
            help=(
                "fluxd cannot type a passphrase. Remove it with "
                "'ssh-keygen -p -N \"\" -f <key>' and store the key again."
            ),
        ) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise IdentityError(
            f"{source} is not a readable private key: {exc}",
            help=(
                "Store an unencrypted OpenSSH or PEM private key (as written by "
                "ssh-keygen) under the 'identity' entry of the Secret."
            ),
        ) from exc
    if not isinstance(
        loaded, ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    ):
        raise IdentityError(
            f"{source} is a {type(loaded).__name__}, which OpenSSH does not accept for git",
            help="Use an ed25519, RSA or ECDSA key.",
        )
    return _key_pair(loaded)


def _key_pair(key: _SshKey) -> KeyPair:
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    type_name, bits = _describe(key)
    return KeyPair(private, public.decode("ascii"), type_name, bits)


def _describe(key: _SshKey) -> tuple[str, int]:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ED25519", 256
    if isinstance(key, rsa.RSAPrivateKey):
        return "RSA", key.key_size
    return "ECDSA", key.curve.key_size


def _rsa_bits(bits: int | None) -> int:
    if bits is None:
        return _RSA_DEFAULT_BITS
    if not _RSA_MIN_BITS <= bits <= _RSA_MAX_BITS:
        raise IdentityError(
            f"RSA key size {bits} is out of range",
            help=f"Use --ssh-keygen-bits between {_RSA_MIN_BITS} and {_RSA_MAX_BITS}.",
        )
    return bits


def _ecdsa_curve(bits: int | None) -> ec.EllipticCurve:
    curve = _ECDSA_CURVES.get(bits or 256)
    if curve is None:
        raise IdentityError(
            f"ECDSA key size {bits} is not valid",
            help="Use --ssh-keygen-bits 256, 384 or 521 for ECDSA keys.",
        )
    return curve
