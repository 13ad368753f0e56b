"""fluxctl's write commands print and commit what Flux v1's own fluxctl 1.25.4 does.

Each command line runs twice against the same daemon (``bed``: a daemon URL
and its git remote; today Flux v1's own fluxd): first with Flux v1's fluxctl,
then, with the branch put back as it was, with ours. Both must print the
same lines (stdout, stderr, exit status) and leave the same commit in the
remote: the same ``git diff``, message and committer. Commit ids differ, so
``Commit pushed:``/``Commit applied:`` lines are compared after each is
checked against its own commit.

The default suite runs a representative part of the cases; the ones marked
``conformance_full`` run with ``make conformance-full`` (``-m conformance_full``).

Differences kept on purpose (docs/references/cli.md): a usage error is
click's (exit 2, ``Usage:`` line) where Flux v1 exited 1, and an error after
a request has no ``Run 'fluxctl ... --help' for usage.`` line.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fluxtestbed.fluxv1 import FluxV1Binaries
from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster
from fluxtestbed.writebed import GIT_EMAIL, GIT_USER, STARTERS, WriteBed

pytestmark = [pytest.mark.cluster, pytest.mark.gitserver, pytest.mark.slow]

OURS = Path(sys.executable).with_name("fluxctl")
USER = "Jane Doe <jane@example.com>"
_COMMIT_LINE = re.compile(r"^(Commit (?:pushed|applied):\t)([0-9a-f]{7})$", re.M)
_RUN_HELP = re.compile(r"^Run 'fluxctl [a-z-]+ --help' for usage\.\n", re.M)


@pytest.fixture(scope="module", params=sorted(STARTERS))
def bed(request: pytest.FixtureRequest, kube: Cluster, git_server: GitServer) -> Iterator[WriteBed]:
    """A daemon that writes to git, with HEAD applied; see fluxtestbed.writebed."""
    started = STARTERS[request.param](kube, git_server)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The user's environment: a git identity (the default --user), a kubeconfig without contexts.

    Both programs then take ``default`` as the namespace of ``kind/name``
    workloads (none is used here) and never reach for the cluster.
    """
    home = tmp_path_factory.mktemp("user-home")
    (home / ".gitconfig").write_text("[user]\n\tname = Jane Doe\n\temail = jane@example.com\n")
    kubeconfig = home / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    return {**os.environ, "HOME": str(home), "KUBECONFIG": str(kubeconfig)}


@dataclass
class Run:
    """One fluxctl run: what it printed, and the commit it left (if any)."""

    returncode: int
    stdout: str
    stderr: str
    diff: str = ""
    message: str = ""
    committer: str = ""


def _message(text: str) -> str:
    """The commit message with its ``- ...`` lines sorted.

    Flux v1's fluxd lists the changes in its map's (random) order, so the
    same change is not always worded in the same order.
    """
    lines = text.splitlines()
    bullets = sorted(line for line in lines if line.startswith("- "))
    return "\n".join([line for line in lines if not line.startswith("- ")] + bullets)


def run(bed: WriteBed, exe: Path, args: list[str], env: dict[str, str]) -> Run:
    bed.wait_synced()
    before = bed.head()
    out = bed.fluxctl(exe, *args, env=env)
    after = bed.head()
    result = Run(out.returncode, out.stdout, out.stderr)
    if after != before:
        result.diff = bed.diff(before, after)
        result.message = _message(bed.message(after))
        result.committer = bed.committer(after)
    for match in _COMMIT_LINE.finditer(out.stderr):
        assert match.group(2) == after[:7], f"{match.group(0)!r} is not the new HEAD {after[:7]}"
    result.stderr = _COMMIT_LINE.sub(r"\1<commit>", result.stderr)
    return result


def both(bed: WriteBed, fluxv1: FluxV1Binaries, env: dict[str, str], *args: str) -> tuple[Run, Run]:
    """Flux v1's run and ours, each from the same branch state; the state is put back after."""
    full = [a.format(target=bed.target) for a in args]
    base = bed.head()
    go = run(bed, fluxv1.fluxctl, full, env)
    bed.restore(base, "Put the branch back for the next fluxctl")
    ours = run(bed, OURS, full, env)
    bed.restore(base, "Put the branch back for the next test")
    go.stderr = _RUN_HELP.sub("", go.stderr)
    return go, ours


NGINX = "{target}:deployment/nginx-deployment"
WEB = "{target}:deployment/web"

FULL = pytest.mark.conformance_full

COMMITTING = [
    ("automate", "-w", NGINX),
    pytest.param(
        ("lock", "-w", WEB, "-m", "hold on: load test", "--user", "Ops <ops@example.com>"),
        marks=FULL,
    ),
    pytest.param(("lock", "-n", "{target}", "-w", "deployment/web"), marks=FULL),
    ("policy", "-w", WEB, "--tag-all", "1.*", "--tag", "logger=semver:~1", "--automate"),
    pytest.param(
        ("policy", "-w", WEB, "--tag", "web=regex:^1\\.1[0-9]", "--lock", "-m", "pinned", "-v"),
        marks=FULL,
    ),
]


@pytest.mark.parametrize("args", COMMITTING, ids=" ".join)
def test_policy_commands_commit_the_same_change(
    bed: WriteBed, fluxv1: FluxV1Binaries, env: dict[str, str], args: tuple[str, ...]
) -> None:
    go, ours = both(bed, fluxv1, env, *args)
    assert go.returncode == 0, go.stderr
    assert go.stdout.startswith("WORKLOAD")
    assert " success" in go.stdout
    assert go.diff, "Flux v1 made no commit"
    assert ours == go
    assert go.committer == f"{GIT_USER} <{GIT_EMAIL}>"
    changed = [line for line in go.diff.splitlines()[4:] if line[:1] in "+-"]
    assert all("fluxcd.io/" in line or line == "+  annotations:" for line in changed), go.diff


@FULL
def test_lock_records_who_locked_and_why(
    bed: WriteBed, fluxv1: FluxV1Binaries, env: dict[str, str]
) -> None:
    go, ours = both(bed, fluxv1, env, "lock", "-w", NGINX, "-m", "freeze")
    assert ours == go
    added = sorted(line for line in go.diff.splitlines() if line.startswith("+    "))
    assert added == [
        "+    fluxcd.io/locked: 'true'",
        "+    fluxcd.io/locked_msg: freeze",
        f"+    fluxcd.io/locked_user: {USER}",
    ]


#: Flux v1 refuses an image its registry cache lacks (nothing commits); ours
#: releases it, which test_release_commits_the_image_and_the_workload_rolls checks.
RELEASE_1_16_1 = ("release", "--workload", NGINX, "--update-image", "nginx:1.16.1")
NOT_COMMITTING = [
    pytest.param(("deautomate", "-w", NGINX), marks=FULL),
    pytest.param(("unlock", "-w", WEB, "-v"), marks=FULL),
    pytest.param(("lock", "-w", "{target}:deployment/no-such-workload"), marks=FULL),
    ("release", "--all", "--update-all-images", "--dry-run", "-vv"),
    pytest.param(("release", "--all", "--update-all-images", "--dry-run"), marks=FULL),
    pytest.param(
        ("release", "--workload", NGINX, "--update-image", "nginx:1.16.1", "--dry-run"), marks=FULL
    ),
    RELEASE_1_16_1,
    pytest.param(
        ("release", "--workload", WEB, "--update-image", "busybox:1.37", "--exclude", WEB, "-v"),
        marks=FULL,
    ),
    ("save",),
]


@pytest.mark.parametrize("args", NOT_COMMITTING, ids=" ".join)
def test_commands_that_change_nothing_print_the_same(
    bed: WriteBed, fluxv1: FluxV1Binaries, env: dict[str, str], args: tuple[str, ...]
) -> None:
    if bed.kind != "fluxv1" and args == RELEASE_1_16_1:
        pytest.skip("our fluxd releases this image: see the release test below")
    go, ours = both(bed, fluxv1, env, *args)
    assert go.diff == ""
    assert ours == go


def test_save_to_a_directory_writes_the_same_files(
    bed: WriteBed, fluxv1: FluxV1Binaries, env: dict[str, str], tmp_path: Path
) -> None:
    trees = {}
    for name, exe in (("go", fluxv1.fluxctl), ("ours", OURS)):
        out = tmp_path / name
        out.mkdir()
        done = bed.fluxctl(exe, "save", "--out", str(out), env=env)
        assert done.returncode == 0, done.stderr
        files = {str(p.relative_to(out)): p.read_text() for p in sorted(out.rglob("*.yaml"))}
        trees[name] = (done.stdout.replace(str(out), "<out>"), done.stderr, files)
    assert f"{bed.target}/nginx-deployment-dep.yaml" in trees["go"][2]
    assert trees["ours"] == trees["go"]


USAGE_ERRORS = [
    (("release", "--workload", NGINX), "please supply exactly one of --update-image=<image> "
     "or --update-all-images"),
    (("release", "--update-image", "nginx:1.16.1"),
     "please supply either --all, or at least one --workload=<workload>"),
    (("release", "--all", "-i", "nginx:1", "--watch", "--dry-run"),
     "cannot use --watch with --dry-run"),
    (("release", "--all", "--update-all-images", "--force"),
     "--force has no effect when used with --all and --update-all-images"),
    (("policy", "-w", NGINX, "--lock", "--unlock"), "lock and unlock both specified"),
    (("policy", "-w", NGINX, "--automate", "--deautomate"),
     "automate and deautomate both specified"),
    (("automate",), "-w, --workload is required"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), USAGE_ERRORS, ids=lambda a: " ".join(a))
def test_bad_flags_are_refused_with_flux_v1s_words(
    bed: WriteBed, fluxv1: FluxV1Binaries, env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    go, ours = both(bed, fluxv1, env, *args)
    assert (go.returncode, go.stdout, go.stderr) == (1, "", f"Error: {message}\n")
    assert (ours.returncode, ours.stdout, ours.diff) == (2, "", "")
    assert ours.stderr.startswith(f"Usage: fluxctl {args[0]} [OPTIONS]")
    assert ours.stderr.endswith(f"Error: {message}\n")


def test_user_defaults_to_the_git_identity(bed: WriteBed, env: dict[str, str]) -> None:
    base = bed.head()
    done = bed.fluxctl(OURS, "lock", "-w", NGINX.format(target=bed.target), env=env)
    assert done.returncode == 0, done.stderr
    try:
        assert f"fluxcd.io/locked_user: {USER}" in bed.diff(base, bed.head())
    finally:
        bed.restore(base, "Put the branch back for the next test")


def _git_config(env: dict[str, str], key: str) -> str:
    return subprocess.run(
        ["git", "config", "--get", key], env=env, capture_output=True, text=True, check=False
    ).stdout.strip()


def test_the_environment_gives_both_programs_one_git_identity(env: dict[str, str]) -> None:
    assert (_git_config(env, "user.name"), _git_config(env, "user.email")) == (
        "Jane Doe",
        "jane@example.com",
    )


IN_LOCKED_STATE = [
    ("unlock", "-w", NGINX),
    pytest.param(("deautomate", "-w", NGINX), marks=FULL),
    pytest.param(("policy", "-w", NGINX, "--unlock", "--deautomate", "-m", "thaw"), marks=FULL),
    pytest.param(("release", "--workload", NGINX, "--update-all-images", "-v"), marks=FULL),
    pytest.param(
        ("release", "--workload", NGINX, "--update-image", "nginx:1.16.1", "--dry-run", "-v"),
        marks=FULL,
    ),
    pytest.param(("release", "--all", "--update-all-images", "--dry-run", "-vv"), marks=FULL),
]


@pytest.mark.parametrize("args", IN_LOCKED_STATE, ids=" ".join)
def test_a_locked_automated_workload_is_handled_the_same(
    bed: WriteBed, fluxv1: FluxV1Binaries, env: dict[str, str], args: tuple[str, ...]
) -> None:
    base = bed.head()
    nginx = NGINX.format(target=bed.target)
    policy = bed.fluxctl(OURS, "policy", "-w", nginx, "--lock", "--automate", env=env)
    assert policy.returncode == 0, policy.stderr
    try:
        go, ours = both(bed, fluxv1, env, *args)
        assert ours == go
        if args[0] != "release":
            assert go.diff.count("\n-    fluxcd.io/") >= 1, go.diff
    finally:
        bed.restore(base, "Put the branch back for the next test")


def test_release_commits_the_image_and_the_workload_rolls(
    bed: WriteBed, fluxv1: FluxV1Binaries, env: dict[str, str]
) -> None:
    if bed.kind == "fluxv1":
        pytest.skip(
            "Flux v1's fluxd releases only images found in its registry cache (memcached fed "
            "by registry scanning), which the test bed does not run"
        )
    go, ours = both(
        bed, fluxv1, env, "release", "--workload", NGINX, "--update-image", "nginx:1.16.1"
    )
    assert go.returncode == 0, go.stderr
    assert ours == go
    changed = [line for line in go.diff.splitlines()[4:] if line[:1] in "+-"]
    assert changed == ["-        image: nginx:1.17.7", "+        image: nginx:1.16.1"]
    assert go.stderr.splitlines()[-2:] == ["Commit pushed:\t<commit>", "Commit applied:\t<commit>"]
