"""``python -m fluxtestbed.image_figures``: the figures of docs/deploy.md's image section.

On the local test bed: the image's size, the time from the engine's ``run``
to fluxd's ``/healthz`` answering 200 (the pod's container as
fluxtestbed.container starts it, several times), and fluxd's memory once it
has synced the walkthrough's repo and sits idle. The build times are measured
with ``time make image`` (see docs/deploy.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import cast

from fluxtestbed.container import container_runner
from fluxtestbed.fluxd_host import HostFluxd, fluxctl, start_host_fluxd, wait_for
from fluxtestbed.gitserver import GitServer
from fluxtestbed.image import TAG, Engine
from fluxtestbed.kube import Cluster, start_cluster
from fluxtestbed.procs import TestbedError, start
from fluxtestbed.scenario import deployment_image, seed_files

# Runs inside the container: fluxd's resident memory (tini is PID 1).
_RSS = """
import os
for pid in filter(str.isdigit, os.listdir("/proc")):
    cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\\0")
    if any(part.endswith(b"/fluxd") for part in cmd[:2]):
        print(next(l for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS")).split()[1])
"""


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
            return int(resp.status) == 200
    except OSError:
        return False


def start_to_healthz(daemon: HostFluxd, runs: int) -> list[float]:
    """Restart fluxd ``runs`` times with the same command line; seconds to /healthz each.

    For the container that is the engine's ``run``; for a host process, python.
    """
    # The same name each time: the stopped container is gone (--rm) first.
    argv = list(cast(list[str], daemon.process.popen.args))
    took = []
    for _ in range(runs):
        daemon.stop()
        began = time.monotonic()
        daemon.process = start("fluxd", argv, logdir=daemon.workdir)
        while not _healthy(daemon.port):
            daemon.process.check()
            if time.monotonic() - began > 60:
                raise TestbedError("fluxd did not answer /healthz within 60s")
            time.sleep(0.01)
        took.append(time.monotonic() - began)
    return took


def idle_rss_kib(engine: Engine, cluster: Cluster, git: GitServer, daemon: HostFluxd) -> int:
    """fluxd's VmRSS after it synced the seed repo and idled for 30 s."""
    key = fluxctl("identity", "--k8s-fwd-ns", daemon.namespace, kubeconfig=cluster.kubeconfig)
    git.authorize(key.stdout.strip())
    wait_for(
        "the seed repo to be applied",
        lambda: deployment_image(cluster, "default") == "nginx:1.17.7",
        timeout=120,
        interval=1.0,
    )
    time.sleep(30)  # idle: no sync pass in flight
    out = engine.run("exec", daemon.container, "python3", "-c", _RSS).stdout
    return int(out.split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m fluxtestbed.image_figures")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    engine = container_runner()
    if engine is None:
        raise SystemExit("no container engine: nothing to measure")
    size = int(engine.run("image", "inspect", "--format", "{{.Size}}", TAG).stdout)
    print(f"image {TAG}: {size / 1e6:.0f} MB uncompressed")
    workdir = Path(tempfile.mkdtemp(prefix="fluxpy-demo-figures-"))
    cluster, git = start_cluster(workdir / "kube"), GitServer().start()
    try:
        git.create_repo("figures")
        git.push_files("figures", seed_files("1.17.7"), "nginx")
        daemon = start_host_fluxd(
            cluster,
            namespace="flux",
            git_url=git.ssh_url("figures"),
            known_hosts=git.known_hosts_lines(),
            runner="auto",
        )
        host = start_host_fluxd(
            cluster, namespace="flux-host", git_url=git.ssh_url("figures"), runner="host"
        )
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        for what, fluxd in (("podman run", daemon), ("host process", host)):
            took = start_to_healthz(fluxd, args.runs)
            print(
                f"{what} -> /healthz 200: median {statistics.median(took):.2f}s, "
                f"max {max(took):.2f}s over {len(took)} starts"
            )
        host.stop()
        print(f"idle RSS of fluxd: {idle_rss_kib(engine, cluster, git, daemon) / 1024:.0f} MiB")
        daemon.stop()
    finally:
        git.stop()
        cluster.stop()


if __name__ == "__main__":
    main()
