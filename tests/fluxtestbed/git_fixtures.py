"""pytest fixtures for the git server: one server per session, one repo per test,
and deploy keys made by the real ssh-keygen."""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fluxtestbed.gitserver import GitServer

_repo_numbers = itertools.count(1)


@dataclass(frozen=True)
class DeployKey:
    private: Path
    public_line: str


def make_deploy_key(
    directory: Path, name: str = "identity", key_type: str = "ed25519"
) -> DeployKey:
    """A fresh unencrypted key pair (private file 0600) in ``directory``."""
    private = directory / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", key_type, "-N", "", "-C", name, "-f", str(private)],
        check=True,
    )
    return DeployKey(private, private.with_suffix(".pub").read_text().strip())


@pytest.fixture(scope="session")
def git_server() -> Iterator[GitServer]:
    """sshd, smart HTTP and file:// over bare repos, all on 127.0.0.1."""
    if os.geteuid() != 0:
        pytest.skip("the git server needs root: sshd logs in as the 'git' user")
    with GitServer() as server:
        yield server


@pytest.fixture
def git_repo(git_server: GitServer) -> str:
    """The name of a fresh, empty bare repo on ``git_server`` (branch master)."""
    name = f"repo{next(_repo_numbers)}"
    git_server.create_repo(name)
    return name


@pytest.fixture
def deploy_key(git_server: GitServer, tmp_path: Path) -> Iterator[DeployKey]:
    """An ed25519 key the git server accepts (for this test only)."""
    key = make_deploy_key(tmp_path)
    git_server.authorize(key.public_line)
    yield key
    git_server.revoke(key.public_line)


@pytest.fixture
def git_known_hosts(git_server: GitServer, tmp_path: Path) -> Path:
    """A known_hosts file with every host key of the git server."""
    path = tmp_path / "known_hosts"
    path.write_text("".join(f"{line}\n" for line in git_server.known_hosts_lines()))
    return path
