"""pytest fixtures for the git server: one server per session, one repo per test."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from fluxtestbed.gitserver import GitServer

_repo_numbers = itertools.count(1)


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
