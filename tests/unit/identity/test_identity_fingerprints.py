"""Fingerprints and randomart must be byte-for-byte what ssh-keygen -lv prints."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fluxd.identity import describe, generate_key, parse_private_key
from fluxd.identity.fingerprints import md5_hash, randomart, sha256_hash


def ssh_keygen_lv(algorithm: str, key: Path) -> tuple[str, str]:
    """First line's hash (prefix removed, as Flux v1 served it) and the picture."""
    out = subprocess.run(
        ["/usr/bin/ssh-keygen", "-lv", "-E", algorithm, "-f", str(key)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    first, _, picture = out.partition("\n")
    prefixed = first.split()[1]
    return prefixed.split(":", 1)[1], picture


KEYS = [
    ("ed25519", None),
    ("rsa", 1024),
    ("rsa", 3072),
    ("ecdsa", 256),
    ("ecdsa", 384),
    ("ecdsa", 521),
]


@pytest.mark.parametrize(("key_type", "bits"), KEYS)
@pytest.mark.parametrize("algorithm", ["md5", "sha256"])
def test_hash_and_randomart_equal_ssh_keygen_lv(key_type, bits, algorithm, tmp_path):
    key = tmp_path / "id"
    size = ["-b", str(bits)] if bits else []
    subprocess.run(
        ["/usr/bin/ssh-keygen", "-q", "-N", "", "-t", key_type, *size, "-f", str(key)], check=True
    )
    info = describe(parse_private_key(key.read_bytes()))
    fingerprint = info.md5 if algorithm == "md5" else info.sha256

    expected_hash, expected_picture = ssh_keygen_lv(algorithm, key)

    assert fingerprint.hash == expected_hash
    assert fingerprint.randomart == expected_picture


@pytest.mark.parametrize("seed", range(20))
def test_randomart_of_many_generated_keys_equals_ssh_keygen(seed, tmp_path):
    pair = generate_key("ed25519")
    public = tmp_path / "id.pub"
    public.write_text(pair.public_key_text)
    info = describe(pair)

    assert ssh_keygen_lv("sha256", public) == (info.sha256.hash, info.sha256.randomart)
    assert ssh_keygen_lv("md5", public) == (info.md5.hash, info.md5.randomart)


def test_md5_is_colon_separated_hex_pairs_without_prefix():
    digest = md5_hash(b"blob")
    assert len(digest.split(":")) == 16
    assert all(len(pair) == 2 for pair in digest.split(":"))


def test_sha256_is_unpadded_base64_and_display_adds_the_prefix():
    pair = generate_key()
    info = describe(pair)
    assert "=" not in sha256_hash(pair.public_blob)
    assert len(info.sha256.hash) == 43
    assert info.sha256.display == "SHA256:" + info.sha256.hash
    assert info.md5.display.startswith("MD5:")


def test_title_too_wide_for_the_frame_drops_the_size():
    picture = randomart(b"\x00" * 16, "RSA-SHA2-CERT", 4096, "MD5")
    assert picture.splitlines()[0] == "+-[RSA-SHA2-CERT]-+"


def test_randomart_frame_is_nine_rows_of_seventeen_columns():
    lines = randomart(b"\xff" * 32, "ED25519", 256, "SHA256").splitlines()
    assert len(lines) == 11
    assert {len(line) for line in lines} == {19}
    assert lines[-1] == "+----[SHA256]-----+"
