"""Several fluxd replicas of one install, and several installs side by side.

``install_replicas`` applies deploy/ with its two replicas and serves each
pod from a host fluxd process (``fluxtestbed.fluxd_host``); the processes
elect a leader through the real Lease, as the pods would. Who leads, and how
many passes each replica ran, is read from each replica's own ``/metrics``.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import urllib.request
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxtestbed.audit import AuditWrite
from fluxtestbed.faults import DEFAULT_ARGS, public_key
from fluxtestbed.fluxd_host import HostFluxd, fluxctl, start_host_replicas, start_replica
from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster
from fluxtestbed.procs import TestbedError
from fluxtestbed.scenario import Installation

LEASE = "fluxd-leader"
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([-+0-9.eE]+|NaN)$")


def metric(daemon: HostFluxd, name: str) -> float:
    """The sum of every sample of ``name`` on the replica's /metrics."""
    url = f"http://127.0.0.1:{daemon.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as resp:
        text = resp.read().decode()
    total = 0.0
    for line in text.splitlines():
        found = _SAMPLE.match(line)
        if found and found.group(1) == name:
            total += float(found.group(3))
    return total


def passes(daemon: HostFluxd) -> int:
    """Sync passes the replica ran (the count of its pass-duration histogram)."""
    return int(metric(daemon, "flux_daemon_sync_duration_seconds_count"))


def leads(daemon: HostFluxd) -> bool:
    return metric(daemon, "fluxd_leader") == 1


@dataclass
class Replicated:
    """One install of fluxd from deploy/ with several replicas."""

    kube: Cluster
    git: GitServer
    repo: str
    namespace: str
    target: str
    daemons: list[HostFluxd]

    def installation(self, daemon: HostFluxd) -> Installation:
        """The install as seen through one replica (for the single-daemon helpers)."""
        return Installation(self.kube, self.git, self.repo, self.namespace, self.target, daemon)

    def holder(self) -> str:
        """The pod holding the Lease, as the API server has it."""
        return self.kube.kubectl(
            "get",
            "lease",
            LEASE,
            "-n",
            self.namespace,
            "-o",
            "jsonpath={.spec.holderIdentity}",
            check=False,
        ).stdout.strip()

    def labelled(self, selector: str) -> set[str]:
        """The pods of the install that ``selector`` picks (Flux v1's fluxctl's view)."""
        out = self.kube.kubectl("get", "pods", "-n", self.namespace, "-l", selector, "-o", "json")
        return {p["metadata"]["name"] for p in json.loads(out.stdout)["items"]}

    def leader_and_standby(self) -> tuple[HostFluxd, HostFluxd]:
        leaders = [d for d in self.daemons if leads(d)]
        if len(leaders) != 1:
            raise TestbedError(f"expected one leader, found {[d.pod for d in leaders]}")
        (standby,) = [d for d in self.daemons if d is not leaders[0]]
        return leaders[0], standby

    def fluxctl_via(self, daemon: HostFluxd, *args: str) -> Any:
        """fluxctl as a user runs it, port-forwarding to this replica's pod.

        The pod gets a label of its own, and fluxctl selects it by that label.
        """
        self.kube.kubectl(
            "label",
            "pod",
            daemon.pod,
            "-n",
            self.namespace,
            f"replica={daemon.pod}",
            "--overwrite",
        )
        return fluxctl(
            *args,
            "--k8s-fwd-ns",
            self.namespace,
            "--k8s-fwd-labels",
            f"replica={daemon.pod}",
            kubeconfig=self.kube.kubeconfig,
        )

    def stop(self) -> None:
        for daemon in self.daemons:
            if daemon.process.popen.poll() is None:
                daemon.stop()
        for ns in (self.namespace, self.target):
            self.kube.kubectl(
                "delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False
            )


def install_replicas(
    kube: Cluster,
    git: GitServer,
    files: dict[str, str],
    *,
    replicas: int = 2,
    extra_args: Sequence[str] = (),
) -> Replicated:
    """A repo with ``files`` and deploy/'s replicas syncing it into a new namespace."""
    suffix = uuid.uuid4().hex[:6]
    repo, namespace, target = f"ha-{suffix}", f"flux-{suffix}", f"apps-{suffix}"
    git.create_repo(repo)
    git.push_files(repo, files, "the manifests")
    kube.kubectl("create", "namespace", target)
    daemons = start_host_replicas(
        kube,
        namespace=namespace,
        git_url=git.ssh_url(repo),
        replicas=replicas,
        known_hosts=git.known_hosts_lines(),
        extra_args=(f"--k8s-default-namespace={target}", *DEFAULT_ARGS, *extra_args),
    )
    inst = Replicated(kube, git, repo, namespace, target, daemons)
    # The replicas share the key in the Secret: authorising one authorises all.
    git.authorize(public_key(inst.installation(daemons[0])))
    return inst


def values(kube: Cluster, namespace: str) -> Counter[str]:
    """How many ConfigMaps of ``namespace`` hold each ``data.value``."""
    items = json.loads(kube.raw_get(f"/api/v1/namespaces/{namespace}/configmaps"))["items"]
    return Counter((o.get("data") or {}).get("value", "") for o in items)


def overlapping_seconds(writes: Sequence[AuditWrite], agents: Sequence[str]) -> list[str]:
    """Seconds (server clock) in which more than one of ``agents`` wrote."""
    by_second: dict[str, set[str]] = {}
    for write in writes:
        agent = next((a for a in agents if a in write.user_agent), None)
        if agent is not None:
            by_second.setdefault(write.received[:19], set()).add(agent)
    return sorted(second for second, seen in by_second.items() if len(seen) > 1)


def log_of(daemon: HostFluxd) -> str:
    return Path(daemon.process.log).read_text(errors="replace")


class Kubelet:
    """Keeps one host fluxd per running pod of the install, as kubelet keeps containers.

    A pod that appears (a rolling update's new ReplicaSet) gets a fluxd
    started with the Deployment's args of that moment; a pod that is
    terminating or gone has its fluxd stopped with SIGTERM, as kubelet does.
    ``samples`` records, at each look, how many live replicas said they lead.
    """

    def __init__(self, inst: Replicated) -> None:
        self._inst = inst
        first = inst.daemons[0]
        args = [str(a) for a in first.process.popen.args]  # type: ignore[union-attr]
        self._kubeconfig = Path(next(a for a in args if a.startswith("--kubeconfig="))[13:])
        self.samples: list[int] = []
        self.pods: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Kubelet:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _live_pods(self) -> set[str]:
        inst = self._inst
        out = inst.kube.kubectl(
            "get", "pods", "-n", inst.namespace, "-l", "name=flux", "-o", "json"
        )
        return {
            p["metadata"]["name"]
            for p in json.loads(out.stdout)["items"]
            if p.get("status", {}).get("phase") == "Running"
            and not p["metadata"].get("deletionTimestamp")
        }

    def caught_up(self) -> bool:
        """Whether exactly the running pods have a running fluxd, as of now."""
        alive = {d.pod for d in list(self._inst.daemons) if d.process.alive()}
        return bool(alive) and alive == self._live_pods()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self.look()
            except Exception as exc:  # a test helper's thread: say it, keep looking
                print(f"kubelet: {type(exc).__name__}: {exc}", file=sys.stderr)

    def look(self) -> None:
        inst = self._inst
        out = inst.kube.kubectl(
            "get", "pods", "-n", inst.namespace, "-l", "name=flux", "-o", "json"
        )
        live = {
            p["metadata"]["name"]
            for p in json.loads(out.stdout)["items"]
            if p.get("status", {}).get("phase") == "Running"
            and not p["metadata"].get("deletionTimestamp")
        }
        self.pods = live
        for daemon in [d for d in inst.daemons if d.process.alive() and d.pod not in live]:
            daemon.stop()
        running = {d.pod for d in inst.daemons if d.process.alive()}
        for pod in sorted(live - running):
            inst.daemons.append(
                start_replica(
                    inst.kube, inst.namespace, pod, self._kubeconfig, inst.git.known_hosts_lines()
                )
            )
        self.samples.append(
            sum(1 for d in inst.daemons if d.process.alive() and answers_as_leader(d))
        )


def answers_as_leader(daemon: HostFluxd) -> bool:
    """Whether the replica says it leads; False when it no longer answers (stopping)."""
    try:
        return leads(daemon)
    except OSError:
        return False
