"""Our fluxd and Flux v1's fluxd installed side by side on the test bed, asked
the same questions.

Each gets its own namespace and its own repo holding the same manifests
(under ``deploy/``, ``--git-path=deploy``), and manages a fresh namespace of
its own. ``collect`` asks both every request of ``EARLY_CASES`` (before
their deploy keys are accepted) and ``CASES`` (once both applied HEAD and
the rollouts finished), and keeps both answers of each.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from fluxtestbed.apidiff import Answer, Side, ask
from fluxtestbed.differential_cases import (
    CASES,
    EARLY_CASES,
    HANDMADE,
    LATE_CASES,
    LEGACY,
    REPO_FILES,
    ROLLOUTS,
    SYNC_REQUEST,
    UNCONFIGURED_CASES,
    Case,
)
from fluxtestbed.fluxd_host import HostFluxd, start_host_fluxd
from fluxtestbed.fluxv1d import FluxV1Daemon, start_fluxv1d
from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster
from fluxtestbed.procs import TestbedError, wait_until


@dataclass
class Pair:
    """Both daemons and the answers each gave, by case name."""

    ours: Side
    theirs: Side
    answers: dict[str, tuple[Answer, Answer]]
    ours_daemon: HostFluxd
    theirs_daemon: FluxV1Daemon
    #: How long installing both and asking everything took.
    seconds: float = 0.0
    #: Every job status Flux v1 reported while a sync job ran, by "<prefix><state>".
    theirs_job_states: dict[str, Answer] = field(default_factory=dict)

    def stop(self, kube: Cluster | None = None) -> None:
        """Stop both daemons; with ``kube``, delete every namespace they used."""
        self.ours_daemon.stop()
        self.theirs_daemon.stop()
        if kube is None:
            return
        for side in (self.ours, self.theirs):
            for namespace in (side.namespace, side.target):
                kube.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def _fill(value: Any, side: Side) -> Any:
    if isinstance(value, str):
        return value.format(repo_url=side.repo_url, target=side.target)
    if isinstance(value, dict):
        return {k: _fill(v, side) for k, v in value.items()}
    return value


def ask_both(client: httpx.Client, pair: Pair, case: Case) -> None:
    got = []
    for side in (pair.ours, pair.theirs):
        path = case.request_path
        got.append(ask(client, side, case.method, path, body=_fill(case.body, side),
                       raw=case.raw, accept=case.accept))  # fmt: skip
    pair.answers[case.name] = (got[0], got[1])


def install_pair(kube: Cluster, git: GitServer) -> Pair:
    """Both repos pushed, both daemons started; keys not yet accepted by the git server."""
    sfx = uuid.uuid4().hex[:6]
    repos = {name: f"diff-{name}-{sfx}" for name in ("ours", "theirs")}
    for repo in repos.values():
        git.create_repo(repo)
        git.push_files(repo, REPO_FILES, "Add the manifests")
    target, theirs_target = f"apps-{sfx}", f"v1apps-{sfx}"
    for namespace in (target, theirs_target):
        kube.kubectl("create", "namespace", namespace)
        kube.kubectl("apply", "-n", namespace, "-f", "-", input=HANDMADE)
        kube.kubectl("apply", "-n", namespace, "-f", "-", input=LEGACY.format(app="legacy"))
    theirs = start_fluxv1d(
        kube, git, namespace=f"fluxv1-{sfx}", target=theirs_target, repo=repos["theirs"],
        extra_args=("--git-path=deploy", "--ssh-keygen-type=ed25519"),
    )  # fmt: skip
    ours = start_host_fluxd(
        kube,
        namespace=f"flux-{sfx}",
        git_url=git.ssh_url(repos["ours"]),
        known_hosts=git.known_hosts_lines(),
        extra_args=(
            f"--k8s-default-namespace={target}",
            f"--k8s-allow-namespace={target}",
            "--git-path=deploy",
            "--git-poll-interval=10m",
            "--sync-interval=10m",
            # Flux v1 runs without its registry scan too: same configuration.
            "--registry-disable-scanning",
        ),
    )
    theirs_url = git.ssh_url(theirs.repo)
    return Pair(
        ours=Side("ours", ours.url, target, ours.namespace, git.ssh_url(repos["ours"])),
        theirs=Side("theirs", theirs.url, theirs.target, theirs.namespace, theirs_url),
        answers={},
        ours_daemon=ours,
        theirs_daemon=theirs,
    )


def _repo_name(side: Side) -> str:
    return side.repo_url.rsplit("/", 1)[1].removesuffix(".git")


def wait_clone_failed(client: httpx.Client, side: Side, timeout: float = 60) -> None:
    """Until the daemon has tried to clone with its (not yet accepted) key."""

    def failed() -> bool:
        answer = ask(client, side, "POST", "/v9/git-repo-config", body=False)
        return answer.status == 200 and bool(answer.body["errors"])

    wait_until(f"{side.name} fluxd to try its first clone", failed, timeout=timeout)


def wait_synced(client: httpx.Client, git: GitServer, side: Side, timeout: float = 120) -> None:
    """Accept its key, then wait until it has applied the branch HEAD.

    Both daemons move the ``flux-sync`` tag once they applied a revision (ours
    runs with deploy/'s ``--git-label=flux-sync``). ``GET /v6/sync`` is no
    witness: Flux v1 answers ``[]`` for HEAD before its first sync.
    """
    key = ask(client, side, "GET", "/v6/identity.pub").body["key"]
    git.authorize(key)
    repo = _repo_name(side)
    side.head = git.git(repo, "rev-parse", "refs/heads/master")
    notify = {"Kind": "git", "Source": {"URL": side.repo_url, "Branch": "master"}}

    def synced() -> bool:
        config = ask(client, side, "POST", "/v9/git-repo-config", body=False).body
        if config["status"] != "ready":
            # Ours waits for its back-off or a notification before it retries.
            ask(client, side, "POST", "/v11/notify", body=notify)
            return False
        tag = git.git(repo, "tag", "--points-at", side.head)
        return "flux-sync" in tag.split()

    wait_until(f"{side.name} fluxd to apply {side.head[:7]}", synced, timeout=timeout, interval=1)


def wait_rollouts(kube: Cluster, pair: Pair) -> None:
    for side in (pair.ours, pair.theirs):
        for workload in ROLLOUTS:
            args = ("rollout", "status", "-n", side.target, workload, "--timeout=120s")
            done = kube.kubectl(*args, check=False)
            if done.returncode != 0:
                raise TestbedError(f"{side.name}: {workload} did not roll out: {done.stderr}")


def run_sync_job(client: httpx.Client, pair: Pair, prefix: str = "") -> None:
    """``POST /v9/update-manifests`` a sync, then follow each job until it is done.

    Besides the first answer and the final job status, every status Flux v1
    reported on the way is kept for the recorder.
    """
    start = f"{prefix}POST /v9/update-manifests sync"
    ask_both(client, pair, Case(start, "POST", "/v9/update-manifests", SYNC_REQUEST))
    finals = []
    for index, side in enumerate((pair.ours, pair.theirs)):
        job_id = pair.answers[start][index].body
        path = f"/v6/jobs?id={job_id}"
        seen: list[Answer] = []

        def done(side: Side = side, path: str = path, seen: list[Answer] = seen) -> bool:
            seen.append(ask(client, side, "GET", path))
            return seen[-1].status != 200 or seen[-1].body["StatusString"] in (
                "succeeded",
                "failed",
            )

        wait_until(f"{side.name}'s sync job to finish", done, timeout=120, interval=0.05)
        finals.append(seen[-1])
        if side is pair.theirs:
            for answer in seen:
                state = answer.body.get("StatusString") if answer.status == 200 else "error"
                pair.theirs_job_states[f"{prefix}{state}"] = answer
    pair.answers[f"{prefix}GET /v6/jobs?id=<sync job>, finished"] = (finals[0], finals[1])


def ask_unconfigured(kube: Cluster, git: GitServer, client: httpx.Client, pair: Pair) -> None:
    """Both daemons once more without a git URL (watching the same namespaces)."""
    sfx = uuid.uuid4().hex[:6]
    theirs = start_fluxv1d(
        kube, git, namespace=f"fluxv1-nogit-{sfx}", target=pair.theirs.target, repo="",
        extra_args=("--ssh-keygen-type=ed25519",),
    )  # fmt: skip
    try:
        ours = start_host_fluxd(
            kube, namespace=f"flux-nogit-{sfx}", git_url="",
            extra_args=(f"--k8s-allow-namespace={pair.ours.target}", "--registry-disable-scanning"),
        )  # fmt: skip
    except BaseException:
        theirs.stop()
        raise
    bare = Pair(
        ours=Side("ours", ours.url, pair.ours.target, ours.namespace, ""),
        theirs=Side("theirs", theirs.url, pair.theirs.target, theirs.namespace, ""),
        answers=pair.answers,
        ours_daemon=ours,
        theirs_daemon=theirs,
    )
    try:
        for case in UNCONFIGURED_CASES:
            ask_both(client, bare, case)
        run_sync_job(client, bare, "unconfigured: ")
    finally:
        bare.stop()
        for namespace in (ours.namespace, theirs.namespace):
            kube.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def collect(kube: Cluster, git: GitServer) -> Pair:
    """Install both daemons and gather both answers to every case; see the module doc."""
    started = time.monotonic()
    pair = install_pair(kube, git)
    try:
        with httpx.Client(timeout=60) as client:
            for side in (pair.ours, pair.theirs):
                wait_clone_failed(client, side)
            for case in EARLY_CASES:
                ask_both(client, pair, case)
            run_sync_job(client, pair, "before sync: ")
            for side in (pair.ours, pair.theirs):
                wait_synced(client, git, side)
            wait_rollouts(kube, pair)
            for case in CASES:
                ask_both(client, pair, case)
            run_sync_job(client, pair)
            for case in LATE_CASES:
                ask_both(client, pair, case)
            ask_unconfigured(kube, git, client, pair)
    except BaseException:
        pair.stop(kube)
        raise
    pair.seconds = time.monotonic() - started
    return pair
