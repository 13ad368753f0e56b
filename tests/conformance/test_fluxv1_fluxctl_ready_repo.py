"""Flux v1's fluxctl 1.25.4 against our fluxd, with a repo fluxd can sync.

Each command prints what our fluxctl prints for it (stdout, stderr and exit
code), except where docs/references/api.md ("Differences from Flux v1")
says why not. The commands that write to git (release, lock, policy, ...)
are in test_fluxv1_fluxctl_writes.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from fluxd import __version__
from fluxtestbed.fluxd_host import wait_for
from fluxtestbed.fluxv1 import VERSION, FluxV1Binaries, Pair
from fluxtestbed.scenario import Installation, ready_pods, seed_files

pytestmark = [pytest.mark.cluster, pytest.mark.gitserver, pytest.mark.slow]

TWO_CONTAINERS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    fluxcd.io/locked: "true"
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.17.7
      - name: logger
        image: busybox:1.36
"""

BROKEN = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
spec:
  replicas: -1
  selector:
    matchLabels: {app: broken}
  template:
    metadata:
      labels: {app: broken}
    spec:
      containers:
      - name: main
        image: nginx:1.17.7
"""


@pytest.fixture(scope="module")
def pair(install_module: Callable[..., Installation], fluxv1: FluxV1Binaries) -> Pair:
    """fluxd synced with the seed's nginx and a two-container workload, all pods ready."""
    inst = install_module(files={**seed_files("1.17.7"), "web.yaml": TWO_CONTAINERS})
    inst.authorize_deploy_key()
    wait_for("a first good sync", lambda: inst.fluxctl("sync").returncode == 0, timeout=90)
    wait_for("3 Ready nginx pods", lambda: len(ready_pods(inst.kube, inst.target)) == 3, timeout=60)
    wait_for("1 Ready web pod", lambda: len(ready_pods(inst.kube, inst.target, "app=web")) == 1)
    return Pair(inst, fluxv1.fluxctl)


def assert_same(go, ours) -> None:
    assert (go.returncode, go.stdout, go.stderr) == (ours.returncode, ours.stdout, ours.stderr)


def assert_same_json(go, ours) -> None:
    """Equal JSON, once the zero values Go's encoder adds are left out.

    Flux v1's fluxctl re-encodes the structs it decoded, so every field of
    its Go types appears (``"LatestFiltered": {"ID": ""}``, ``"Messages":
    null``) whether fluxd sent it or not; ours prints what fluxd sent.
    """
    assert (go.returncode, go.stderr) == (ours.returncode, ours.stderr)
    assert without_empty(json.loads(go.stdout)) == without_empty(json.loads(ours.stdout))


def without_empty(value: Any) -> Any:
    if isinstance(value, dict):
        kept = {key: without_empty(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item not in ("", None, {}, [])}
    if isinstance(value, list):
        return [without_empty(item) for item in value]
    return value


def test_version_prints_the_program_version_only(pair: Pair) -> None:
    go, ours = pair.go("version"), pair.ours("version")
    assert (go.returncode, go.stdout, go.stderr) == (0, f"{VERSION}\n", "")
    assert (ours.returncode, ours.stdout, ours.stderr) == (0, f"{__version__}\n", "")


@pytest.mark.parametrize(
    "flags",
    [(), ("-l",), ("-v",), ("--fingerprint", "--visual")],
    ids=lambda f: " ".join(f) or "plain",
)
def test_identity_prints_the_same_key_or_fingerprint(pair: Pair, flags: tuple[str, ...]) -> None:
    go, ours = pair.go("identity", *flags), pair.ours("identity", *flags)
    assert go.returncode == 0, go.stderr
    assert_same(go, ours)


def test_sync_prints_the_seed_walkthroughs_four_lines(pair: Pair) -> None:
    go, ours = pair.go("sync"), pair.ours("sync")
    head = pair.inst.git.git(pair.inst.repo, "rev-parse", "master").strip()
    assert (go.returncode, go.stdout) == (0, "")
    assert go.stderr.splitlines() == [
        f"Synchronizing with {pair.inst.git.ssh_url(pair.inst.repo)}",
        f"Revision of master to apply is {head[:7]}",
        f"Waiting for {head[:7]} to be applied ...",
        "Done.",
    ]
    assert_same(go, ours)


LIST_WORKLOADS = [
    (),  # the kubeconfig context's namespace, else "default": nothing of ours there
    ("-n", "{target}"),
    ("--namespace", "{target}", "--no-headers"),
    ("-a",),
    ("-n", "{target}", "-c", "logger"),
    ("-n", "{target}", "-c", "no-such-container"),
    ("-n", "{target}", "-o", "json"),
    ("-n", "no-such-namespace"),
]


@pytest.mark.parametrize("flags", LIST_WORKLOADS, ids=lambda f: " ".join(f) or "no flags")
def test_list_workloads_prints_the_same(pair: Pair, flags: tuple[str, ...]) -> None:
    args = [flag.format(target=pair.inst.target) for flag in flags]
    go, ours = pair.settled("list-workloads", *args)
    assert go.returncode == 0, go.stderr
    if "json" in args:
        assert_same_json(go, ours)
    else:
        assert_same(go, ours)
    listed = "web" if "logger" in args else "nginx-deployment"
    if args and "no-such" not in " ".join(args):
        assert f"{pair.inst.target}:deployment/{listed}" in go.stdout


LIST_IMAGES = [
    ("-n", "{target}"),
    ("-n", "{target}", "--no-headers"),
    ("-w", "{target}:deployment/web"),
    ("-n", "{target}", "-w", "deployment/web"),
    ("-n", "{target}", "-l", "1"),
    ("-n", "{target}", "-o", "json"),
]


@pytest.mark.parametrize("flags", LIST_IMAGES, ids=" ".join)
def test_list_images_prints_the_same(pair: Pair, flags: tuple[str, ...]) -> None:
    args = [flag.format(target=pair.inst.target) for flag in flags]
    go, ours = pair.settled("list-images", *args)
    assert go.returncode == 0, go.stderr
    if "json" in args:
        assert_same_json(go, ours)
    else:
        assert_same(go, ours)
    assert "nginx" in go.stdout


def test_save_writes_the_workloads_from_fluxds_export(pair: Pair) -> None:
    go = pair.go("save")
    assert (go.returncode, go.stderr) == (0, ""), go.stderr
    assert "name: nginx-deployment" in go.stdout
    assert f"namespace: {pair.inst.target}" in go.stdout
    # The pod template stays where a Deployment keeps it, so the file applies again.
    assert "template:" in go.stdout
    assert_same(go, pair.ours("save"))


USAGE_ERRORS = [
    (("list-workloads", "-o", "yaml"), "invalid output format specified"),
    (("list-images", "-w", "nope"), "parsing nope: invalid service ID"),
    (("identity", "extra"), "expected no (non-flag) arguments"),
    (("sync", "extra"), "expected no (non-flag) arguments"),
]


@pytest.mark.parametrize(("command", "message"), USAGE_ERRORS, ids=lambda c: " ".join(c))
def test_usage_errors_are_refused_by_both_ours_with_exit_2(
    pair: Pair, command: tuple[str, ...], message: str
) -> None:
    go, ours = pair.go(*command), pair.ours(*command)
    assert (go.returncode, go.stdout) == (1, "")
    assert go.stderr == f"Error: {message}\nRun 'fluxctl {command[0]} --help' for usage.\n"
    # Ours: click's usage line and exit 2, so scripts tell misuse from failure.
    assert (ours.returncode, ours.stdout) == (2, "")
    assert ours.stderr.startswith(f"Usage: fluxctl {command[0]} [OPTIONS]")
    assert "\nError: " in ours.stderr


def test_sync_with_a_failing_manifest_is_done_for_flux_v1_and_listed_by_ours(pair: Pair) -> None:
    inst = pair.inst
    head = inst.git.push_files(inst.repo, {"broken.yaml": BROKEN}, "a deployment that fails")
    go, ours = pair.go("sync"), pair.ours("sync")
    # Flux v1's fluxctl waits only for the revision to be applied; ours also asks
    # which resources failed (an extension) and exits 1 listing them.
    assert (go.returncode, go.stdout) == (0, "")
    assert go.stderr.splitlines() == [
        f"Synchronizing with {inst.git.ssh_url(inst.repo)}",
        f"Revision of master to apply is {head[:7]}",
        f"Waiting for {head[:7]} to be applied ...",
        "Done.",
    ]
    assert ours.returncode == 1
    assert ours.stderr.startswith("\n".join(go.stderr.splitlines()[:3]) + "\n")
    assert f"{inst.target}:deployment/broken" in ours.stderr
    assert "broken.yaml" in ours.stderr
