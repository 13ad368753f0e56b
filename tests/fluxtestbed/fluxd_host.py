"""Run the product the way a user deploys it, with fluxd itself on this host.

``deploy/`` is applied to the test bed's cluster as it is (the Deployment's
git URL swapped for the local git server's, as a user edits it). kwok runs
the ``flux`` pod; a kwok PortForward routes that pod's port 3030 to a fluxd
process on 127.0.0.1, started with the Deployment's own args and the
ServiceAccount token of the ``flux`` account, so RBAC of deploy/ is real.
fluxctl then finds the pod by label and port-forwards to it through the API
server, exactly as against a real cluster.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from fluxtestbed import container
from fluxtestbed.deploydocs import deploy_documents
from fluxtestbed.image import Engine
from fluxtestbed.kube import Cluster
from fluxtestbed.procs import Process, TestbedError, free_port, log_tail, start, wait_until

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class HostFluxd:
    """A fluxd process standing in for the ``flux`` pod of a deploy/ install."""

    namespace: str
    pod: str
    port: int
    metrics_port: int
    process: Process
    workdir: Path
    # Set when the pod runs from the fluxd image (fluxtestbed.container).
    engine: Engine | None = None
    container: str = ""
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/flux"

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as resp:
            return json.loads(resp.read() or b"null")

    def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> int:
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=body, method="POST"
        )
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)

    def log(self) -> str:
        return log_tail(self.process.log, 60)

    def stop(self) -> None:
        if self.engine is not None:
            container.stop_container(self.engine, self.container, self.process)
        else:
            self.process.stop()

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a node failure ends a pod: no clean-up at all."""
        os.killpg(self.process.popen.pid, signal.SIGKILL)
        self.process.popen.wait(10)

    def restart(self) -> None:
        """Start fluxd again with the same arguments, as kubelet restarts a container."""
        argv = [str(a) for a in cast("list[str]", self.process.popen.args)]
        if self.engine is not None:
            raise TestbedError(
                "restart() runs fluxd as a host process; start it with runner='host'"
            )
        self.process = start("fluxd", argv, logdir=self.workdir, env=self.env)
        _wait_healthy(self)

    def peak_rss_mib(self) -> float:
        """The process's peak resident memory so far (VmHWM), in MiB."""
        status = Path(f"/proc/{self.process.popen.pid}/status").read_text()
        kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
        return int(kib) / 1024

    def readyz(self) -> dict[str, Any]:
        """fluxd's own account of its git repo and last sync (GET /readyz)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=10) as resp:
            report: dict[str, Any] = json.loads(resp.read())
            return report


def _service_account_kubeconfig(cluster: Cluster, namespace: str, path: Path) -> Path:
    token = cluster.kubectl(
        "create", "token", "flux", "-n", namespace, "--duration=24h"
    ).stdout.strip()
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    server = admin["clusters"][0]["cluster"]
    conf = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "testbed", "cluster": server}],
        "users": [{"name": "flux", "user": {"token": token}}],
        "contexts": [
            {
                "name": "flux",
                "context": {"cluster": "testbed", "user": "flux", "namespace": namespace},
            }
        ],
        "current-context": "flux",
    }
    path.write_text(yaml.safe_dump(conf))
    path.chmod(0o600)
    return path


def _pod_of_deployment(cluster: Cluster, namespace: str) -> str:
    cluster.kubectl(
        "wait", "-n", namespace, "--for=condition=Available", "deployment/flux", "--timeout=60s"
    )
    names = cluster.kubectl(
        "get",
        "pods",
        "-n",
        namespace,
        "-l",
        "name=flux",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ).stdout.split()
    if len(names) != 1:
        raise TestbedError(f"expected one flux pod in {namespace}, found {names}")
    return names[0]


def _deployment_container(cluster: Cluster, namespace: str) -> dict[str, Any]:
    out = cluster.kubectl("get", "deployment", "flux", "-n", namespace, "-o", "json").stdout
    return dict(json.loads(out)["spec"]["template"]["spec"]["containers"][0])


def _deployment_args(cluster: Cluster, namespace: str) -> list[str]:
    return list(_deployment_container(cluster, namespace)["args"])


def _malloc_env(cluster: Cluster, namespace: str) -> dict[str, str]:
    """glibc's tuning variables the Deployment sets, so a host fluxd's memory is
    measured as the pod's is (the others, like HOME=/tmp, are the image's)."""
    env = _deployment_container(cluster, namespace).get("env") or []
    return {
        str(item["name"]): str(item["value"])
        for item in env
        if str(item["name"]).startswith("MALLOC_") and "value" in item
    }


def start_host_fluxd(
    cluster: Cluster,
    *,
    namespace: str,
    git_url: str,
    known_hosts: Sequence[str] = (),
    extra_args: Sequence[str] = (),
    host_args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    runner: Literal["host", "auto"] = "host",
) -> HostFluxd:
    """Apply deploy/ into ``namespace`` and serve its pod from a host fluxd.

    With ``runner="auto"`` the pod's container runs from the fluxd image when a
    container engine is here (see fluxtestbed.container), else on the host.
    """
    workdir = Path(tempfile.mkdtemp(prefix=f"fluxd-{namespace}-"))
    cluster.apply_objects(deploy_documents(namespace, git_url, extra_args))
    pod = _pod_of_deployment(cluster, namespace)
    port, metrics_port = free_port(), free_port()
    cluster.apply_objects([_port_forward(namespace, pod, port)])
    engine = container.container_runner() if runner == "auto" else None
    if engine is not None:
        (workdir / "known_hosts").write_text("".join(line + "\n" for line in known_hosts))
        process, name = container.start_container(
            cluster,
            engine=engine,
            namespace=namespace,
            pod=pod,
            workdir=workdir,
            listen=(port, metrics_port),
            host_args=host_args,
            env=env,
        )
        host = HostFluxd(namespace, pod, port, metrics_port, process, workdir, engine, name)
        _wait_healthy(host)
        return host
    kubeconfig = _service_account_kubeconfig(cluster, namespace, workdir / "kubeconfig")
    return _host_process(
        cluster,
        namespace,
        pod,
        workdir,
        kubeconfig,
        (port, metrics_port),
        known_hosts,
        host_args,
        env,
    )


def _host_process(
    cluster: Cluster,
    namespace: str,
    pod: str,
    workdir: Path,
    kubeconfig: Path,
    ports: tuple[int, int],
    known_hosts: Sequence[str],
    host_args: Sequence[str],
    env: dict[str, str] | None,
) -> HostFluxd:
    """A fluxd process on this host serving ``pod`` with the Deployment's args."""
    port, metrics_port = ports
    known = workdir / "known_hosts"
    known.write_text("".join(line + "\n" for line in known_hosts))
    keygen = workdir / "keygen"
    keygen.mkdir(mode=0o700)
    args = [
        a
        for a in _deployment_args(cluster, namespace)
        if not a.startswith(("--listen-metrics=", "--ssh-keygen-dir="))
    ]
    argv = [
        sys.executable,
        "-m",
        "fluxd",
        *args,
        f"--listen=127.0.0.1:{port}",
        f"--listen-metrics=127.0.0.1:{metrics_port}",
        f"--kubeconfig={kubeconfig}",
        f"--k8s-namespace={namespace}",
        f"--ssh-keygen-dir={keygen}",
        f"--ssh-known-hosts={known}",
        # The other replicas forward to this process, not to the pod's (fake) IP.
        f"--advertise-address=127.0.0.1:{port}",
        *host_args,
    ]
    full_env = {**_malloc_env(cluster, namespace), "POD_NAME": pod, **(env or {})}
    process = start("fluxd", argv, logdir=workdir, env=full_env)
    host = HostFluxd(namespace, pod, port, metrics_port, process, workdir, env=full_env)
    _wait_healthy(host)
    return host


def _wait_healthy(host: HostFluxd) -> None:
    url = f"http://127.0.0.1:{host.port}/healthz"
    wait_until(
        "fluxd to serve /healthz",
        lambda: urllib.request.urlopen(url, timeout=1).status == 200,
        timeout=30 if host.engine is None else 60,
        watch=[host.process],
    )


def _port_forward(namespace: str, pod: str, port: int) -> dict[str, Any]:
    return {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "PortForward",
        "metadata": {"name": pod, "namespace": namespace},
        "spec": {"forwards": [{"ports": [3030], "target": {"port": port, "address": "127.0.0.1"}}]},
    }


def start_host_replicas(
    cluster: Cluster,
    *,
    namespace: str,
    git_url: str,
    replicas: int = 2,
    known_hosts: Sequence[str] = (),
    extra_args: Sequence[str] = (),
    host_args: Sequence[str] = (),
) -> list[HostFluxd]:
    """Apply deploy/ with ``replicas`` pods into ``namespace``; a host fluxd serves each.

    Every process runs as the ``flux`` ServiceAccount with its pod's name
    (its Lease identity, and its user agent in the audit log).
    """
    workdir = Path(tempfile.mkdtemp(prefix=f"fluxd-{namespace}-"))
    cluster.apply_objects(deploy_documents(namespace, git_url, extra_args, replicas=replicas))
    pods = pods_of_deployment(cluster, namespace)
    if len(pods) != replicas:
        raise TestbedError(f"expected {replicas} flux pods in {namespace}, found {pods}")
    kubeconfig = _service_account_kubeconfig(cluster, namespace, workdir / "kubeconfig")
    return [
        start_replica(cluster, namespace, pod, kubeconfig, known_hosts, host_args) for pod in pods
    ]


def start_replica(
    cluster: Cluster,
    namespace: str,
    pod: str,
    kubeconfig: Path,
    known_hosts: Sequence[str] = (),
    host_args: Sequence[str] = (),
) -> HostFluxd:
    """A host fluxd for one more pod of the Deployment (as kubelet starts a new pod)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"fluxd-{pod}-"))
    ports = (free_port(), free_port())
    cluster.apply_objects([_port_forward(namespace, pod, ports[0])])
    return _host_process(
        cluster, namespace, pod, workdir, kubeconfig, ports, known_hosts, host_args, None
    )


def pods_of_deployment(cluster: Cluster, namespace: str) -> list[str]:
    """Names of the running, not terminating, flux pods."""
    cluster.kubectl(
        "wait", "-n", namespace, "--for=condition=Available", "deployment/flux", "--timeout=60s"
    )
    out = cluster.kubectl("get", "pods", "-n", namespace, "-l", "name=flux", "-o", "json").stdout
    return sorted(
        p["metadata"]["name"]
        for p in json.loads(out)["items"]
        if p.get("status", {}).get("phase") == "Running"
        and not p["metadata"].get("deletionTimestamp")
    )


@contextmanager
def host_fluxd(cluster: Cluster, **kwargs: Any) -> Iterator[HostFluxd]:
    daemon = start_host_fluxd(cluster, **kwargs)
    try:
        yield daemon
    finally:
        daemon.stop()


def fluxctl(
    *args: str, kubeconfig: Path, timeout: float = 120, exe: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run fluxctl as a user would: ours (this environment's script), or ``exe``."""
    exe = exe or Path(sys.executable).with_name("fluxctl")
    return subprocess.run(
        [str(exe), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        check=False,
    )


def wait_for(what: str, check: Any, timeout: float = 60.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise TestbedError(f"timed out after {timeout:.0f}s waiting for {what}")
