"""One sync pass on the real test bed: git (file://) -> manifests -> cluster.

The engine is built as the daemon builds it, minus the HTTP side, so each
rule of a pass can be checked directly: what gets applied, what is reported,
what garbage collection may delete, how drift is found, where the marker goes.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from fluxd.cluster import Cluster as KubeCluster
from fluxd.cluster import KubeClient
from fluxd.git import GitMirror
from fluxd.settings import ClusterSettings, GitSettings, SshSettings, SyncSettings, SyncState
from fluxd.sync.engine import SyncEngine
from fluxd.sync.marker import GitTagMarker, SecretMarker, SyncMarker
from fluxd.sync.results import SyncResult
from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster
from fluxtestbed.objects import CountingClient

pytestmark = [pytest.mark.cluster, pytest.mark.gitserver]

# The user of the test bed's admin kubeconfig, which the engine here runs as.
ADMIN = "fluxpy-admin"


def config_map(name: str, value: str, namespace: str = "") -> str:
    ns = f"\n  namespace: {namespace}" if namespace else ""
    head = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}{ns}\n"
    return head + f"data:\n  value: {value!r}\n"


def deployment(name: str, replicas: int = 2) -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: main
        image: nginx:1.17.7
"""


CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.example.fluxpy.io
spec:
  group: example.fluxpy.io
  names: {{kind: {kind}, plural: {plural}, singular: {singular}, listKind: {kind}List}}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"""


@dataclass
class Bed:
    kube: Cluster
    git: GitServer
    repo: str
    namespace: str
    engine: SyncEngine
    mirror: GitMirror
    cluster: KubeCluster
    client: CountingClient

    def writes(self) -> int:
        """Mutating requests the engine has sent to the API server so far."""
        return sum(n for method, n in self.client.sent.items() if method != "GET")

    def push(self, files: dict[str, str | None], message: str = "change") -> str:
        sha = self.git.push_files(self.repo, files, message)
        self.mirror.refresh()
        return sha

    def sync(self) -> SyncResult:
        return self.engine.run_pass()

    def get(self, kind: str, name: str, jsonpath: str) -> str:
        out = self.kube.kubectl(
            "get", kind, name, "-n", self.namespace, "-o", f"jsonpath={jsonpath}", check=False
        )
        return out.stdout if out.returncode == 0 else "<absent>"


def make_bed(
    kube: Cluster,
    git: GitServer,
    namespace: str,
    *,
    gc: bool = False,
    readonly: bool = False,
    files: dict[str, str | None] | None = None,
    paths: tuple[str, ...] = (),
    takeover: bool = False,
    watch_kubeconfig: Path | None = None,
) -> Bed:
    """A bed; with ``watch_kubeconfig`` its drift check is fed by watches through it."""
    repo = f"engine-{namespace}"
    git.create_repo(repo)
    git.push_files(repo, files or {"README.md": "manifests\n"}, "start")
    git_settings = GitSettings(
        url=git.file_url(repo), readonly=readonly, user="fluxd", email="f@x", paths=paths
    )
    state = SyncState.SECRET if readonly else SyncState.GIT
    cluster_settings = ClusterSettings(
        namespace=namespace,
        kubeconfig=str(kube.kubeconfig),
        default_namespace=namespace,
        inventory_name="flux-inventory",
        instance_takeover=takeover,
    )
    sync = SyncSettings(garbage_collection=gc, state=state)
    workdir = Path(tempfile.mkdtemp(prefix="engine-"))
    mirror = GitMirror(git_settings, SshSettings(), workdir=workdir, identity_file=lambda: None)
    for _ in range(4):
        mirror.advance()
    assert mirror.ready, mirror.error
    client = CountingClient.from_settings(cluster_settings, pool_size=20)
    client.sent = Counter()
    watch_client = None
    if watch_kubeconfig is not None:
        watch_settings = replace(cluster_settings, kubeconfig=str(watch_kubeconfig))
        watch_client = KubeClient.from_settings(watch_settings, pool_size=4)
    cluster = KubeCluster(client, cluster_settings, sync, watch_client=watch_client)
    marker: SyncMarker
    if readonly:
        kube.kubectl("create", "secret", "generic", "flux-git-deploy", "-n", namespace)
        marker = SecretMarker(_Annotations(cluster))
    else:
        marker = GitTagMarker(mirror)
    engine = SyncEngine(
        mirror, cluster, marker, git=git_settings, sync=sync, cluster_settings=cluster_settings
    )
    return Bed(kube, git, repo, namespace, engine, mirror, cluster, client)


class _Annotations:
    def __init__(self, cluster: KubeCluster) -> None:
        self._cluster = cluster

    def read_annotations(self) -> dict[str, str]:
        return dict(self._cluster.read_secret("flux-git-deploy").annotations)

    def write_annotation(self, key: str, value: str) -> None:
        self._cluster.annotate_secret("flux-git-deploy", {key: value})


@pytest.fixture
def bed(kube: Cluster, git_server: GitServer, namespace: str) -> Iterator[Bed]:
    made = make_bed(kube, git_server, namespace)
    yield made
    made.cluster.close()


def test_a_broken_file_is_reported_with_file_line_and_cause_and_the_rest_is_applied(
    bed: Bed,
) -> None:
    files: dict[str, str | None] = {f"cm-{i}.yaml": config_map(f"cm-{i}", str(i)) for i in range(5)}
    files["broken.yaml"] = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  bad: [unclosed\n"
    )
    bed.push(files)
    result = bed.sync()
    assert result.applied == 5
    assert [f.source for f in result.failures] == ["broken.yaml"]
    failure = result.failures[0].error
    assert "broken.yaml" in failure
    assert re.search(r"line \d+", failure)
    for i in range(5):
        assert bed.get("configmap", f"cm-{i}", "{.data.value}") == str(i)


def test_a_crd_and_a_custom_resource_of_it_are_applied_in_one_pass(bed: Bed) -> None:
    suffix = bed.namespace.rsplit("-", 1)[-1]
    kind, plural = f"Widget{suffix}", f"widgets{suffix}"
    bed.push(
        {
            "crd.yaml": CRD.format(kind=kind, plural=plural, singular=f"widget{suffix}"),
            "widget.yaml": f"apiVersion: example.fluxpy.io/v1\nkind: {kind}\n"
            f"metadata:\n  name: first\nspec:\n  size: 3\n",
        }
    )
    result = bed.sync()
    try:
        assert result.failures == ()
        assert result.applied == 2
        assert bed.get(f"{plural}.example.fluxpy.io", "first", "{.spec.size}") == "3"
    finally:
        bed.kube.kubectl(
            "delete", "crd", f"{plural}.example.fluxpy.io", "--wait=false", check=False
        )


def test_an_unchanged_repo_sends_no_write_requests_and_drift_is_put_back(bed: Bed) -> None:
    audit = bed.kube.audit
    assert audit is not None, "the test bed's API server keeps an audit log"
    bed.push({"web.yaml": deployment("web", replicas=2), "cm.yaml": config_map("settings", "a")})
    mark = audit.mark()
    first = bed.sync()
    assert (first.applied, first.failures) == (2, ())
    # The counters do count the engine's applies (and the inventory's save),
    # the client's own and the API server's audit log alike...
    assert bed.writes() >= 3
    seen = audit.count(mark, user=ADMIN)
    assert seen[f"patch deployments {bed.namespace}/web"] == 1, seen
    assert seen[f"patch configmaps {bed.namespace}/settings"] == 1, seen

    writes_before = bed.writes()
    mark = audit.mark()
    quiet = bed.sync()
    assert (quiet.applied, quiet.drifted, quiet.unchanged) == (0, 0, 2)
    # ...and a pass over an unchanged repo makes none (only metadata GETs).
    assert bed.writes() == writes_before
    assert audit.writes(mark, user=ADMIN) == []

    bed.kube.kubectl("scale", "deployment/web", "--replicas=5", "-n", bed.namespace)
    bed.kube.kubectl("delete", "configmap", "settings", "-n", bed.namespace)
    healed = bed.sync()
    assert healed.drifted == 2
    assert bed.get("deployment", "web", "{.spec.replicas}") == "2"
    assert bed.get("configmap", "settings", "{.data.value}") == "a"


def test_the_sync_tag_marks_the_applied_revision_in_the_remote(bed: Bed) -> None:
    sha = bed.push({"cm.yaml": config_map("one", "1")})
    bed.sync()
    assert bed.git.git(bed.repo, "rev-parse", "flux-sync^{commit}").strip() == sha
    assert bed.engine.applied_revision() == sha


def test_read_only_mode_never_pushes_and_keeps_the_marker_on_the_secret(
    kube: Cluster, git_server: GitServer, namespace: str
) -> None:
    bed = make_bed(kube, git_server, namespace, readonly=True)
    sha = bed.push({"cm.yaml": config_map("one", "1")})
    bed.sync()
    tags = bed.git.git(bed.repo, "tag", "--list").split()
    assert tags == []
    annotation = kube.kubectl(
        "get",
        "secret",
        "flux-git-deploy",
        "-n",
        namespace,
        "-o",
        "jsonpath={.metadata.annotations.flux\\.weave\\.works/sync-hwm}",
    ).stdout
    assert annotation == sha
    bed.cluster.close()


def test_garbage_collection_deletes_what_left_git_but_not_while_a_file_is_broken(
    kube: Cluster, git_server: GitServer, namespace: str
) -> None:
    bed = make_bed(kube, git_server, namespace, gc=True)
    bed.push({"a.yaml": config_map("a", "1"), "b.yaml": config_map("b", "2")})
    bed.sync()
    kube.kubectl("create", "configmap", "not-ours", "-n", namespace)

    bed.push({"b.yaml": None, "broken.yaml": "kind: [\n"})
    held = bed.sync()
    assert held.deleted == ()
    assert "could not be loaded" in held.gc_skipped
    assert bed.get("configmap", "b", "{.data.value}") == "2"

    bed.push({"broken.yaml": None})
    collected = bed.sync()
    assert collected.deleted == (f"{namespace}:configmap/b",)
    _wait_absent(bed, "configmap", "b")
    assert bed.get("configmap", "a", "{.data.value}") == "1"
    assert bed.get("configmap", "not-ours", "{.metadata.name}") == "not-ours"
    bed.cluster.close()


def test_without_garbage_collection_nothing_is_deleted(bed: Bed) -> None:
    bed.push({"a.yaml": config_map("a", "1"), "b.yaml": config_map("b", "2")})
    bed.sync()
    bed.push({"b.yaml": None})
    result = bed.sync()
    assert result.deleted == ()
    assert bed.get("configmap", "b", "{.data.value}") == "2"


def test_objects_marked_ignore_are_not_applied(bed: Bed) -> None:
    ignored = config_map("skipped", "1").replace(
        "metadata:\n", "metadata:\n  annotations:\n    fluxcd.io/ignore: 'true'\n"
    )
    bed.push({"ignored.yaml": ignored, "kept.yaml": config_map("kept", "1")})
    result = bed.sync()
    assert result.applied == 1
    assert bed.get("configmap", "skipped", "{.metadata.name}") == "<absent>"


def _wait_absent(bed: Bed, kind: str, name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while bed.get(kind, name, "{.metadata.name}") != "<absent>":
        assert time.monotonic() < deadline, f"{kind}/{name} still present"
        time.sleep(0.2)
