"""Flux v1's fluxctl 1.25.4 against our fluxd before the deploy key is added.

The repo cannot be cloned yet: ``sync`` fails with Flux v1's text, and the
identity commands (including ``-r``) work, since they are how the user gets
out of this state.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fluxtestbed.fluxd_host import wait_for
from fluxtestbed.fluxv1 import FluxV1Binaries, Pair
from fluxtestbed.scenario import Installation, seed_files

pytestmark = [pytest.mark.cluster, pytest.mark.gitserver, pytest.mark.slow]


@pytest.fixture(scope="module")
def pair(install_module: Callable[..., Installation], fluxv1: FluxV1Binaries) -> Pair:
    """fluxd whose deploy key the git server does not know, after its first clone failed."""
    inst = install_module(files=seed_files("1.17.7"))
    pair = Pair(inst, fluxv1.fluxctl)
    wait_for(
        "fluxd to report why it cannot clone",
        lambda: "Full error message:" in pair.go("sync").stderr,
        timeout=60,
        interval=1.0,
    )
    return pair


def test_sync_says_the_repo_is_not_ready_and_why(pair: Pair) -> None:
    go, ours = pair.go("sync"), pair.ours("sync")
    url = pair.inst.git.ssh_url(pair.inst.repo)
    assert (go.returncode, go.stdout) == (1, "")
    assert go.stderr.startswith(
        f"Error: git repository {url} is not ready to sync\n\nFull error message: "
    )
    assert go.stderr.endswith("\nRun 'fluxctl sync --help' for usage.\n")
    # Ours prints the same error (git's CRLF line ends as LF), then a hint
    # for the cause in place of Flux v1's pointer to --help.
    reason = go.stderr.removesuffix("Run 'fluxctl sync --help' for usage.\n")
    reason = reason.replace("\r\n", "\n").rstrip("\n")
    assert (ours.returncode, ours.stdout) == (1, "")
    assert ours.stderr.startswith(reason + "\n\n")
    assert "fluxctl identity --k8s-fwd-ns" in ours.stderr.removeprefix(reason)


def test_identity_regenerate_prints_a_new_key_that_identity_then_shows(pair: Pair) -> None:
    before = pair.go("identity")
    go = pair.go("identity", "-r")
    after_go = pair.ours("identity")
    ours = pair.ours("identity", "--regenerate")
    after_ours = pair.go("identity")
    for result in (before, go, after_go, ours, after_ours):
        assert (result.returncode, result.stderr) == (0, ""), result.stderr
        assert result.stdout.startswith("ssh-ed25519 ")
    assert len({before.stdout, go.stdout, ours.stdout}) == 3
    assert after_go.stdout == go.stdout
    assert after_ours.stdout == ours.stdout
