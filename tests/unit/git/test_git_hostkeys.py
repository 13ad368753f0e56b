"""The built-in host keys are the published ones, and extra files are added."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from fluxd.git.hostkeys import (
    BUILTIN_KNOWN_HOSTS,
    assemble_known_hosts,
    sha256_fingerprint,
    write_if_changed,
)

# From each host's documentation page on its SSH host keys.
PUBLISHED = {
    ("github.com", "ssh-ed25519"): "SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU",
    ("github.com", "ecdsa-sha2-nistp256"): "SHA256:p2QAMXNIC1TJYWeIOttrVc98/R1BUFWu3/LiyKgUfQM",
    ("github.com", "ssh-rsa"): "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
    ("gitlab.com", "ssh-ed25519"): "SHA256:eUXGGm1YGsMAS7vkcx6JOJdOGHPem5gQp4taiCfCLB8",
    ("gitlab.com", "ecdsa-sha2-nistp256"): "SHA256:HbW3g8zUjNSksFbqTiUWPWg2Bq1x8xdGUrliXFzSnUw",
    ("gitlab.com", "ssh-rsa"): "SHA256:ROQFvPThGrW4RuWLoL9tq9I9zJ42fK4XywyRtbOz/EQ",
    ("bitbucket.org", "ssh-ed25519"): "SHA256:ybgmFkzwOSotHTHLJgHO0QN8L0xErw6vd0VhFA9m3SM",
    ("bitbucket.org", "ecdsa-sha2-nistp256"): "SHA256:FC73VB6C4OQLSCrjEayhMp9UMxS97caD/Yyi2bhW/J0",
    ("bitbucket.org", "ssh-rsa"): "SHA256:46OSHA1Rmj8E8ERTC6xkNcmGOw9oFxYr0WF6zWW8l1E",
}


def builtin_entries() -> dict[tuple[str, str], str]:
    entries = {}
    for line in BUILTIN_KNOWN_HOSTS.splitlines():
        host, key_type, blob = line.split()
        entries[(host, key_type)] = blob
    return entries


def test_builtin_keys_are_exactly_the_published_keys_of_every_type() -> None:
    fingerprints = {k: sha256_fingerprint(blob) for k, blob in builtin_entries().items()}
    assert fingerprints == PUBLISHED


def test_fingerprint_is_printed_like_ssh_keygen() -> None:
    # ssh-keygen -l drops the base64 padding.
    assert not sha256_fingerprint(builtin_entries()[("github.com", "ssh-rsa")]).endswith("=")


def test_known_hosts_files_are_appended_after_the_builtin_keys(tmp_path: Path) -> None:
    mine = tmp_path / "known_hosts"
    mine.write_text("[git.internal]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample\n")
    text = assemble_known_hosts([mine])
    assert text.startswith(BUILTIN_KNOWN_HOSTS)
    assert "[git.internal]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample\n" in text


def test_a_missing_known_hosts_file_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        text = assemble_known_hosts([tmp_path / "absent"])
    assert text == BUILTIN_KNOWN_HOSTS
    assert "cannot read known_hosts file" in caplog.text
    assert str(tmp_path / "absent") in caplog.text


def test_the_file_is_rewritten_only_when_its_content_changes(tmp_path: Path) -> None:
    target = tmp_path / "known_hosts"
    write_if_changed(target, "a\n")
    first = target.stat().st_ino
    write_if_changed(target, "a\n")
    assert target.stat().st_ino == first
    write_if_changed(target, "b\n")
    assert target.read_text() == "b\n"
