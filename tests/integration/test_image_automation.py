"""Automation against a real registry: a new tag becomes a commit in git, then a rollout.

The seed's nginx Deployment, its image in the test-bed registry, is
annotated ``fluxcd.io/automated: "true"`` and ``fluxcd.io/tag.nginx:
semver:~1.17``; a second Deployment of the same image is automated but
locked. fluxd runs on the host from deploy/, with a writable deploy key on
the sshd git server, scanning every second and checking automation every few.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from fluxtestbed.fluxd_host import HostFluxd, fluxctl, host_fluxd, wait_for
from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster
from fluxtestbed.registry import Registry

pytestmark = pytest.mark.cluster

REPO = f"library/nginx-{uuid.uuid4().hex[:6]}"
FILE = "nginx-deployment-flux.yaml"
LOCKED_FILE = "frozen.yaml"

NGINX = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
  labels:
    app: nginx
  annotations:
    # Follow patch releases of 1.17 only.
    fluxcd.io/automated: "true"
    fluxcd.io/tag.nginx: semver:~1.17
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
        image: {image}
        ports:
        - containerPort: 80
"""

FROZEN = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: frozen
  annotations:
    fluxcd.io/automated: "true"
    fluxcd.io/locked: "true"
spec:
  replicas: 1
  selector:
    matchLabels: {{app: frozen}}
  template:
    metadata:
      labels: {{app: frozen}}
    spec:
      containers:
      - name: nginx
        image: {image}
"""


@dataclass
class Automated:
    kube: Cluster
    git: GitServer
    registry: Registry
    repo: str
    target: str
    daemon: HostFluxd

    def image(self, tag: str) -> str:
        return f"{self.registry.anon_host}/{REPO}:{tag}"

    def push(self, tag: str, created: str) -> None:
        self.registry.push_image(REPO, tag, created=created)

    def head(self) -> str:
        return self.git.git(self.repo, "rev-parse", "refs/heads/master")

    def running_image(self, name: str) -> str:
        out = self.kube.kubectl(
            "get", "deployment", name, "-n", self.target,
            "-o", "jsonpath={.spec.template.spec.containers[0].image}",
            check=False,
        )  # fmt: skip
        return out.stdout.strip() if out.returncode == 0 else ""

    def events(self, reason: str) -> str:
        out = self.kube.kubectl(
            "get", "events", "-n", self.daemon.namespace,
            f"--field-selector=reason={reason}", "-o", "jsonpath={.items[*].message}",
        )  # fmt: skip
        return out.stdout

    def list_images(self) -> str:
        out = fluxctl(
            "list-images", "-n", self.target, "--k8s-fwd-ns", self.daemon.namespace,
            kubeconfig=self.kube.kubeconfig,
        )  # fmt: skip
        return out.stdout if out.returncode == 0 else ""


def seen_with_time(bed: Automated, tag: str) -> bool:
    """``list-images`` shows ``tag`` with its creation time (empty while not yet read)."""
    return any(
        tag in line and line.rstrip().endswith("UTC") for line in bed.list_images().splitlines()
    )


@pytest.fixture(scope="module")
def automated(kube: Cluster, git_server: GitServer, registry: Registry) -> Iterator[Automated]:
    sfx = uuid.uuid4().hex[:6]
    repo, namespace, target = f"auto-{sfx}", f"flux-{sfx}", f"apps-{sfx}"
    registry.push_image(REPO, "1.17.7", created="2020-01-01T10:00:00Z")
    current = f"{registry.anon_host}/{REPO}:1.17.7"
    files = {FILE: NGINX.format(image=current), LOCKED_FILE: FROZEN.format(image=current)}
    git_server.create_repo(repo)
    git_server.push_files(repo, files, "Add the nginx demo")
    kube.kubectl("create", "namespace", target)
    args = (
        f"--k8s-default-namespace={target}",
        "--registry-scan-interval=1s",
        "--automation-interval=5s",
        "--git-poll-interval=5m",  # the pushes fluxd makes are fetched at once regardless
    )
    with host_fluxd(
        kube,
        namespace=namespace,
        git_url=git_server.ssh_url(repo),
        known_hosts=git_server.known_hosts_lines(),
        extra_args=args,
        env={"SSL_CERT_FILE": str(registry.ca)},
    ) as daemon:
        bed = Automated(kube, git_server, registry, repo, target, daemon)
        identity = fluxctl(
            "identity", "--k8s-fwd-ns", namespace, kubeconfig=kube.kubeconfig
        ).stdout.strip()
        git_server.authorize(identity)
        wait_for("the first sync", lambda: bed.running_image("nginx-deployment") == current, 120)
        wait_for("the first scan", lambda: "1.17.7" in bed.list_images())
        yield bed
    for ns in (namespace, target):
        kube.kubectl("delete", "namespace", ns, "--wait=false", check=False)


def test_a_new_patch_release_is_committed_and_rolled_out(automated):
    bed = automated
    before = bed.head()
    pushed = time.monotonic()
    bed.push("1.17.8", created="2020-02-01T10:00:00Z")
    new = wait_for("fluxd's commit", lambda: (h := bed.head()) != before and h, 60)
    committed = time.monotonic()
    wait_for(
        "the rollout",
        lambda: bed.running_image("nginx-deployment") == bed.image("1.17.8"),
        60,
    )
    rolled = time.monotonic()
    print(f"\npush->commit {committed - pushed:.1f}s push->rollout {rolled - pushed:.1f}s")
    assert bed.git.git(bed.repo, "log", "-1", "--format=%B", new) == (
        f"Auto-release {bed.image('1.17.8')}"
    )
    assert bed.git.git(bed.repo, "rev-list", "--count", f"{before}..{new}") == "1"
    diff = bed.git.git(bed.repo, "diff", "--unified=0", before, new)
    assert [line for line in diff.splitlines() if line[:1] in "+-"] == [
        f"--- a/{FILE}",
        f"+++ b/{FILE}",
        f"-        image: {bed.image('1.17.7')}",
        f"+        image: {bed.image('1.17.8')}",
    ]
    text = bed.git.git(bed.repo, "show", f"{new}:{FILE}") + "\n"
    assert text == NGINX.format(image=bed.image("1.17.8"))
    wait_for("the AutoReleased Event", lambda: new[:7] in bed.events("AutoReleased"))


def test_a_locked_workload_is_not_touched(automated):
    bed = automated
    wait_for("the release", lambda: "1.17.8" in bed.running_image("nginx-deployment"), 60)
    text = bed.git.git(bed.repo, "show", f"HEAD:{LOCKED_FILE}") + "\n"
    assert text == FROZEN.format(image=bed.image("1.17.7"))
    assert bed.running_image("frozen") == bed.image("1.17.7")


def test_a_minor_release_outside_the_filter_is_not_released(automated):
    bed = automated
    wait_for("the release", lambda: "1.17.8" in bed.running_image("nginx-deployment"), 60)
    before = bed.head()
    bed.push("1.18.0", created="2020-03-01T10:00:00Z")
    wait_for("the scan to see 1.18.0", lambda: "1.18.0" in bed.list_images())
    # A later patch release is committed; 1.18.0, seen first, never was.
    bed.push("1.17.9", created="2020-04-01T10:00:00Z")
    new = wait_for("fluxd's commit", lambda: (h := bed.head()) != before and h, 60)
    log = bed.git.git(bed.repo, "log", "--format=%s", f"{before}..{new}")
    assert log == f"Auto-release {bed.image('1.17.9')}"
    wait_for("the rollout", lambda: bed.running_image("nginx-deployment") == bed.image("1.17.9"))


def test_release_update_all_images_chooses_from_the_registry_scan(automated):
    bed = automated
    bed.push("2.0.0", created="2021-01-01T10:00:00Z")
    # The tag is listed before its creation time is read, and only then is it the newest.
    wait_for("the scan to see 2.0.0 and when it was made", lambda: seen_with_time(bed, "2.0.0"))
    # frozen has no tag filter (glob:*): the newest image by creation time.
    out = fluxctl(
        "release", f"--workload={bed.target}:deployment/frozen", "--update-all-images",
        "--force", "--dry-run", "--k8s-fwd-ns", bed.daemon.namespace,
        kubeconfig=bed.kube.kubeconfig,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert f"{bed.image('1.17.7')} -> 2.0.0" in out.stdout, out.stdout
