"""Flux v1's fluxctl 1.25.4 changes git through our fluxd: release, lock, policy.

The seed's walkthrough: nginx runs 1.14.2; `fluxctl release` moves it to
1.16.1 by a commit that changes one line, and the Deployment rolls once that
commit is synced. What fluxctl prints is what Flux v1's fluxd made it print
(pkg/update's result table, "Commit pushed:" and "Commit applied:"); Flux
v1's own fluxd cannot be run for comparison here: it edits files with the
kubeyaml program, which only its container image carries.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from fluxtestbed.fluxd_host import wait_for
from fluxtestbed.fluxv1 import FluxV1Binaries, Pair
from fluxtestbed.scenario import Installation, deployment_image, seed_files

pytestmark = [pytest.mark.cluster, pytest.mark.gitserver, pytest.mark.slow]

FILE = "nginx-deployment-flux.yaml"


@pytest.fixture(scope="module")
def pair(install_module: Callable[..., Installation], fluxv1: FluxV1Binaries) -> Pair:
    inst = install_module(files=seed_files("1.14.2"))
    inst.authorize_deploy_key()
    wait_for("a first good sync", lambda: inst.fluxctl("sync").returncode == 0, timeout=90)
    return Pair(inst, fluxv1.fluxctl)


def head(pair: Pair) -> str:
    return pair.inst.git.git(pair.inst.repo, "rev-parse", "master")


def changed_lines(pair: Pair) -> list[str]:
    diff = pair.inst.git.git(pair.inst.repo, "diff", "--unified=0", "master~1", "master")
    return [
        line
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def nginx(pair: Pair) -> str:
    return f"{pair.inst.target}:deployment/nginx-deployment"


def test_a_dry_run_prints_the_plan_and_changes_nothing(pair: Pair) -> None:
    before = head(pair)
    go = pair.go("release", "--workload", nginx(pair), "--update-image=nginx:1.16.1", "--dry-run")
    assert go.returncode == 0, go.stderr
    assert go.stderr == "Submitting dry-run release ...\n"
    header = "WORKLOAD".ljust(len(nginx(pair)) + 2) + "STATUS   UPDATES"
    assert go.stdout == f"{header}\n{nginx(pair)}  success  nginx: nginx:1.14.2 -> 1.16.1\n"
    assert head(pair) == before


def test_release_commits_one_line_and_the_deployment_rolls(pair: Pair) -> None:
    go = pair.go("release", "--workload", nginx(pair), "--update-image=nginx:1.16.1")
    assert go.returncode == 0, go.stderr
    rev = head(pair)[:7]
    assert go.stderr == (f"Submitting release ...\nCommit pushed:\t{rev}\nCommit applied:\t{rev}\n")
    assert go.stdout.splitlines()[1] == f"{nginx(pair)}  success  nginx: nginx:1.14.2 -> 1.16.1"
    assert changed_lines(pair) == ["-        image: nginx:1.14.2", "+        image: nginx:1.16.1"]
    message = pair.inst.git.git(pair.inst.repo, "log", "-1", "--format=%B")
    assert message == f"Release nginx:1.16.1 to {nginx(pair)}"
    assert deployment_image(pair.inst.kube, pair.inst.target) == "nginx:1.16.1"


def test_lock_then_release_is_refused_as_locked(pair: Pair) -> None:
    go = pair.go("lock", "-w", nginx(pair), "-m", "freeze", "--user", "Jane <jane@example.com>")
    assert go.returncode == 0, go.stderr
    assert go.stderr == f"Commit pushed:\t{head(pair)[:7]}\n"
    assert changed_lines(pair) == [
        "+  annotations:",
        "+    fluxcd.io/locked: 'true'",
        "+    fluxcd.io/locked_msg: freeze",
        "+    fluxcd.io/locked_user: Jane <jane@example.com>",
    ]
    locked = head(pair)
    assert pair.go("sync").returncode == 0
    row = pair.go("list-workloads", "-n", pair.inst.target, "--no-headers").stdout.splitlines()
    assert row[0].split()[-1] == "locked"
    go = pair.go("release", "--workload", nginx(pair), "--update-image=nginx:1.17.7")
    assert (go.returncode, go.stdout) == (1, "")
    assert go.stderr == (
        "Submitting release ...\nError: no changes made in repo\n"
        "Run 'fluxctl release --help' for usage.\n"
    )
    assert head(pair) == locked
    verbose = pair.go(
        "release", "--workload", nginx(pair), "--update-image=nginx:1.17.7", "--dry-run", "-v"
    )
    assert f"{nginx(pair)}  skipped  locked" in verbose.stdout


def test_unlock_and_tag_policy_round_trip_the_file(pair: Pair) -> None:
    assert pair.go("unlock", "-w", nginx(pair)).returncode == 0
    go = pair.go("policy", "-w", nginx(pair), "--tag", "nginx=semver:~1.16")
    assert go.returncode == 0, go.stderr
    assert changed_lines(pair) == [
        "+  annotations:",
        "+    fluxcd.io/tag.nginx: semver:~1.16",
    ]
    assert pair.go("sync").returncode == 0
    listed = json.loads(pair.go("list-workloads", "-n", pair.inst.target, "-o", "json").stdout)
    assert [w["Policies"] for w in listed] == [{"tag.nginx": "semver:~1.16"}]
