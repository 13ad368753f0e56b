"""Scenarios of the end-to-end tests and the demo: the seed's nginx repo, installed."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxtestbed.fluxd_host import HostFluxd, fluxctl, start_host_fluxd
from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster

NGINX_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
  labels:
    app: nginx
spec:
  replicas: 3
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:{version}
        ports:
        - containerPort: 80
"""

NGINX_SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: nginx-service
spec:
  type: NodePort
  selector:
    app: nginx
  ports:
  - port: 80
    targetPort: 80
"""


@dataclass
class Installation:
    """fluxd installed from deploy/ into ``namespace``, syncing ``repo`` into ``target``."""

    kube: Cluster
    git: GitServer
    repo: str
    namespace: str
    target: str
    daemon: HostFluxd

    def fluxctl(
        self, *args: str, timeout: float = 120, exe: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """fluxctl as the user runs it: ``fluxctl <args> --k8s-fwd-ns <namespace>``.

        ``exe`` is another fluxctl program (Flux v1's), ours by default.
        """
        return fluxctl(
            *args,
            "--k8s-fwd-ns",
            self.namespace,
            kubeconfig=self.kube.kubeconfig,
            timeout=timeout,
            exe=exe,
        )

    def authorize_deploy_key(self, exe: Path | None = None) -> str:
        """The user's step: take `fluxctl identity` and add it as a deploy key."""
        out = self.fluxctl("identity", exe=exe)
        if out.returncode != 0:
            raise AssertionError(f"fluxctl identity failed: {out.stderr}")
        key = out.stdout.strip()
        self.git.authorize(key)
        return key

    def remove(self) -> None:
        """Stop fluxd and delete both namespaces (without waiting)."""
        self.daemon.stop()
        for ns in (self.namespace, self.target):
            self.kube.kubectl(
                "delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False
            )


def install(
    kube: Cluster,
    git: GitServer,
    *,
    files: dict[str, str],
    extra_args: tuple[str, ...] = (),
    host_args: tuple[str, ...] = (),
    known_hosts: bool = True,
) -> Installation:
    """A repo with ``files`` on ``git`` and fluxd installed from deploy/ to sync it.

    With ``known_hosts=False`` fluxd starts without the git server's host key.
    """
    suffix = uuid.uuid4().hex[:6]
    repo, namespace, target = f"seed-{suffix}", f"flux-{suffix}", f"apps-{suffix}"
    git.create_repo(repo)
    git.push_files(repo, files, "Add the nginx demo")
    kube.kubectl("create", "namespace", target)
    daemon = start_host_fluxd(
        kube,
        namespace=namespace,
        git_url=git.ssh_url(repo),
        known_hosts=git.known_hosts_lines() if known_hosts else (),
        extra_args=(f"--k8s-default-namespace={target}", *extra_args),
        host_args=host_args,
        runner="auto",
    )
    return Installation(kube, git, repo, namespace, target, daemon)


@contextmanager
def installations(kube: Cluster, git: GitServer) -> Iterator[Callable[..., Installation]]:
    """``install`` bound to ``kube`` and ``git``; what it made is removed on exit."""
    made: list[Installation] = []

    def make(**kwargs: Any) -> Installation:
        inst = install(kube, git, **kwargs)
        made.append(inst)
        return inst

    try:
        yield make
    finally:
        for inst in made:
            inst.remove()


def seed_files(version: str = "1.17.7") -> dict[str, str]:
    """The seed's repo: an nginx Deployment (3 replicas) and a NodePort Service."""
    return {
        "nginx-deployment-flux.yaml": NGINX_DEPLOYMENT.format(version=version),
        "nginx-service.yaml": NGINX_SERVICE,
    }


def deployment_image(kube: Cluster, namespace: str, name: str = "nginx-deployment") -> str:
    out = kube.kubectl(
        "get",
        "deployment",
        name,
        "-n",
        namespace,
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
        check=False,
    )
    return out.stdout if out.returncode == 0 else ""


def ready_pods(kube: Cluster, namespace: str, selector: str = "app=nginx") -> list[str]:
    out = kube.kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json").stdout
    pods = json.loads(out)["items"]
    return [
        p["metadata"]["name"]
        for p in pods
        if not p["metadata"].get("deletionTimestamp")
        and any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in p["status"].get("conditions", [])
        )
    ]
