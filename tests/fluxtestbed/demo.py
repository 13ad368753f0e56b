"""``make demo``: the seed's walkthrough, run for real on the local test bed.

1. Start the control plane (etcd, kube-apiserver, controller-manager,
   scheduler, kwok) and the git server (sshd) on 127.0.0.1.
2. Create the user's repo: an nginx Deployment (3 replicas, nginx:1.17.7) and
   a NodePort Service.
3. ``kubectl apply -f deploy`` with ``--git-url`` pointing at that repo; the
   ``flux`` pod runs on a kwok node and its port 3030 is served by fluxd on
   this host.
4. ``fluxctl identity --k8s-fwd-ns flux``, then register the key with the git
   server, as one adds a deploy key.
5. ``fluxctl sync --k8s-fwd-ns flux``; ``kubectl get po,svc``.
6. Change nginx 1.17 -> 1.16 in git, push; the git host's push webhook makes
   it live; ``fluxctl list-workloads`` shows the new image.

Everything is stopped at the end (with ``--keep``, when you press Ctrl-C);
``make demo-down`` stops whatever an interrupted demo left behind.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path

from fluxtestbed.fluxd_host import HostFluxd, fluxctl, start_host_fluxd, wait_for
from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster, start_cluster
from fluxtestbed.scenario import deployment_image, ready_pods, seed_files

WEBHOOK_SECRET = "demo-webhook-secret"
REPO = "flux-get-started"


def say(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def show(command: str, output: str) -> None:
    print(f"$ {command}")
    if output.strip():
        print(output.rstrip())
    sys.stdout.flush()


def run_fluxctl(cluster: Cluster, *args: str) -> str:
    out = fluxctl(*args, kubeconfig=cluster.kubeconfig)
    text = out.stdout + out.stderr
    show("fluxctl " + shlex.join(args), text)
    if out.returncode != 0:
        raise SystemExit(f"demo failed at: fluxctl {shlex.join(args)} (exit {out.returncode})")
    return out.stdout


def kubectl(cluster: Cluster, *args: str) -> str:
    out = cluster.kubectl(*args)
    show("kubectl " + shlex.join(args), out.stdout)
    return out.stdout


def push_webhook(daemon: HostFluxd, git: GitServer, head: str) -> None:
    """What a git host does after a push: a signed GitHub-style push event."""
    body = json.dumps(
        {
            "ref": "refs/heads/master",
            "after": head,
            "repository": {"ssh_url": git.ssh_url(REPO), "clone_url": git.http_url(REPO)},
        }
    ).encode()
    signature = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": signature,
    }
    status = daemon.post("/hook/github", body, headers)
    print(f"(git host) POST /hook/github -> {status}")


def walkthrough(cluster: Cluster, git: GitServer) -> None:
    say("The user's repo: nginx Deployment (3 replicas, nginx:1.17.7) + NodePort Service")
    git.create_repo(REPO)
    git.push_files(REPO, seed_files("1.17.7"), "nginx demo")
    print(f"git remote: {git.ssh_url(REPO)}")

    say("kubectl apply -f deploy  (with --git-url set to the repo)")
    daemon = start_host_fluxd(
        cluster,
        namespace="flux",
        git_url=git.ssh_url(REPO),
        known_hosts=git.known_hosts_lines(),
        extra_args=("--git-poll-interval=5m",),
        host_args=(f"--webhook-secret={WEBHOOK_SECRET}",),
        runner="auto",
    )
    kubectl(cluster, "get", "po", "-n", "flux")

    say("fluxctl identity, then add the key to the git server (a deploy key with write access)")
    key = run_fluxctl(cluster, "identity", "--k8s-fwd-ns", "flux").strip()
    git.authorize(key)

    say("fluxctl sync")
    wait_for("the repo to be ready", lambda: _git_ready(cluster), timeout=90, interval=1.0)
    run_fluxctl(cluster, "sync", "--k8s-fwd-ns", "flux")
    wait_for("3 Ready nginx pods", lambda: len(ready_pods(cluster, "default")) == 3, timeout=60)
    kubectl(cluster, "get", "po,svc", "-n", "default")

    say("Change nginx 1.17 -> 1.16 in git, commit, push")
    began = time.monotonic()
    head = git.push_files(REPO, seed_files("1.16.1"), "change the version 1.16")
    print(f"pushed {head[:7]}")
    push_webhook(daemon, git, head)
    wait_for(
        "nginx:1.16.1 to be live",
        lambda: deployment_image(cluster, "default") == "nginx:1.16.1",
        timeout=60,
        interval=0.05,
    )
    print(f"live {time.monotonic() - began:.2f}s after the push, without fluxctl sync")
    run_fluxctl(cluster, "list-workloads", "--k8s-fwd-ns", "flux", "-n", "default")
    daemon.stop()


def _git_ready(cluster: Cluster) -> bool:
    out = fluxctl("sync", "--k8s-fwd-ns", "flux", "--timeout=20s", kubeconfig=cluster.kubeconfig)
    return "not ready to sync" not in out.stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--keep", action="store_true", help="leave the cluster and git server running"
    )
    args = parser.parse_args(argv)
    began = time.monotonic()
    say("Starting the local test bed (builds Kubernetes on the first run)")
    workdir = Path(tempfile.mkdtemp(prefix="fluxpy-demo-"))
    cluster = start_cluster(workdir / "kube")
    git = GitServer().start()
    try:
        walkthrough(cluster, git)
        say(f"Demo complete in {time.monotonic() - began:.0f}s")
    finally:
        if args.keep:
            print(f"\nStill running; kubeconfig: {cluster.kubeconfig}. Press Ctrl-C to stop.")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        git.stop()
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
