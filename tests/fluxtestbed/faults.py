"""What the fault scenarios share: fluxd installed to sync a generated repo, a
git front that can be made to hang, a ledger of live objects, and the figures
each scenario records for docs/reliability.md.

The ledger is how "nothing wrongly deleted" is checked: an object deleted and
re-created by fluxd gets a new uid, so comparing uids catches what a count
would miss.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fluxtestbed.fluxd_host import ROOT, start_host_fluxd, wait_for
from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster
from fluxtestbed.revision import code_revision
from fluxtestbed.scenario import Installation

FIGURES = ROOT / ".testbed" / "reliability.json"
SET_LABEL = "reliability.fluxpy.io/set"
#: fluxd's settings in the scenarios: garbage collection on (so a wrong
#: deletion would really happen), a quick git poll, and a sync interval long
#: enough that only fluxd's own retries can explain a quick recovery.
DEFAULT_ARGS = (
    "--sync-garbage-collection",
    "--git-poll-interval=2s",
    "--sync-interval=10m",
)


# --- the repo ---------------------------------------------------------------


def config_map(name: str, value: str, set_name: str) -> str:
    return (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"
        f"  labels:\n    {SET_LABEL}: {set_name}\ndata:\n  value: {value!r}\n"
    )


def config_maps(
    count: int, value: str, set_name: str = "main", per_file: int = 100
) -> dict[str, str]:
    """``count`` ConfigMaps ``cm-00000``... with ``value``, ``per_file`` to a file."""
    files: dict[str, str] = {}
    for start in range(0, count, per_file):
        docs = [
            config_map(f"cm-{i:05d}", value, set_name)
            for i in range(start, min(count, start + per_file))
        ]
        files[f"objects/part-{start // per_file:04d}.yaml"] = "---\n".join(docs)
    return files


# --- installing ---------------------------------------------------------------


def install_fluxd(
    kube: Cluster,
    git: GitServer,
    files: dict[str, str],
    *,
    extra_args: Sequence[str] = (),
    git_url: Callable[[str], str] | None = None,
    known_hosts: Sequence[str] | None = None,
    env: dict[str, str] | None = None,
    authorize: bool = True,
) -> Installation:
    """A repo with ``files`` and fluxd (deploy/ + a host process) syncing it into a new namespace.

    ``git_url`` makes fluxd's URL from the repo's name (default: the git server's sshd).
    """
    suffix = uuid.uuid4().hex[:6]
    repo, namespace, target = f"fault-{suffix}", f"flux-{suffix}", f"apps-{suffix}"
    git.create_repo(repo)
    git.push_files(repo, files, "the manifests")
    kube.kubectl("create", "namespace", target)
    daemon = start_host_fluxd(
        kube,
        namespace=namespace,
        git_url=(git_url or git.ssh_url)(repo),
        known_hosts=git.known_hosts_lines() if known_hosts is None else known_hosts,
        extra_args=(f"--k8s-default-namespace={target}", *DEFAULT_ARGS, *extra_args),
        env=env,
    )
    inst = Installation(kube, git, repo, namespace, target, daemon)
    if authorize:
        git.authorize(public_key(inst))
        notify(inst)  # so the first fetch need not wait for fluxd's 10 s retry
    return inst


def notify(inst: Installation) -> None:
    """Tell fluxd its repo moved (POST /api/flux/v11/notify), as a CI job would."""
    change = {"Kind": "git", "Source": {"URL": inst.git.ssh_url(inst.repo), "Branch": "master"}}
    body = json.dumps(change).encode()
    inst.daemon.post("/api/flux/v11/notify", body, {"Content-Type": "application/json"})


def public_key(inst: Installation) -> str:
    return str(inst.daemon.get_json("/v6/identity.pub")["key"]).strip()


def remove(inst: Installation) -> None:
    inst.daemon.stop()
    for ns in (inst.namespace, inst.target):
        inst.kube.kubectl(
            "delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False
        )


# --- watching the cluster and fluxd ---------------------------------------------


def count_live(kube: Cluster, namespace: str, set_name: str = "main") -> int:
    """ConfigMaps of ``set_name`` in ``namespace`` (one LIST; the API server
    gives no remainingItemCount with a label selector, so items are counted)."""
    selector = quote(f"{SET_LABEL}={set_name}")
    path = f"/api/v1/namespaces/{namespace}/configmaps?labelSelector={selector}"
    return len(json.loads(kube.raw_get(path))["items"])


@dataclass
class Ledger:
    """The ConfigMaps of a namespace as seen at one moment: name -> (uid, value)."""

    objects: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def take(cls, kube: Cluster, namespace: str) -> Ledger:
        items = json.loads(kube.raw_get(f"/api/v1/namespaces/{namespace}/configmaps"))["items"]
        return cls(
            {
                o["metadata"]["name"]: (
                    o["metadata"]["uid"],
                    (o.get("data") or {}).get("value", ""),
                )
                for o in items
            }
        )

    def wrongly_deleted(self, later: Ledger) -> list[str]:
        """Names live here that ``later`` lacks or holds under another uid (deleted, re-created)."""
        return sorted(
            name
            for name, (uid, _value) in self.objects.items()
            if later.objects.get(name, ("", ""))[0] != uid
        )

    def lost(self, wanted: Sequence[str], value: str) -> list[str]:
        """Of ``wanted``, the names not live with ``value``."""
        return sorted(n for n in wanted if self.objects.get(n, ("", ""))[1] != value)


def time_until(check: Callable[[], object], timeout: float, interval: float = 0.25) -> float | None:
    """Seconds until ``check()`` is true, or None when it is still false after ``timeout``.

    For the figures: a scenario records how long recovery took (or that it
    did not happen) before it asserts.
    """
    began = time.monotonic()
    while True:
        with contextlib.suppress(OSError, ValueError, KeyError):
            if check():
                return round(time.monotonic() - began, 2)
        if time.monotonic() - began > timeout:
            return None
        time.sleep(interval)


def synced(inst: Installation, revision: str) -> bool:
    """fluxd reports a finished pass of ``revision`` without failures."""
    report = inst.daemon.readyz()
    return bool(report["last_sync_revision"] == revision and report["last_sync_failures"] == 0)


def git_error(inst: Installation) -> str:
    return str(inst.daemon.readyz()["git_error"])


def wait_git_error(inst: Installation, *words: str, timeout: float = 60) -> str:
    """Wait until fluxd reports a git error containing all ``words``; return it."""
    return str(
        wait_for(
            f"fluxd to report a git error with {words}",
            lambda: (e := git_error(inst)) and all(w.lower() in e.lower() for w in words) and e,
            timeout=timeout,
            interval=0.25,
        )
    )


def head(git: GitServer, repo: str) -> str:
    return git.git(repo, "rev-parse", "refs/heads/master")


# --- the figures ------------------------------------------------------------------


def record(scenario: str, **figures: Any) -> dict[str, Any]:
    """Keep one scenario's figures in .testbed/reliability.json and print them on one line.

    The line (``RELIABILITY {json}``) can be grepped from a CI log; the file
    is what docs/reliability.md quotes.
    """
    entry = {
        "scenario": scenario,
        **figures,
        "measured_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": code_revision(),
    }
    print("RELIABILITY " + json.dumps(entry, sort_keys=True), file=sys.stderr)
    FIGURES.parent.mkdir(exist_ok=True)
    known = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    known[scenario] = entry
    FIGURES.write_text(json.dumps(known, indent=2, sort_keys=True) + "\n")
    return entry


# --- a git host that accepts connections and then says nothing --------------------


class GitFront:
    """A TCP front on 127.0.0.1 for the git server's sshd (or any TCP server).

    It forwards each connection while ``answering``; after ``hang()`` it
    accepts new connections and never sends or forwards a byte, like a host
    behind a broken load balancer. ``cut()`` drops the connections it is
    forwarding, as a restarted proxy would (the API server's watches use it).
    """

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._hanging = threading.Event()
        self._held: list[socket.socket] = []
        self._forwarded: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def hang(self) -> None:
        self._hanging.set()

    def answer(self) -> None:
        self._hanging.clear()
        with self._lock:
            for conn in self._held:
                conn.close()
            self._held.clear()

    def close(self) -> None:
        self.answer()
        self._listener.close()

    def cut(self) -> int:
        """Close every connection being forwarded; how many there were."""
        with self._lock:
            cut, self._forwarded = self._forwarded, []
        for conn in cut:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        return len(cut)

    def held(self) -> int:
        """Connections accepted and left hanging so far."""
        with self._lock:
            return len(self._held)

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self._listener.accept()
                if self._hanging.is_set():
                    with self._lock:
                        self._held.append(conn)
                    continue
                threading.Thread(target=self._forward, args=(conn,), daemon=True).start()

    def _forward(self, conn: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self._target), timeout=10)
        except OSError:
            conn.close()
            return
        upstream.settimeout(None)
        with self._lock:
            self._forwarded += [conn, upstream]
        threading.Thread(target=_pump, args=(upstream, conn), daemon=True).start()
        _pump(conn, upstream)


def _pump(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)
