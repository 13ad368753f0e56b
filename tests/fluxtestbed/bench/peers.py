"""Flux v1's fluxd and ``kubectl apply --server-side`` as peers of fluxd.

Each runs with a kubeconfig user of its own (``bench-fluxv1``,
``bench-kubectl``), so the audit log tells its writes from everyone else's.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxtestbed.bench.objects import RepoSet
from fluxtestbed.fluxv1 import find_fluxv1_binaries
from fluxtestbed.fluxv1d import SECRET_NAME, FluxV1Daemon, start_fluxv1d
from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster
from fluxtestbed.procs import TestbedError, start, wait_until

FLUXV1_USER = "bench-fluxv1"
KUBECTL_USER = "bench-kubectl"
#: As ours runs: garbage collection on, no timer-driven fetch or pass while measuring.
#: Its sync and git timeouts (default 1 min and 20 s) are raised: at N = 5,000 its
#: ``kubectl apply`` alone takes over a minute, and the ``git notes`` step after it then
#: ran out of the pass's time, failing every pass, which measures nothing.
FLUXV1_FLAGS = (
    "--sync-garbage-collection",
    "--git-poll-interval=1h",
    "--sync-interval=1h",
    "--sync-timeout=30m",
    "--git-timeout=5m",
)
# Successful passes only: one that found no clone yet is counted too, with success="false".
_SYNC_METRIC = re.compile(
    r'^flux_daemon_sync_duration_seconds_(sum|count)\{[^}]*success="true"[^}]*\} (\S+)', re.M
)


@dataclass
class FluxV1:
    """Flux v1's fluxd 1.25.4 syncing every namespace from its own repo."""

    kube: Cluster
    git: GitServer
    repo: str
    daemon: FluxV1Daemon

    @classmethod
    def start(cls, kube: Cluster, git: GitServer, run: str) -> FluxV1:
        repo = f"bench-{run}"
        git.create_repo(repo)
        git.push_files(repo, {"README.md": "Objects of the benchmark go here.\n"}, "empty repo")
        daemon = start_fluxv1d(
            kube,
            git,
            namespace=f"fluxv1-{run}",
            target=None,
            repo=repo,
            extra_args=FLUXV1_FLAGS,
            kubeconfig=kube.client_kubeconfig(FLUXV1_USER),
        )
        peer = cls(kube, git, repo, daemon)
        try:
            peer.accept_key()
        except BaseException:
            daemon.stop()
            raise
        return peer

    def accept_key(self, timeout: float = 120) -> None:
        """Let its first clone fail, accept its key, then wait until its mirror is ready.

        Its key is the one in the identity Secret only after that first attempt.
        """
        config = ("POST", "/v9/git-repo-config", False)
        wait_until(
            "Flux v1 to try its first clone",
            lambda: bool(self.daemon.call(*config)[1]["errors"]),
            timeout=60,
            watch=[self.daemon.process],
        )
        status, body = self.daemon.call("GET", "/v6/identity.pub")
        if status != 200:
            raise TestbedError(f"Flux v1's identity: {status} {body}")
        self.git.authorize(str(body["key"]).strip())
        notify = {"Kind": "git", "Source": {"URL": self.git.ssh_url(self.repo), "Branch": "master"}}

        def ready() -> bool:
            if self.daemon.call(*config)[1]["status"] == "ready":
                return True
            self.daemon.call("POST", "/v11/notify", notify)
            return False

        wait_until(
            "Flux v1's git mirror", ready, timeout=timeout, interval=1, watch=[self.daemon.process]
        )
        self.sync(timeout=300)

    @property
    def pid(self) -> int:
        return self.daemon.process.popen.pid

    def sync(self, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
        """``fluxctl sync`` with the Go fluxctl: fetch, apply and wait until applied."""
        fluxctl = find_fluxv1_binaries().fluxctl
        out = subprocess.run(
            [str(fluxctl), "--url", self.daemon.url, "sync", f"--timeout={int(timeout)}s"],
            capture_output=True,
            text=True,
            timeout=timeout + 30,
            check=False,
        )
        if out.returncode != 0:
            raise TestbedError(f"Flux v1's fluxctl sync failed: {out.stderr.strip()[-1000:]}")
        return out

    def sync_metric(self) -> tuple[float, int]:
        """(sum of seconds, count) of Flux v1's successful sync passes, from its metrics."""
        port = next(
            a.rsplit(":", 1)[1] for a in self._argv() if str(a).startswith("--listen-metrics=")
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
            text = resp.read().decode()
        values: dict[str, float] = {"sum": 0.0, "count": 0.0}
        for kind, value in _SYNC_METRIC.findall(text):
            values[kind] += float(value)
        return values["sum"], int(values["count"])

    def restart(self) -> None:
        """Same flags, key and HOME: the first thing it does is a full pass (nothing new)."""
        argv = self._argv()
        self._mount_identity()
        self.daemon.process.stop()
        home = self.daemon.workdir / "home"
        env = {"HOME": str(home), "FLUXV1_NAMESPACE": self.daemon.namespace,
               "CHECKPOINT_DISABLE": "1"}  # fmt: skip
        self.daemon.process = start("fluxv1d", argv, logdir=self.daemon.workdir, env=env)
        wait_until(
            "Flux v1's fluxd to answer again",
            lambda: self.daemon.call("GET", "/v11/version")[0] == 200,
            timeout=60,
            watch=[self.daemon.process],
        )

    def _mount_identity(self) -> None:
        """The identity Secret where a pod has it mounted: else a restart makes a new key."""
        out = self.kube.kubectl(
            "get", "secret", SECRET_NAME, "-n", self.daemon.namespace,
            "-o", "jsonpath={.data.identity}",
        )  # fmt: skip
        mount = next(
            Path(a.split("=", 1)[1])
            for a in self._argv()
            if a.startswith("--k8s-secret-volume-mount-path=")
        )
        (mount / "identity").write_bytes(base64.b64decode(out.stdout))
        (mount / "identity").chmod(0o600)

    def wait_passes(self, count: int, timeout: float = 1800) -> None:
        deadline = time.monotonic() + timeout
        while self.sync_metric()[1] < count:
            self.daemon.process.check()
            if time.monotonic() > deadline:
                raise TestbedError(f"Flux v1 made no sync pass in {timeout:.0f}s")
            time.sleep(0.1)

    def _argv(self) -> list[str]:
        args = self.daemon.process.popen.args
        assert isinstance(args, list)
        return [str(a) for a in args]

    def stop(self) -> None:
        self.daemon.stop()


def kubectl_apply(kube: Cluster, repo: RepoSet) -> dict[str, Any]:
    """``kubectl apply --server-side -R -f <dir>`` of the repo's files, timed, own user."""
    kubeconfig = kube.client_kubeconfig(KUBECTL_USER)
    with tempfile.TemporaryDirectory(prefix="bench-kubectl-") as scratch:
        root = Path(scratch)
        for rel, text in repo.files().items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        argv = [str(kube.kubectl_path), f"--kubeconfig={kubeconfig}", "apply", "--server-side",
                "-R", "-f", str(root)]  # fmt: skip
        began = time.monotonic()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(argv, stdout=out, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.monotonic() - began
            proc.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise TestbedError(f"kubectl apply failed: {stderr[-2000:]}")
    return {
        "wall_s": round(wall, 3),
        "applied": stdout.count("serverside-applied"),
        "tool_cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_mib": round(usage.ru_maxrss / 1024, 1),
    }
