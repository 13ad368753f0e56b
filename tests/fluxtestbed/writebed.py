"""A daemon that writes to git, with its remote, for the write commands' tests.

``STARTERS`` start one fluxd on the test bed (Flux v1's own 1.25.4, or
ours), gives it a repo of the seed's nginx Deployment and a two-container
Deployment, lets its deploy key write, and returns once the branch HEAD is
applied. ``WriteBed`` is what a test needs of it: the API URL both fluxctls
talk to, and the git remote, to read the commits the daemon pushed.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxtestbed.fluxd_host import start_host_fluxd
from fluxtestbed.fluxv1d import start_fluxv1d
from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster
from fluxtestbed.procs import wait_until
from fluxtestbed.scenario import seed_files

#: Committer of the daemon's commits, the same for every daemon kind.
GIT_USER = "Flux automation"
GIT_EMAIL = "flux@example.com"

TWO_CONTAINERS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: {namespace}
  # The web tier; its image tags follow semver.
  annotations:
    note: kept as written
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.17.7
      - name: logger
        image: busybox:1.36
"""


def repo_files(namespace: str) -> dict[str, str]:
    """The seed's files and ``web.yaml``, each workload in ``namespace``.

    The namespace is written out because Flux v1's manifest editor finds a
    workload by the namespace its file names.
    """
    files = {
        name: text.replace("\nmetadata:\n", f"\nmetadata:\n  namespace: {namespace}\n", 1)
        for name, text in seed_files("1.17.7").items()
    }
    return {**files, "web.yaml": TWO_CONTAINERS.replace("{namespace}", namespace)}


@dataclass
class WriteBed:
    """A running daemon (``url`` ends in ``/api/flux``) and the repo it commits to."""

    kind: str
    url: str
    git: GitServer
    repo: str
    target: str
    kube: Cluster
    stop: Callable[[], None]

    def head(self) -> str:
        return self.git.git(self.repo, "rev-parse", "refs/heads/master")

    def diff(self, old: str, new: str) -> str:
        """``git diff old new`` in the remote, without the index lines (blob ids differ)."""
        text = self.git.git(self.repo, "diff", old, new)
        return "\n".join(line for line in text.splitlines() if not line.startswith("index "))

    def message(self, rev: str) -> str:
        return self.git.git(self.repo, "log", "-1", "--format=%B", rev)

    def committer(self, rev: str) -> str:
        return self.git.git(self.repo, "log", "-1", "--format=%cn <%ce>", rev)

    def restore(self, rev: str, message: str) -> str:
        """Push a commit whose tree is ``rev``'s: the branch is as before, history goes on.

        Returns once the daemon has fetched it: Flux v1's fluxd does not
        fetch before a job, so its next job would push onto a stale branch.
        """
        tree = self.git.git(self.repo, "rev-parse", f"{rev}^{{tree}}")
        head = self.head()
        if self.git.git(self.repo, "rev-parse", f"{head}^{{tree}}") == tree:
            return head
        env_args = ("-c", "user.name=Test", "-c", "user.email=test@example.com")
        new = self.git.git(self.repo, *env_args, "commit-tree", tree, "-p", head, "-m", message)
        self.git.git(self.repo, "update-ref", "refs/heads/master", new, head)
        self.wait_fetched(new)
        return new

    def wait_fetched(self, rev: str) -> None:
        """Tell the daemon the branch moved; return once it knows ``rev``."""
        self._notify()
        wait_until(
            f"the daemon to fetch {rev[:7]}",
            lambda: _unsynced(self.url, rev) is not None,
            timeout=60,
            interval=0.2,
        )

    def wait_synced(self) -> None:
        """Return once the daemon has applied HEAD and moved its sync tag there.

        Flux v1's fluxd moves the tag in its mirror while a job may be cloning
        that mirror; a job caught in between fails with "would clobber existing
        tag". GET /v6/sync?ref= lists the commits between the mirror's sync tag
        and ``ref``: empty once the move is done, in both daemons.
        """
        head = self.head()
        self._notify()
        wait_until(
            f"the daemon to apply {head[:7]}",
            lambda: _unsynced(self.url, head) == [],
            timeout=120,
            interval=0.2,
        )

    def _notify(self) -> None:
        """Flux v1's push notification: the daemon fetches now, not at its next poll."""
        notify = {"Kind": "git", "Source": {"URL": self.git.ssh_url(self.repo), "Branch": "master"}}
        _call(self.url, "POST", "/v11/notify", notify)

    def fluxctl(
        self, exe: Path, *args: str, env: dict[str, str], timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(exe), *args, "--url", self.url],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )


def _unsynced(url: str, rev: str) -> list[str] | None:
    """The commits up to ``rev`` the daemon has not applied; None until its clone has ``rev``
    (GET /v6/sync?ref= fails until then)."""
    status, body = _call(url, "GET", f"/v6/sync?ref={rev}")
    return list(json.loads(body) or []) if status == 200 else None


def _call(url: str, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{url}{path}", data=data, method=method)
    request.add_header("Accept", "application/json")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def start_fluxv1_bed(kube: Cluster, git: GitServer) -> WriteBed:
    """Flux v1's fluxd with write access to a fresh repo, HEAD applied."""
    sfx = uuid.uuid4().hex[:6]
    repo, target = f"write-{sfx}", f"wapps-{sfx}"
    git.create_repo(repo)
    git.push_files(repo, repo_files(target), "Add the nginx demo")
    kube.kubectl("create", "namespace", target)
    daemon = start_fluxv1d(
        kube, git, namespace=f"fluxv1w-{sfx}", target=target, repo=repo,
        extra_args=(
            "--ssh-keygen-type=ed25519", f"--git-user={GIT_USER}", f"--git-email={GIT_EMAIL}",
        ),
    )  # fmt: skip

    def stop() -> None:
        daemon.stop()
        for namespace in (daemon.namespace, target):
            kube.kubectl("delete", "namespace", namespace, "--wait=false", check=False)

    try:
        git.authorize(daemon.call("GET", "/v6/identity.pub")[1]["key"])
        head = git.git(repo, "rev-parse", "refs/heads/master")
        wait_until(
            f"Flux v1's fluxd to apply {head[:7]}",
            lambda: "flux-sync" in git.git(repo, "tag", "--points-at", head).split(),
            timeout=120,
            interval=1,
            watch=[daemon.process],
        )
    except BaseException:
        stop()
        raise
    return WriteBed("fluxv1", daemon.url, git, repo, target, kube, stop)


def start_fluxpy_bed(kube: Cluster, git: GitServer) -> WriteBed:
    """Our fluxd (deploy/'s, as a host process) with write access to a fresh repo, HEAD applied."""
    sfx = uuid.uuid4().hex[:6]
    repo, target = f"write-{sfx}", f"wapps-{sfx}"
    git.create_repo(repo)
    git.push_files(repo, repo_files(target), "Add the nginx demo")
    kube.kubectl("create", "namespace", target)
    daemon = start_host_fluxd(
        kube,
        namespace=f"fluxw-{sfx}",
        git_url=git.ssh_url(repo),
        known_hosts=git.known_hosts_lines(),
        extra_args=(
            f"--k8s-default-namespace={target}",
            # Its own namespace only: other tests' workloads come and go, and
            # an export or listing must not change between the two fluxctls.
            f"--k8s-allow-namespace={target}",
            f"--git-user={GIT_USER}",
            f"--git-email={GIT_EMAIL}",
        ),
    )

    def stop() -> None:
        daemon.stop()
        for namespace in (daemon.namespace, target):
            kube.kubectl("delete", "namespace", namespace, "--wait=false", check=False)

    url = daemon.url
    try:
        status, body = _call(url, "GET", "/v6/identity.pub")
        assert status == 200, body
        git.authorize(json.loads(body)["key"])
        head = git.git(repo, "rev-parse", "refs/heads/master")
        wait_until(
            f"our fluxd to apply {head[:7]}",
            lambda: "flux-sync" in git.git(repo, "tag", "--points-at", head).split(),
            timeout=120,
            interval=0.5,
            watch=[daemon.process],
        )
    except BaseException:
        stop()
        raise
    return WriteBed("fluxpy", url, git, repo, target, kube, stop)


STARTERS: dict[str, Callable[[Cluster, GitServer], WriteBed]] = {
    "fluxv1": start_fluxv1_bed,
    "fluxpy": start_fluxpy_bed,
}
