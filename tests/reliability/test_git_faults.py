"""The git side fails while fluxd runs: the server is down, hangs, changes its
host key, revokes the deploy key, loses the branch or has it force-pushed;
the disk of the mirror fills up.

While the fault lasts fluxd must say what is wrong (``/readyz``'s git_error,
the same text ``fluxctl`` shows), keep answering its API, apply nothing it
cannot vouch for and delete nothing (garbage collection is on). Once the
fault is repaired, a commit pushed meanwhile must go live by itself.
"""

from __future__ import annotations

import base64
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fluxtestbed import git_faults
from fluxtestbed.faults import (
    GitFront,
    Ledger,
    config_map,
    config_maps,
    head,
    notify,
    public_key,
    record,
    synced,
    time_until,
    wait_git_error,
)
from fluxtestbed.fluxd_host import wait_for
from fluxtestbed.gitserver import GitServer
from fluxtestbed.scenario import Installation

pytestmark = [pytest.mark.cluster, pytest.mark.gitserver, pytest.mark.slow]

COUNT = 20
#: How long fluxd may take to apply the waiting commit once the fault is repaired
#: (a repo that is not ready is retried every 10 s).
RECOVERY_BOUND = 60.0
NAMES = [f"cm-{i:05d}" for i in range(COUNT)]


@dataclass
class Outage:
    """One git fault from a synced start: what fluxd said, and how it came back."""

    inst: Installation
    before: Ledger
    error: str = ""
    error_after_s: float | None = None

    @property
    def git(self) -> GitServer:
        return self.inst.git

    def push_v2(self) -> str:
        return self.git.push_files(self.inst.repo, config_maps(COUNT, "v2"), "v2")

    def await_error(self, *words: str, timeout: float = 60) -> None:
        began = time.monotonic()
        self.error = wait_git_error(self.inst, *words, timeout=timeout)
        self.error_after_s = round(time.monotonic() - began, 2)

    def assert_held(self) -> None:
        """While the fault lasts: fluxd answers, and the cluster is as it was (v1, same uids)."""
        assert self.inst.daemon.get_json("/v11/version")
        held = Ledger.take(self.inst.kube, self.inst.target)
        assert self.before.wrongly_deleted(held) == []
        assert held.lost(NAMES, "v1") == []

    def finish(self, scenario: str, revision: str, **figures: object) -> None:
        """After the repair: the waiting revision goes live, nothing was lost; record it."""
        ttr = time_until(lambda: synced(self.inst, revision), timeout=RECOVERY_BOUND)
        after = Ledger.take(self.inst.kube, self.inst.target)
        wrongly_deleted = self.before.wrongly_deleted(after)
        lost = after.lost(NAMES, "v2") if ttr is not None else NAMES
        record(
            scenario,
            error_reported=self.error,
            error_reported_after_s=self.error_after_s,
            time_to_recovery_s=ttr,
            recovered=ttr is not None,
            objects_lost=len(lost),
            wrongly_deleted=len(wrongly_deleted),
            **figures,
        )
        assert wrongly_deleted == []
        assert ttr is not None, f"not recovered: fluxd reports {self.inst.daemon.readyz()}"
        assert lost == []


def _synced_outage(inst: Installation) -> Outage:
    wait_for("the first sync", lambda: synced(inst, head(inst.git, inst.repo)), timeout=90)
    return Outage(inst, Ledger.take(inst.kube, inst.target))


@pytest.fixture
def outage(fluxd_factory: Callable[..., Installation]) -> Outage:
    """fluxd over the git server's sshd, the repo's 20 ConfigMaps live (v1)."""
    return _synced_outage(fluxd_factory(config_maps(COUNT, "v1")))


def test_git_server_down_then_back(outage: Outage) -> None:
    try:
        git_faults.stop_sshd(outage.git)
        revision = outage.push_v2()
        outage.await_error("could not connect")
        outage.assert_held()
    finally:
        git_faults.start_sshd(outage.git)
    outage.finish("git server down (sshd stopped), then back", revision)


@pytest.fixture
def front(git_server: GitServer) -> Iterator[GitFront]:
    made = GitFront(git_server.ssh_port)
    yield made
    made.close()


def test_git_server_that_accepts_and_never_answers_is_bounded_by_git_timeout(
    fluxd_factory: Callable[..., Installation], git_server: GitServer, front: GitFront
) -> None:
    timeout = 4
    inst = fluxd_factory(
        config_maps(COUNT, "v1"),
        git_url=lambda repo: f"ssh://git@127.0.0.1:{front.port}{git_server.bare_path(repo)}",
        known_hosts=[
            line.replace(f":{git_server.ssh_port} ", f":{front.port} ")
            for line in git_server.known_hosts_lines()
        ],
        extra_args=(f"--git-timeout={timeout}s",),
    )
    outage = _synced_outage(inst)
    front.hang()
    revision = outage.push_v2()
    outage.await_error("timed out")
    # Every fetch is a connection left hanging; fluxd answers all the while.
    answered = [inst.daemon.get_json("/v11/version") for _ in range(10)]
    outage.assert_held()
    hanging = front.held()
    front.answer()
    outage.finish(
        "git server accepts TCP and never answers",
        revision,
        git_timeout_s=timeout,
        api_answers_during_fault=len(answered),
        connections_left_hanging=hanging,
    )


@pytest.mark.reliability
def test_host_key_changed_stops_fetching_until_the_operator_trusts_the_new_key(
    outage: Outage,
) -> None:
    git_faults.replace_host_keys(outage.git)
    revision = outage.push_v2()
    outage.await_error("host key", "changed")
    # A host that might be an impostor: not one object of its commit is applied.
    outage.assert_held()
    known_hosts = outage.inst.daemon.workdir / "known_hosts"
    known_hosts.write_text("".join(f"{line}\n" for line in outage.git.known_hosts_lines()))
    outage.finish("git host key changed; operator replaces known_hosts", revision)


@pytest.mark.reliability
def test_deploy_key_revoked_then_added_again(outage: Outage) -> None:
    key = public_key(outage.inst)
    outage.git.revoke(key)
    try:
        revision = outage.push_v2()
        outage.await_error("refused", "key")
        outage.assert_held()
    finally:
        outage.git.authorize(key)
    outage.finish("deploy key revoked, then added again", revision)


def test_branch_deleted_deletes_nothing_and_syncs_when_it_returns(outage: Outage) -> None:
    git_faults.delete_branch(outage.git, outage.inst.repo)
    outage.await_error("branch", "does not exist")
    # With garbage collection on, a vanished branch must not read as "delete everything".
    notify(outage.inst)
    outage.assert_held()
    revision = outage.push_v2()
    outage.finish("branch deleted, then pushed again", revision)


@pytest.mark.reliability
def test_branch_force_pushed_to_an_unrelated_history(outage: Outage) -> None:
    files = config_maps(COUNT, "v2")
    files["objects/new.yaml"] = config_map("brand-new", "v2", "main")
    revision = git_faults.force_branch(outage.git, outage.inst.repo, files, "a new beginning")
    outage.finish("branch force-pushed to an unrelated history", revision)
    assert "brand-new" in Ledger.take(outage.inst.kube, outage.inst.target).objects


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 1 MiB tmpfs, for fluxd's temp dir (where its mirror lives)."""
    mount = Path(tempfile.mkdtemp(prefix="fluxpy-small-disk-"))
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        mount.rmdir()
        pytest.skip(
            f"cannot mount a small tmpfs for the full-disk scenario ({done.stderr.strip()}); "
            "it needs root with CAP_SYS_ADMIN"
        )
    yield mount
    subprocess.run(["umount", "--lazy", str(mount)], check=False)
    mount.rmdir()


@pytest.mark.reliability
def test_mirror_disk_full_is_reported_and_recovers_when_space_returns(
    fluxd_factory: Callable[..., Installation], small_disk: Path
) -> None:
    inst = fluxd_factory(config_maps(COUNT, "v1"), env={"TMPDIR": str(small_disk)})
    outage = _synced_outage(inst)
    files = config_maps(COUNT, "v2")
    # ~2.7 MB that zlib cannot shrink much: more than the 1 MiB disk holds.
    files["assets/blob.txt"] = base64.b64encode(os.urandom(2_000_000)).decode()
    revision = outage.git.push_files(inst.repo, files, "v2 with a big blob")
    outage.await_error("no space left")
    outage.assert_held()
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    outage.finish("mirror's filesystem full, then space returns", revision)
