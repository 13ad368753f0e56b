"""fluxd installed from deploy/ on the test bed, driven and observed by the benchmark."""

from __future__ import annotations

import calendar
import contextlib
import hashlib
import hmac
import json
import os
import re
import shlex
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fluxtestbed.audit import AuditLog
from fluxtestbed.bench.api import AdminApi
from fluxtestbed.bench.objects import RepoSet, with_probe
from fluxtestbed.bench.pushing import WorkClone
from fluxtestbed.fluxd_host import HostFluxd, fluxctl, start_host_fluxd
from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster
from fluxtestbed.procs import TestbedError, start

WEBHOOK_SECRET = "bench-webhook-secret"
#: Flags added to deploy/'s own: no timer-driven fetch or pass during a measurement.
FLUXD_FLAGS = ("--git-poll-interval=5m", "--sync-interval=1h")
_PASS = re.compile(
    r"^ts=(?P<ts>\S+) .*event=sync revision=(?P<rev>\w+) applied=(?P<applied>\d+) "
    r"unchanged=(?P<unchanged>\d+) drifted=(?P<drifted>\d+) failed=(?P<failed>\d+) "
    # Fields added later (held=, timed-out=, ...) may stand before took=.
    r"deleted=(?P<deleted>\d+) (?:\S+=\S+ )*took=(?P<took>[\d.]+)s"
)


@dataclass(frozen=True)
class Pass:
    """One ``event=sync`` line of fluxd's log."""

    at: float  # wall-clock seconds of the log line
    revision: str
    applied: int
    unchanged: int
    drifted: int
    failed: int
    took: float


def parse_passes(text: str) -> list[Pass]:
    passes = []
    for line in text.splitlines():
        m = _PASS.match(line)
        if m:
            passes.append(
                Pass(
                    _log_time(m["ts"]),
                    m["rev"],
                    int(m["applied"]),
                    int(m["unchanged"]),
                    int(m["drifted"]),
                    int(m["failed"]),
                    float(m["took"]),
                )
            )
    return passes


def _log_time(stamp: str) -> float:
    whole, _, frac = stamp.rstrip("Z").partition(".")
    seconds = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
    return seconds + (float("0." + frac) if frac else 0.0)


@dataclass
class Session:
    """A fresh fluxd (own namespace, own repo) whose key the git server accepts."""

    kube: Cluster
    git: GitServer
    api: AdminApi
    repo: str
    daemon: HostFluxd
    fluxctl_form: list[str] = field(default_factory=list)

    @classmethod
    def start(
        cls, kube: Cluster, git: GitServer, api: AdminApi, run: str, host_args: tuple[str, ...] = ()
    ) -> Session:
        repo = f"bench-{run}"
        git.create_repo(repo)
        git.push_files(repo, {"README.md": "Objects of the benchmark go here.\n"}, "empty repo")
        daemon = start_host_fluxd(
            kube,
            namespace=f"flux-{run}",
            git_url=git.ssh_url(repo),
            known_hosts=git.known_hosts_lines(),
            extra_args=FLUXD_FLAGS,
            host_args=(f"--webhook-secret={WEBHOOK_SECRET}", *host_args),
        )
        session = cls(kube, git, api, repo, daemon)
        key = session.fluxctl("identity")
        if key.returncode != 0:
            raise TestbedError(f"fluxctl identity failed: {key.stderr}")
        git.authorize(key.stdout.strip())
        session.wait_pass(git.git(repo, "rev-parse", "HEAD"), poke=True, timeout=90)
        return session

    # --- observing --------------------------------------------------------------

    def passes(self) -> list[Pass]:
        return parse_passes(self.daemon.process.log.read_text(errors="replace"))

    def wait_pass(
        self, revision: str, *, after: int = 0, poke: bool = False, timeout: float = 600
    ) -> Pass:
        """The first pass (from index ``after``) of ``revision``; ``poke`` re-sends the hook."""
        deadline = time.monotonic() + timeout
        last_poke = 0.0
        while time.monotonic() < deadline:
            self.daemon.process.check()
            for found in self.passes()[after:]:
                if revision.startswith(found.revision):
                    return found
            if poke and time.monotonic() - last_poke > 2:
                last_poke = time.monotonic()
                with contextlib.suppress(OSError):  # not listening yet
                    self.notify(revision)
            time.sleep(0.05)
        raise TestbedError(f"no sync pass of {revision[:7]} in {timeout:.0f}s\n{self.daemon.log()}")

    def memory(self) -> tuple[float, float]:
        """fluxd's (peak RSS, RSS now) in MiB, from /proc/<pid>/status."""
        status = Path(f"/proc/{self.daemon.process.popen.pid}/status").read_text()
        values = dict(re.findall(r"^(VmHWM|VmRSS):\s+(\d+) kB", status, re.M))
        return int(values["VmHWM"]) / 1024, int(values["VmRSS"]) / 1024

    # --- driving ------------------------------------------------------------------

    def notify(self, head: str) -> int:
        """What a git host does after a push: a signed GitHub push event."""
        body = json.dumps(
            {
                "ref": "refs/heads/master",
                "after": head,
                "repository": {
                    "ssh_url": self.git.ssh_url(self.repo),
                    "clone_url": self.git.http_url(self.repo),
                },
            }
        ).encode()
        digest = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": "push",
            "X-Hub-Signature-256": "sha256=" + digest,
        }
        return self.daemon.post("/hook/github", body, headers)

    def fluxctl(self, *args: str, exe: Path | None = None) -> subprocess.CompletedProcess[str]:
        """fluxctl through the port-forward, in whichever option order it accepts."""
        forms = (
            [self.fluxctl_form]
            if self.fluxctl_form
            else [["SUB", "--k8s-fwd-ns", "NS"], ["--k8s-fwd-ns", "NS", "SUB"]]
        )
        out: subprocess.CompletedProcess[str] | None = None
        for form in forms:
            argv: list[str] = []
            for part in form:
                argv += (
                    list(args)
                    if part == "SUB"
                    else [self.daemon.namespace if part == "NS" else part]
                )
            out = fluxctl(*argv, kubeconfig=self.kube.kubeconfig, exe=exe)
            if out.returncode == 0 or "No such option" not in out.stderr:
                self.fluxctl_form = form
                return out
        assert out is not None
        return out

    def fluxctl_command(self, *args: str) -> str:
        form = self.fluxctl_form or ["SUB", "--k8s-fwd-ns", "NS"]
        argv: list[str] = []
        for part in form:
            argv += (
                list(args) if part == "SUB" else [self.daemon.namespace if part == "NS" else part]
            )
        return "fluxctl " + shlex.join(argv).replace(self.daemon.namespace, "<ns>")

    def first_sync(self, repo: RepoSet) -> dict[str, Any]:
        """Push the N objects, notify, and time the passes until every one is applied.

        A pass that runs out of ``--sync-timeout`` records what it applied and
        the next pass goes on; the clock stops at the first pass with nothing failed.
        """
        before = len(self.passes())
        pushed = time.monotonic()
        head = self.git.push_files(self.repo, repo.files(), f"{len(repo.objects)} objects")
        push_took = time.monotonic() - pushed
        cpu = self.cpu_seconds()
        notified = time.time()
        self.notify(head)
        passes = self.wait_complete(head, after=before)
        used = {k: round(v - cpu[k], 2) for k, v in self.cpu_seconds().items()}
        present = self.api.count_present(repo.run)
        return {
            "revision": head,
            "push_s": round(push_took, 3),
            "took_s": round(sum(p.took for p in passes), 3),
            "passes": len(passes),
            "wall_s": round(passes[-1].at - notified, 3),
            "applied": sum(p.applied for p in passes),
            "failed": passes[-1].failed,
            "present": sum(present.values()),
            "expected": len(repo.all),
            # From the notify to a moment after the pass (the LIST above included
            # for the API server): whose CPU the pass used.
            "cpu_s": used,
        }

    def wait_complete(self, revision: str, *, after: int, timeout: float = 1800) -> list[Pass]:
        """The passes of ``revision`` from index ``after`` up to the first with nothing failed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.daemon.process.check()
            mine = [p for p in self.passes()[after:] if revision.startswith(p.revision)]
            done = next((i for i, p in enumerate(mine) if p.failed == 0), None)
            if done is not None:
                return mine[: done + 1]
            time.sleep(0.05)
        raise TestbedError(
            f"{revision[:7]} not wholly applied in {timeout:.0f}s\n{self.daemon.log()}"
        )

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds so far of fluxd, kube-apiserver and etcd (from /proc)."""
        tool = cpu_seconds_of(self.daemon.process.popen.pid)
        return {
            "tool": tool,
            **server_cpu(self.kube),
            "controllers": housekeeping_cpu(self.kube),
            "machine": machine_cpu()["busy"],
        }

    @property
    def user(self) -> str:
        """fluxd's name in the audit log: its ServiceAccount's."""
        return f"system:serviceaccount:{self.daemon.namespace}:flux"

    def noop(self, audit: AuditLog) -> dict[str, object]:
        """A pass with nothing to do, and every write fluxd made around it (audit log).

        The pass is asked for through fluxd's API on 127.0.0.1 (no port-forward).
        """
        before = len(self.passes())
        head = self.git.git(self.repo, "rev-parse", "HEAD")
        mark = audit.mark()
        out = fluxctl(
            "--url", self.daemon.url, "sync", kubeconfig=self.kube.kubeconfig, timeout=120
        )
        done = self.wait_pass(head, after=before, timeout=120)
        time.sleep(1.0)  # fluxd records an Event after the pass; let it land
        return {
            "took_s": done.took,
            "applied": done.applied,
            "drifted": done.drifted,
            "unchanged": done.unchanged,
            "fluxctl_rc": out.returncode,
            "writes": writes_of(audit, mark, self.user),
        }

    def timed_fluxctl(
        self, *args: str, exe: Path | None = None
    ) -> tuple[float, subprocess.CompletedProcess[str]]:
        began = time.monotonic()
        out = self.fluxctl(*args, exe=exe)
        return time.monotonic() - began, out

    def push_live(self, repo: RepoSet, mode: str, count: int) -> list[dict[str, float]]:
        """``count`` one-ConfigMap pushes; seconds until each change is visible."""
        probe = repo.probe()
        clone = WorkClone.of(self.git, self.repo)
        samples = []
        for i in range(count):
            value = f"{mode}-{i}-{time.time_ns()}"
            before = len(self.passes())
            head = clone.push(with_probe(repo, value), f"probe {value}")
            began = time.monotonic()
            if mode == "webhook":
                self.notify(head)
            deadline = began + 60
            while self.api.probe_value(probe) != value:
                if time.monotonic() > deadline:
                    raise TestbedError(
                        f"{mode}: change {i} not live after 60s\n{self.daemon.log()}"
                    )
                time.sleep(0.02)
            live = time.monotonic() - began
            done = self.wait_pass(head, after=before, timeout=60)
            samples.append({"live_s": round(live, 3), "took_s": done.took})
        return samples

    def restart_with(self, flag: str, value: str) -> None:
        """Restart the host fluxd with one flag changed (same pod, port and key)."""
        args = self.daemon.process.popen.args
        assert isinstance(args, list)
        argv = [f"{flag}={value}" if str(a).startswith(f"{flag}=") else str(a) for a in args]
        before = len(self.passes())
        self.daemon.process.stop()
        log = self.daemon.process.log
        self.daemon.process = start("fluxd", argv, logdir=log.parent, env=self.daemon.env)
        # The log is appended to; count passes from the old process's end.
        head = self.git.git(self.repo, "rev-parse", "HEAD")
        self.wait_pass(head, after=before, poke=True, timeout=300)

    def stop(self) -> None:
        self.daemon.stop()


_SERVERS = ("kube-apiserver", "etcd")
#: The rest of the test bed: what answers to the objects a run creates.
_HOUSEKEEPERS = ("kube-controller-manager", "kube-scheduler", "kwok")


def server_cpu(kube: Cluster, names: tuple[str, ...] = _SERVERS) -> dict[str, float]:
    """CPU seconds so far of the test bed's kube-apiserver and etcd (or of ``names``)."""
    return {p.name: cpu_seconds_of(p.popen.pid) for p in kube.processes if p.name in names}


def housekeeping_cpu(kube: Cluster) -> float:
    """CPU seconds so far of the controllers, the scheduler and kwok together."""
    return sum(server_cpu(kube, _HOUSEKEEPERS).values())


def machine_cpu() -> dict[str, float]:
    """CPU seconds so far of the whole machine, all cores: busy, and stolen by the host."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    tick = os.sysconf("SC_CLK_TCK")
    return {"busy": (user + nice + system + irq + softirq) / tick, "steal": steal / tick}


def cpu_seconds_of(pid: int, *, children: bool = False) -> float:
    """CPU seconds so far of ``pid`` (and of its children it has waited for)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    """The peak resident memory of ``pid`` so far (VmHWM), in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    return int(found.group(1)) / 1024 if found else 0.0


#: What leader election writes: a Lease renewed every few seconds whatever syncs.
LEASES = "leases"


def writes_of(audit: AuditLog, since: int, user: str) -> dict[str, object]:
    """``user``'s writes after ``since``: the total, per verb and resource, and each one.

    Writes to Leases (leader election's renewals) are no sync writes: they are
    counted apart, in ``lease_writes``, and left out of the rest. So are dry
    runs (``?dryRun=All``, how Flux v2 diffs each object before applying it),
    which the API server answers without storing anything: ``dry_runs``, and
    ``<verb> <resource> (dry run)`` in ``by_verb_resource``.
    """
    every = audit.writes(since, user)
    found = [w for w in every if w.resource != LEASES and not _dry_run(w.request_uri)]
    dry = [w for w in every if w.resource != LEASES and _dry_run(w.request_uri)]
    per_kind = Counter(f"{w.verb} {w.resource}{_sub(w.subresource)}" for w in found)
    per_kind.update(f"{w.verb} {w.resource}{_sub(w.subresource)} (dry run)" for w in dry)
    counted = Counter(w.key for w in found)
    return {
        "total": len(found),
        "by_verb_resource": dict(sorted(per_kind.items())),
        # Each write by name (the first 50): what a no-op pass still wrote.
        "by_name": dict(sorted(counted.items())[:50]),
        "lease_writes": sum(1 for w in every if w.resource == LEASES),
        "dry_runs": len(dry),
    }


def _sub(subresource: str) -> str:
    return f"/{subresource}" if subresource else ""


def _dry_run(request_uri: str) -> bool:
    """A request the API server validates and answers but does not store."""
    return "dryRun" in parse_qs(urlsplit(request_uri).query)
