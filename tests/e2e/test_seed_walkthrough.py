"""The user's walkthrough against deploy/ on the test bed: identity, deploy
key, sync, nginx running, a pushed image change going live by itself.

It runs with our fluxctl and with Flux v1's own (1.25.4, built from the Go
module): the walkthrough was written for the latter."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fluxtestbed.fluxd_host import wait_for
from fluxtestbed.scenario import Installation, deployment_image, ready_pods, seed_files

pytestmark = [pytest.mark.cluster, pytest.mark.gitserver, pytest.mark.slow]


@pytest.fixture(params=["fluxpy", "fluxv1"])
def fluxctl_exe(request: pytest.FixtureRequest) -> Path | None:
    """Which fluxctl the user runs: ours (None) or Flux v1's Go program."""
    if request.param == "fluxv1":
        return Path(request.getfixturevalue("fluxv1").fluxctl)
    return None


def test_the_seed_walkthrough_works_step_by_step(
    installation_factory: Callable[..., Installation], fluxctl_exe: Path | None
) -> None:
    inst = installation_factory(
        files=seed_files("1.17.7"), extra_args=("--git-poll-interval=1s", "--sync-interval=1m")
    )

    # Before the deploy key is registered the repo cannot be cloned, and sync says so.
    not_ready = inst.fluxctl("sync", timeout=60, exe=fluxctl_exe)
    assert not_ready.returncode != 0
    assert "is not ready to sync" in not_ready.stderr

    key = inst.authorize_deploy_key(exe=fluxctl_exe)
    assert key.startswith("ssh-ed25519 ")

    wait_for(
        "the repo to become ready once the key is registered",
        lambda: inst.fluxctl("sync", exe=fluxctl_exe).returncode == 0,
        timeout=90,
        interval=1.0,
    )
    head = inst.git.git(inst.repo, "rev-parse", "master").strip()
    synced = inst.fluxctl("sync", exe=fluxctl_exe)
    assert synced.returncode == 0, synced.stderr
    lines = synced.stderr.strip().splitlines()
    assert lines == [
        f"Synchronizing with {inst.git.ssh_url(inst.repo)}",
        f"Revision of master to apply is {head[:7]}",
        f"Waiting for {head[:7]} to be applied ...",
        "Done.",
    ]

    wait_for("3 Ready nginx pods", lambda: len(ready_pods(inst.kube, inst.target)) == 3, timeout=60)
    service = inst.kube.kubectl(
        "get", "svc", "nginx-service", "-n", inst.target, "-o", "jsonpath={.spec.type}"
    ).stdout
    assert service == "NodePort"
    tag = inst.git.git(inst.repo, "rev-parse", "flux-sync^{commit}").strip()
    assert tag == head

    # Change the image in git and push: polling (1s) makes it live by itself.
    new_head = inst.git.push_files(inst.repo, seed_files("1.16.1"), "change the version 1.16")
    wait_for(
        "nginx:1.16.1 to be live",
        lambda: deployment_image(inst.kube, inst.target) == "nginx:1.16.1",
        timeout=30,
    )
    wait_for(
        "the flux-sync tag to move to the new commit",
        lambda: inst.git.git(inst.repo, "rev-parse", "flux-sync^{commit}").strip() == new_head,
        timeout=30,
    )
    replica_sets = inst.kube.kubectl(
        "get", "rs", "-n", inst.target, "-l", "app=nginx", "-o", "name"
    ).stdout.split()
    assert len(replica_sets) == 2

    workloads = inst.fluxctl("list-workloads", "-n", inst.target, exe=fluxctl_exe)
    assert workloads.returncode == 0, workloads.stderr
    assert f"{inst.target}:deployment/nginx-deployment" in workloads.stdout
    assert "nginx:1.16.1" in workloads.stdout
