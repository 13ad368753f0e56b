"""fluxctl against the real fluxd: failures are listed, --url needs no cluster."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from fluxtestbed.fluxd_host import wait_for
from fluxtestbed.scenario import Installation, seed_files

pytestmark = [pytest.mark.cluster, pytest.mark.gitserver, pytest.mark.slow]

BAD_DEPLOYMENT = """\
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


def _synced(factory: Callable[..., Installation]) -> Installation:
    inst = factory(files=seed_files("1.17.7"), extra_args=("--git-poll-interval=1s",))
    inst.authorize_deploy_key()
    wait_for("a first good sync", lambda: inst.fluxctl("sync").returncode == 0, timeout=90)
    return inst


def test_sync_lists_the_resources_that_failed_and_exits_non_zero(
    installation_factory: Callable[..., Installation],
) -> None:
    inst = _synced(installation_factory)
    head = inst.git.push_files(
        inst.repo,
        {"broken.yaml": BAD_DEPLOYMENT, "unparsable.yaml": "kind: [\n"},
        "a bad deployment and a bad file",
    )
    out = inst.fluxctl("sync")
    assert out.returncode == 1
    assert f"Revision of master to apply is {head[:7]}" in out.stderr
    assert "Done." not in out.stderr
    assert f"{inst.target}:deployment/broken" in out.stderr
    assert "broken.yaml" in out.stderr
    assert "unparsable.yaml" in out.stderr


def test_commands_work_with_url_and_no_cluster_connection(
    installation_factory: Callable[..., Installation], tmp_path: Path
) -> None:
    inst = _synced(installation_factory)
    fluxctl = Path(sys.executable).with_name("fluxctl")
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "no-such-kubeconfig")}
    for args in (["identity"], ["sync"], ["list-workloads", "-a"]):
        out = subprocess.run(
            [str(fluxctl), "--url", inst.daemon.url, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert out.returncode == 0, (args, out.stderr)
    assert "nginx:1.17.7" in out.stdout
