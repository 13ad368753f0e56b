"""Key generation and parsing, checked against the real ssh-keygen."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fluxd.errors import IdentityError
from fluxd.identity import generate_key, parse_private_key

SSH_KEYGEN = "/usr/bin/ssh-keygen"


def ssh_keygen(*args: str) -> str:
    done = subprocess.run([SSH_KEYGEN, *args], capture_output=True, text=True, check=True)
    return done.stdout


def public_line_by_ssh_keygen(private: bytes, tmp_path: Path) -> str:
    key = tmp_path / "key"
    key.write_bytes(private)
    key.chmod(0o600)
    return " ".join(ssh_keygen("-y", "-f", str(key)).split()[:2])


@pytest.mark.parametrize(
    ("key_type", "bits", "type_name", "size"),
    [
        ("ed25519", None, "ED25519", 256),
        ("rsa", 2048, "RSA", 2048),
        ("ecdsa", None, "ECDSA", 256),
        ("ecdsa", 384, "ECDSA", 384),
        ("ecdsa", 521, "ECDSA", 521),
    ],
)
def test_generated_key_is_read_by_ssh_keygen_with_the_same_public_half(
    key_type, bits, type_name, size, tmp_path
):
    pair = generate_key(key_type, bits)

    assert pair.private_openssh.startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----")
    assert public_line_by_ssh_keygen(pair.private_openssh, tmp_path) == pair.public_line
    assert (pair.type_name, pair.bits) == (type_name, size)
    assert pair.public_key_text == pair.public_line + "\n"


def test_default_key_type_is_ed25519():
    assert generate_key().public_line.startswith("ssh-ed25519 ")


def test_rsa_default_size_is_ssh_keygens_3072():
    assert generate_key("rsa").bits == 3072


@pytest.mark.parametrize(
    ("key_type", "bits"), [("dsa", None), ("rsa", 512), ("ecdsa", 300), ("ed25519", 1024)]
)
def test_unknown_type_or_size_is_an_identity_error_naming_it(key_type, bits):
    with pytest.raises(IdentityError) as caught:
        generate_key(key_type, bits)
    assert key_type in str(caught.value) or str(bits) in str(caught.value)


@pytest.mark.parametrize(
    ("key_type", "pem"), [("ed25519", False), ("rsa", False), ("rsa", True), ("ecdsa", True)]
)
def test_user_keys_in_openssh_and_pem_format_are_read(key_type, pem, tmp_path):
    key = tmp_path / "key"
    options = ["-m", "PEM"] if pem else []
    ssh_keygen("-q", "-N", "", "-t", key_type, *options, "-f", str(key))
    if pem:
        assert b"BEGIN OPENSSH" not in key.read_bytes()

    pair = parse_private_key(key.read_bytes())

    expected = " ".join(Path(f"{key}.pub").read_text().split()[:2])
    assert pair.public_line == expected


def test_windows_line_endings_and_surrounding_blank_lines_are_tolerated(tmp_path):
    pair = generate_key()
    mangled = b"\r\n" + pair.private_openssh.replace(b"\n", b"\r\n") + b"\r\n\r\n"

    assert parse_private_key(mangled).public_line == pair.public_line


def test_passphrase_protected_key_is_refused_with_a_help_naming_the_fix(tmp_path):
    key = tmp_path / "key"
    ssh_keygen("-q", "-N", "secret words", "-t", "ed25519", "-f", str(key))

    with pytest.raises(IdentityError) as caught:
        parse_private_key(key.read_bytes(), source="identity")

    assert "passphrase" in str(caught.value)
    assert "ssh-keygen -p" in caught.value.help


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"not a key at all",
        b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
        b"-----BEGIN RSA PRIVATE KEY-----\nzzzz\n-----END RSA PRIVATE KEY-----\n",
    ],
)
def test_malformed_key_is_an_identity_error(garbage):
    with pytest.raises(IdentityError, match="not a readable private key"):
        parse_private_key(garbage)


def test_public_key_file_given_as_private_key_is_refused(tmp_path):
    pair = generate_key()
    with pytest.raises(IdentityError):
        parse_private_key(pair.public_key_text.encode())


def test_repr_of_a_key_pair_never_shows_the_private_key():
    pair = generate_key()
    assert "PRIVATE" not in repr(pair)
    assert pair.private_openssh.decode() not in repr(pair)
