"""A real Kubernetes control plane on 127.0.0.1, with kwok simulating a node.

etcd, kube-apiserver (RBAC on), kube-controller-manager, kube-scheduler and
kwok run as local processes. Every address the cluster hands out that
anything may dial is in 127.0.0.0/8: the node's InternalIP and kubelet
endpoint (kwok's server), pod IPs (kwok's --cidr) and Service ClusterIPs.

Binaries: built once from the pinned Go modules by build-kube.sh and cached;
``FLUXPY_KUBE_BIN_DIR`` points to a directory of existing ones instead. An
existing cluster (kind, k3d, minikube) is used when ``FLUXPY_KUBECONFIG``
names its kubeconfig; then nothing is started.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fluxtestbed import pki
from fluxtestbed.audit import AuditLog, policy
from fluxtestbed.procs import Process, TestbedError, built_bin_dir, free_port, start, wait_until

HERE = Path(__file__).resolve().parent
NODE_NAME = "kwok-node-0"
POD_CIDR = "127.1.0.0/16"
SERVICE_CIDR = "127.96.0.0/16"
SERVICE_FIRST_IP = "127.96.0.1"


@dataclass(frozen=True)
class Binaries:
    apiserver: Path
    controller_manager: Path
    scheduler: Path
    kubectl: Path
    kwok: Path
    etcd: Path


def find_binaries() -> Binaries:
    """Locate (or build once) every binary the control plane needs."""
    bin_dir = built_bin_dir(
        HERE / "build-kube.sh", override="FLUXPY_KUBE_BIN_DIR", what="the Kubernetes binaries"
    )
    etcd = os.environ.get("FLUXPY_ETCD") or shutil.which("etcd") or "/usr/bin/etcd"
    found = Binaries(
        apiserver=bin_dir / "kube-apiserver",
        controller_manager=bin_dir / "kube-controller-manager",
        scheduler=bin_dir / "kube-scheduler",
        kubectl=bin_dir / "kubectl",
        kwok=bin_dir / "kwok",
        etcd=Path(etcd),
    )
    missing = [str(p) for p in vars(found).values() if not Path(p).exists()]
    if missing:
        raise TestbedError(
            "missing binaries: " + ", ".join(missing) + " (run 'make system-deps testbed-binaries')"
        )
    return found


def _kubeconfig(server: str, ca: Path, cert: pki.CertPair, user: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "testbed", "cluster": {"server": server, "certificate-authority": str(ca)}}
        ],
        "users": [
            {
                "name": user,
                "user": {"client-certificate": str(cert.cert), "client-key": str(cert.key)},
            }
        ],
        "contexts": [{"name": "testbed", "context": {"cluster": "testbed", "user": user}}],
        "current-context": "testbed",
    }


@dataclass
class Cluster:
    """A running cluster: its admin kubeconfig and how to reach it."""

    kubeconfig: Path
    kubectl_path: Path
    workdir: Path
    processes: list[Process] = field(default_factory=list)
    owned: bool = True

    @property
    def audit(self) -> AuditLog | None:
        """The API server's audit log of writes; None for a cluster not started here."""
        return AuditLog(self.workdir / "audit.log") if self.owned else None

    # --- clients ------------------------------------------------------------

    def client_kubeconfig(self, user: str, group: str = "system:masters") -> Path:
        """A kubeconfig for a client of its own name, so the audit log tells it apart."""
        ca = pki.Authority.load(self.workdir / "pki")
        cert = ca.issue(f"client-{user}", common_name=user, organization=group, client=True)
        server = yaml.safe_load(self.kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
        path = self.workdir / f"{user}.kubeconfig"
        path.write_text(yaml.safe_dump(_kubeconfig(server, ca.cert_path, cert, user)))
        path.chmod(0o600)
        return path

    def api_client(self) -> Any:
        """An admin ``kubernetes.client.ApiClient`` of the official client."""
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig))  # type: ignore[no-untyped-call]

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.kubectl_path), f"--kubeconfig={self.kubeconfig}", *args],
            input=input,
            capture_output=True,
            text=True,
            check=check,
        )

    def raw_get(self, path: str) -> bytes:
        """GET a path of the API server with the admin identity."""
        conf = yaml.safe_load(self.kubeconfig.read_text())
        cluster = conf["clusters"][0]["cluster"]
        user = conf["users"][0]["user"]
        ctx = ssl.create_default_context(cafile=cluster["certificate-authority"])
        ctx.load_cert_chain(user["client-certificate"], user["client-key"])
        with urllib.request.urlopen(cluster["server"] + path, context=ctx, timeout=10) as resp:
            return bytes(resp.read())

    def metrics(self) -> str:
        """The API server's /metrics text (e.g. to count requests by verb)."""
        return self.raw_get("/metrics").decode()

    def register_pod(
        self,
        namespace: str,
        name: str,
        *,
        labels: dict[str, str],
        port_forward_to: int,
        pod_port: int = 3030,
    ) -> None:
        """A Running, Ready pod on the kwok node whose ``pod_port`` forwards to a local port.

        kwok routes the API server's ``pods/portforward`` stream to
        127.0.0.1:port_forward_to, so a process on this machine can stand in
        for the pod's container.
        """
        self.apply_objects(
            [
                {
                    "apiVersion": "kwok.x-k8s.io/v1alpha1",
                    "kind": "PortForward",
                    "metadata": {"name": name, "namespace": namespace},
                    "spec": {
                        "forwards": [
                            {
                                "ports": [pod_port],
                                "target": {"port": port_forward_to, "address": "127.0.0.1"},
                            }
                        ]
                    },
                },
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": name, "namespace": namespace, "labels": labels},
                    "spec": {
                        "nodeName": NODE_NAME,
                        "containers": [
                            {
                                "name": "main",
                                "image": "local/stand-in:0",
                                "ports": [{"containerPort": pod_port}],
                            }
                        ],
                    },
                },
            ]
        )
        self.wait_pod_ready(namespace, name)

    def pause_etcd(self) -> None:
        """Freeze etcd (SIGSTOP): it keeps its connections but answers nothing."""
        os.kill(self._etcd().popen.pid, signal.SIGSTOP)

    def resume_etcd(self) -> None:
        os.kill(self._etcd().popen.pid, signal.SIGCONT)

    def _etcd(self) -> Process:
        found = [p for p in self.processes if p.name == "etcd"]
        if not self.owned or not found:
            raise TestbedError("only a test bed that started etcd can pause it")
        return found[0]

    def apply_objects(self, objects: list[dict[str, Any]]) -> None:
        docs = "\n---\n".join(json.dumps(o) for o in objects)
        self.kubectl("apply", "--server-side", "--field-manager=testbed", "-f", "-", input=docs)

    def wait_pod_ready(self, namespace: str, name: str, timeout: float = 30.0) -> None:
        self.kubectl(
            "wait",
            "-n",
            namespace,
            f"pod/{name}",
            "--for=condition=Ready",
            f"--timeout={int(timeout)}s",
        )

    # --- faults ---------------------------------------------------------------

    def stop_apiserver(self, *, crash: bool = False) -> None:
        """Stop kube-apiserver alone; etcd, the controllers and kwok keep running.

        Clients then get "connection refused" on its port until
        ``start_apiserver`` runs it again. ``crash`` kills it at once
        (SIGKILL) instead of letting it shut down gracefully (SIGTERM), which
        takes it several seconds of draining.
        """
        proc = self._apiserver()
        if crash and proc.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.popen.pid, signal.SIGKILL)
            proc.popen.wait(10)
        proc.stop()

    def start_apiserver(self, timeout: float = 90.0) -> None:
        """Start kube-apiserver again, same flags and port; return once it is ready."""
        old = self._apiserver()
        if old.alive():
            return
        argv = old.popen.args  # start() passes a list
        if not isinstance(argv, list):
            raise TestbedError(f"cannot restart kube-apiserver from {argv!r}")
        new = start(old.name, [str(a) for a in argv], logdir=old.log.parent)
        self.processes[self.processes.index(old)] = new
        wait_until(
            "kube-apiserver /readyz after a restart",
            lambda: self.raw_get("/readyz") == b"ok",
            timeout=timeout,
            watch=[new],
            interval=0.1,
        )

    def _apiserver(self) -> Process:
        found = [p for p in self.processes if p.name == "kube-apiserver"]
        if not self.owned or not found:
            raise TestbedError("only a test bed that started kube-apiserver can stop it")
        return found[0]

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()
        self.processes.clear()
        marker = self.workdir / "etcd-data-dir"
        if self.owned and marker.exists():
            shutil.rmtree(marker.read_text().strip(), ignore_errors=True)
            marker.unlink()


class ControlPlane:
    """Starts the processes of a cluster in a work directory, in order."""

    def __init__(self, workdir: Path, binaries: Binaries) -> None:
        self.workdir = workdir
        self.bin = binaries
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.pki_dir = workdir / "pki"
        self.ca = pki.Authority(self.pki_dir)
        self.api_port = free_port()
        self.server = f"https://127.0.0.1:{self.api_port}"
        self.processes: list[Process] = []

    def start(self) -> Cluster:
        try:
            etcd_url = self._start_etcd()
            self._start_apiserver(etcd_url)
            admin = self._write_kubeconfig("admin", "fluxpy-admin", "system:masters")
            cluster = Cluster(admin, self.bin.kubectl, self.workdir, self.processes)
            self._start_controllers()
            cluster.kubectl("apply", "-f", str(HERE / "kwok-portforward-crd.yaml"))
            cluster.kubectl(
                "wait",
                "--for=condition=Established",
                "crd/portforwards.kwok.x-k8s.io",
                "--timeout=30s",
            )
            self._start_kwok()
            self._add_node(cluster)
            self._wait_default_service_account(cluster)
        except BaseException:
            for proc in reversed(self.processes):
                proc.stop()
            raise
        return cluster

    # --- components -----------------------------------------------------------

    def _start_etcd(self) -> str:
        client_port, peer_port = free_port(), free_port()
        # etcd's fsyncs dominate API latency on a shared disk; tmpfs is fine for
        # a cluster that lives as long as a test session.
        shm = Path("/dev/shm")
        data = Path(tempfile.mkdtemp(prefix="fluxpy-etcd-", dir=shm if shm.is_dir() else None))
        (self.workdir / "etcd-data-dir").write_text(str(data))
        client = f"http://127.0.0.1:{client_port}"
        peer = f"http://127.0.0.1:{peer_port}"
        proc = start(
            "etcd",
            [
                str(self.bin.etcd),
                "--name=testbed",
                f"--data-dir={data}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=testbed={peer}",
                "--listen-metrics-urls=",
                "--log-level=warn",
                "--quota-backend-bytes=4294967296",
            ],
            logdir=self.logs,
            env={"ETCD_UNSUPPORTED_ARCH": "", "ETCDCTL_API": "3"},
        )
        self.processes.append(proc)
        wait_until("etcd", lambda: _http_ok(f"{client}/health"), timeout=30, watch=[proc])
        return client

    def _start_apiserver(self, etcd_url: str) -> None:
        serving = self.ca.issue(
            "apiserver",
            common_name="kube-apiserver",
            server=True,
            hosts=(
                "127.0.0.1",
                "localhost",
                SERVICE_FIRST_IP,
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
            ),
        )
        kubelet_client = self.ca.issue(
            "apiserver-kubelet-client",
            common_name="kube-apiserver-kubelet-client",
            organization="system:masters",
            client=True,
        )
        self.sa = pki.service_account_keys(self.pki_dir)
        proc = start(
            "kube-apiserver",
            [
                str(self.bin.apiserver),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self.api_port}",
                "--authorization-mode=Node,RBAC",
                f"--client-ca-file={self.ca.cert_path}",
                f"--tls-cert-file={serving.cert}",
                f"--tls-private-key-file={serving.key}",
                f"--kubelet-client-certificate={kubelet_client.cert}",
                f"--kubelet-client-key={kubelet_client.key}",
                "--kubelet-preferred-address-types=InternalIP",
                f"--service-account-key-file={self.sa.cert}",
                f"--service-account-signing-key-file={self.sa.key}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--service-node-port-range=30000-32767",
                # With the API server on loopback, the endpoints reconciler
                # would fail every 10 s (loopback is no valid Endpoints address).
                "--endpoint-reconciler-type=none",
                "--allow-privileged=true",
                "--profiling=false",
                "--enable-priority-and-fairness=false",
                # Streaming lists need etcd's watch progress requests, which
                # Debian's etcd 3.4 lacks; without this kwok's and the
                # controllers' informers stall and back off for seconds.
                "--feature-gates=WatchList=false",
                # Writes by clients, counted exactly by fluxtestbed.audit.
                f"--audit-policy-file={self._audit_policy()}",
                f"--audit-log-path={self.workdir / 'audit.log'}",
                "--audit-log-format=json",
                "--audit-log-mode=blocking",
                "--audit-log-maxsize=0",
                "--v=0",
            ],
            logdir=self.logs,
        )
        self.processes.append(proc)
        wait_until(
            "kube-apiserver /readyz",
            lambda: self._api_ready(),
            timeout=90,
            watch=[proc],
            interval=0.25,
        )

    def _audit_policy(self) -> Path:
        path = self.workdir / "audit-policy.yaml"
        path.write_text(policy())
        return path

    def _api_ready(self) -> bool:
        ctx = ssl.create_default_context(cafile=str(self.ca.cert_path))
        with urllib.request.urlopen(f"{self.server}/readyz", context=ctx, timeout=2) as resp:
            return bool(resp.status == 200)

    def _write_kubeconfig(self, name: str, user: str, group: str | None) -> Path:
        cert = self.ca.issue(name, common_name=user, organization=group, client=True)
        path = self.workdir / f"{name}.kubeconfig"
        path.write_text(yaml.safe_dump(_kubeconfig(self.server, self.ca.cert_path, cert, user)))
        path.chmod(0o600)
        return path

    def _start_controllers(self) -> None:
        kcm = self._write_kubeconfig("controller-manager", "system:kube-controller-manager", None)
        sched = self._write_kubeconfig("scheduler", "system:kube-scheduler", None)
        self.processes.append(
            start(
                "kube-controller-manager",
                [
                    str(self.bin.controller_manager),
                    f"--kubeconfig={kcm}",
                    f"--authentication-kubeconfig={kcm}",
                    f"--authorization-kubeconfig={kcm}",
                    "--bind-address=127.0.0.1",
                    f"--secure-port={free_port()}",
                    "--leader-elect=false",
                    "--use-service-account-credentials=true",
                    f"--service-account-private-key-file={self.sa.key}",
                    f"--root-ca-file={self.ca.cert_path}",
                    f"--cluster-signing-cert-file={self.ca.cert_path}",
                    f"--cluster-signing-key-file={self.ca.key_path}",
                    f"--service-cluster-ip-range={SERVICE_CIDR}",
                    "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller",
                    "--concurrent-deployment-syncs=10",
                    "--concurrent-replicaset-syncs=10",
                    "--kube-api-qps=200",
                    "--kube-api-burst=400",
                    "--feature-gates=WatchListClient=false",
                    "--v=0",
                ],
                logdir=self.logs,
            )
        )
        self.processes.append(
            start(
                "kube-scheduler",
                [
                    str(self.bin.scheduler),
                    f"--kubeconfig={sched}",
                    f"--authentication-kubeconfig={sched}",
                    f"--authorization-kubeconfig={sched}",
                    "--bind-address=127.0.0.1",
                    f"--secure-port={free_port()}",
                    "--leader-elect=false",
                    "--feature-gates=WatchListClient=false",
                    "--v=0",
                ],
                logdir=self.logs,
            )
        )

    def _start_kwok(self) -> None:
        kubeconfig = self._write_kubeconfig("kwok", "kwok-controller", "system:masters")
        serving = self.ca.issue(
            "kwok-serving", common_name="kwok", server=True, hosts=("127.0.0.1",)
        )
        self.kubelet_port = free_port()
        self.processes.append(
            start(
                "kwok",
                [
                    str(self.bin.kwok),
                    f"--kubeconfig={kubeconfig}",
                    f"--config={HERE / 'kwok-stages.yaml'}",
                    "--manage-all-nodes=true",
                    "--node-ip=127.0.0.1",
                    f"--node-name={NODE_NAME}",
                    f"--node-port={self.kubelet_port}",
                    f"--server-address=127.0.0.1:{self.kubelet_port}",
                    f"--tls-cert-file={serving.cert}",
                    f"--tls-private-key-file={serving.key}",
                    f"--cidr={POD_CIDR}",
                    "--node-lease-duration-seconds=40",
                    "--enable-crds=PortForward",
                ],
                logdir=self.logs,
                # HOME: keep kwok from reading ~/.kwok. No streaming lists (see
                # the API server's feature gates).
                env={"HOME": str(self.workdir), "KUBE_FEATURE_WatchListClient": "false"},
            )
        )

    def _add_node(self, cluster: Cluster) -> None:
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": NODE_NAME,
                "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                "labels": {
                    "kubernetes.io/hostname": NODE_NAME,
                    "kubernetes.io/os": "linux",
                    "beta.kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "type": "kwok",
                },
            },
            "spec": {},
        }
        cluster.apply_objects([node])
        wait_until(
            f"node {NODE_NAME} Ready",
            lambda: (
                cluster.kubectl(
                    "get",
                    "node",
                    NODE_NAME,
                    "-o",
                    "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
                ).stdout
                == "True"
            ),
            timeout=60,
            watch=self.processes,
            interval=0.25,
        )

    def _wait_default_service_account(self, cluster: Cluster) -> None:
        wait_until(
            "ServiceAccount default/default",
            lambda: (
                cluster.kubectl("get", "serviceaccount", "default", check=False).returncode == 0
            ),
            timeout=60,
            watch=self.processes,
            interval=0.25,
        )


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as resp:
        return bool(resp.status == 200)


def start_cluster(workdir: Path) -> Cluster:
    """The cluster the tests and the demo use: an existing one or a fresh local one."""
    existing = os.environ.get("FLUXPY_KUBECONFIG")
    if existing:
        kubectl = shutil.which("kubectl")
        if not kubectl:
            raise TestbedError("FLUXPY_KUBECONFIG is set but no kubectl is on PATH")
        return Cluster(Path(existing), Path(kubectl), workdir, owned=False)
    binaries = find_binaries()
    began = time.monotonic()
    cluster = ControlPlane(workdir, binaries).start()
    print(
        f"[testbed] control plane ready in {time.monotonic() - began:.1f}s at {workdir}",
        file=sys.stderr,
    )
    return cluster


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
