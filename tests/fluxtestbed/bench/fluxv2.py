"""Flux v2's kustomize-controller as a peer of fluxd on the test bed.

kustomize-controller v1.9.6 is built by build-fluxv2.sh (with the
source.toolkit.fluxcd.io CRDs beside it) and runs on this host with a
kubeconfig user of its own. source-controller cannot be built from the Go
module proxy, so the bench plays its part: at each pushed revision it makes
a tarball of the repo's tree (``git archive`` of the git server's repo),
serves it over HTTP on 127.0.0.1 and publishes it in an ``ExternalArtifact``'s
status, which a Kustomization (prune on) points at. Flux v2's own git fetch
is therefore not in its figures: its clock starts when the artifact is
published.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from fluxtestbed.bench.api import AdminApi
from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster
from fluxtestbed.procs import Process, TestbedError, free_port, log_tail, start

HERE = Path(__file__).resolve().parents[1]
USER = "bench-fluxv2"
FLAGS = (
    "--feature-gates=ExternalArtifact=true",
    "--enable-leader-election=false",
    "--watch-all-namespaces=true",
    # fluxd's client rate limit, so both are limited alike (defaults 50 and 300: at
    # N = 5,000 a push waited minutes on its own limiter and then failed).
    "--kube-api-qps=500",
    "--kube-api-burst=1000",
)
KUSTOMIZATIONS = "/apis/kustomize.toolkit.fluxcd.io/v1"
SOURCES = "/apis/source.toolkit.fluxcd.io/v1"
NAME = "bench"


def fluxv2_dir() -> Path:
    """Where build-fluxv2.sh put kustomize-controller (bin/) and the CRDs (crds/)."""
    out = subprocess.run(
        ["bash", str(HERE / "build-fluxv2.sh")],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "FLUXV2_NO_WAIT": "1"},
    )
    if out.returncode != 0:
        raise TestbedError(f"building Flux v2's kustomize-controller failed:\n{out.stderr[-3000:]}")
    return Path(out.stdout.strip().splitlines()[-1])


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class ArtifactServer:
    """Serves tarballs from one directory on 127.0.0.1."""

    root: Path
    server: ThreadingHTTPServer

    @classmethod
    def start(cls) -> ArtifactServer:
        root = Path(tempfile.mkdtemp(prefix="bench-artifacts-"))
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
        threading.Thread(target=server.serve_forever, name="artifacts", daemon=True).start()
        return cls(root, server)

    def url(self, name: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/{name}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class FluxV2:
    """A running kustomize-controller with one Kustomization of one repo."""

    kube: Cluster
    git: GitServer
    api: AdminApi
    repo: str
    namespace: str
    process: Process
    artifacts: ArtifactServer

    @classmethod
    def start(cls, kube: Cluster, git: GitServer, api: AdminApi, run: str) -> FluxV2:
        home = fluxv2_dir()
        kube.kubectl("apply", "--server-side", "-f", str(home / "crds"))
        kube.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
        namespace, repo = f"fluxv2-{run}", f"bench-{run}"
        kube.kubectl("create", "namespace", namespace)
        git.create_repo(repo)
        git.push_files(repo, {"README.md": "Objects of the benchmark go here.\n"}, "empty repo")
        workdir = Path(tempfile.mkdtemp(prefix=f"fluxv2-{run}-"))
        argv = [
            str(home / "bin" / "kustomize-controller"),
            *FLAGS,
            f"--metrics-addr=127.0.0.1:{free_port()}",
            f"--health-addr=127.0.0.1:{free_port()}",
        ]
        env = {"KUBECONFIG": str(kube.client_kubeconfig(USER)), "RUNTIME_NAMESPACE": namespace}
        process = start("kustomize-controller", argv, logdir=workdir, env=env)
        peer = cls(kube, git, api, repo, namespace, process, ArtifactServer.start())
        try:
            peer._create_objects()
        except BaseException:
            peer.stop()
            raise
        return peer

    def _create_objects(self) -> None:
        ns = self.namespace
        source = {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "ExternalArtifact",
            "metadata": {"name": NAME, "namespace": ns},
            "spec": {},
        }
        kustomization = {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": NAME, "namespace": ns},
            "spec": {
                # Long: no timer-driven pass during a measurement.
                "interval": "1h",
                "path": "./",
                "prune": True,
                "timeout": "10m",
                "sourceRef": {"kind": "ExternalArtifact", "name": NAME},
            },
        }
        self.kube.apply_objects([source, kustomization])

    # --- the source-controller's part ----------------------------------------------

    def publish(self, revision: str) -> float:
        """Tarball of ``revision`` served and published; returns the wall clock of publishing."""
        name = f"{self.repo}-{revision}.tar.gz"
        path = self.artifacts.root / name
        with path.open("wb") as out:
            subprocess.run(
                # The repo belongs to the git server's user; this runs as root.
                ["git", "-c", "safe.directory=*", "-C", str(self.git.bare_path(self.repo)),
                 "archive", "--format=tar.gz", revision],
                stdout=out, check=True,
            )  # fmt: skip
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        status = {
            "artifact": {
                "path": name,
                "url": self.artifacts.url(name),
                "revision": f"master@sha1:{revision}",
                "digest": f"sha256:{digest}",
                "lastUpdateTime": now,
                "size": path.stat().st_size,
            },
            "conditions": [_ready(now)],
        }
        path_ = f"{SOURCES}/namespaces/{self.namespace}/externalartifacts/{NAME}/status"
        self.api.merge_patch(path_, {"status": status})
        return time.monotonic()

    def request_reconcile(self) -> str:
        """The fastest trigger Flux v2 has short of a Receiver: the requestedAt annotation."""
        token = str(time.time_ns())
        ann = {"reconcile.fluxcd.io/requestedAt": token}
        path = f"{KUSTOMIZATIONS}/namespaces/{self.namespace}/kustomizations/{NAME}"
        self.api.merge_patch(path, {"metadata": {"annotations": ann}})
        return token

    # --- observing ------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        path = f"{KUSTOMIZATIONS}/namespaces/{self.namespace}/kustomizations/{NAME}"
        return dict(self.api.get_json(path).get("status") or {})

    def wait_ready(self, revision: str = "", token: str = "", timeout: float = 1800) -> float:
        """Until Ready=True at ``revision`` (and having handled ``token``); the monotonic time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.process.alive():
                raise TestbedError(f"kustomize-controller exited\n{self.log()}")
            status = self.status()
            if _ready_at(status, revision, token):
                return time.monotonic()
            time.sleep(0.05)
        raise TestbedError(
            f"Kustomization not Ready at {revision[:7]} in {timeout:.0f}s\n{self.log()}"
        )

    def wait_idle(self, quiet: float = 2.0, timeout: float = 1800) -> None:
        """Until Ready with no reconciliation running for ``quiet`` seconds.

        Publishing an artifact and annotating the Kustomization each queue a
        reconciliation; when the second arrives while the first runs, a whole
        second pass follows it. Measuring the next step before that pass ends
        would time both.
        """
        deadline = time.monotonic() + timeout
        idle_since: float | None = None
        while time.monotonic() < deadline:
            now = time.monotonic()
            if not _idle(self.status()):
                idle_since = None
            elif idle_since is None:
                idle_since = now
            elif now - idle_since >= quiet:
                return
            time.sleep(0.1)
        raise TestbedError(f"Kustomization still reconciling after {timeout:.0f}s\n{self.log()}")

    def log(self) -> str:
        return log_tail(self.process.log, 40)

    def stop(self) -> None:
        self.process.stop()
        self.artifacts.stop()


def _ready(now: str) -> dict[str, str]:
    return {
        "type": "Ready",
        "status": "True",
        "reason": "Succeeded",
        "message": "artifact published",
        "lastTransitionTime": now,
    }


def _ready_at(status: dict[str, Any], revision: str, token: str) -> bool:
    if revision and not str(status.get("lastAppliedRevision", "")).endswith(revision):
        return False
    if token and status.get("lastHandledReconcileAt") != token:
        return False
    ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    return bool(ready) and ready[0].get("status") == "True"


def _idle(status: dict[str, Any]) -> bool:
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    return conditions.get("Ready") == "True" and conditions.get("Reconciling") != "True"
