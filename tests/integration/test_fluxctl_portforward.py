"""fluxctl finds fluxd's pod and reaches it through a real API server's port-forward.

The cluster is the test bed's (kube-apiserver with RBAC, kwok node). kwok
routes a pod's port 3030 to a local address, where the fake fluxd of the
unit tests answers with recorded Flux v1 bodies; so everything between
fluxctl and fluxd is the real thing: kubeconfig, pod lookup, RBAC, the
``pods/portforward`` websocket and HTTP through it.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import Result

from fluxtestbed.kube import Cluster
from unit.cli.fake_daemon import FakeDaemon, Server, build_app, fixture
from unit.cli.harness import CLEAN_ENV, Fluxctl

pytestmark = pytest.mark.cluster

REVISION = fixture("jobs-succeeded.json")["Result"]["revision"]


@pytest.fixture(scope="module")
def _fluxd() -> Iterator[tuple[FakeDaemon, int]]:
    daemon = FakeDaemon()
    server = Server(build_app(daemon)).start()
    daemon.url = f"http://127.0.0.1:{server.port}/api/flux"
    try:
        yield daemon, server.port
    finally:
        server.stop()


@pytest.fixture
def fluxd(_fluxd: tuple[FakeDaemon, int]) -> FakeDaemon:
    _fluxd[0].reset()
    return _fluxd[0]


@pytest.fixture(scope="module")
def fluxd_port_module(_fluxd: tuple[FakeDaemon, int]) -> int:
    return _fluxd[1]


@dataclass(frozen=True)
class Pods:
    """Namespaces, each with the pods one kind of test needs."""

    by_name: str  # flux-0, labelled name=flux, serving the fake fluxd
    by_label: str  # flux-helm, labelled app=flux, serving the fake fluxd
    twins: str  # flux-a and flux-b, both app=flux
    deaf: str  # flux, app=flux, whose port 3030 leads nowhere


def _register(kube: Cluster, namespace: str, name: str, labels: dict[str, str], port: int) -> None:
    try:
        kube.register_pod(namespace, name, labels=labels, port_forward_to=port)
    except subprocess.CalledProcessError:
        # kwok can take longer than the helper's 30 s to mark a pod Ready on a
        # busy machine; give it more time before failing the tests.
        kube.wait_pod_ready(namespace, name, timeout=120)


@pytest.fixture(scope="module")
def pods(kube: Cluster, fluxd_port_module: int) -> Iterator[Pods]:
    """All pods of this module, created at once: kwok readies them in one pass."""
    suffix = uuid.uuid4().hex[:6]
    spaces = Pods(*(f"fluxctl-{kind}-{suffix}" for kind in ("name", "label", "twins", "deaf")))
    specs = [
        (spaces.by_name, "flux-0", {"name": "flux"}, fluxd_port_module),
        (spaces.by_label, "flux-helm", {"app": "flux"}, fluxd_port_module),
        (spaces.twins, "flux-a", {"app": "flux"}, fluxd_port_module),
        (spaces.twins, "flux-b", {"app": "flux"}, fluxd_port_module),
        (spaces.deaf, "flux", {"app": "flux"}, closed_port()),
    ]
    for namespace in {spec[0] for spec in specs}:
        kube.kubectl("create", "namespace", namespace)
    try:
        with ThreadPoolExecutor(len(specs)) as pool:
            for done in [pool.submit(_register, kube, *spec) for spec in specs]:
                done.result()
        yield spaces
    finally:
        for namespace in {spec[0] for spec in specs}:
            kube.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


@pytest.fixture
def fluxctl(kube: Cluster, tmp_path: Path) -> Fluxctl:
    """fluxctl with the test bed's admin kubeconfig and no FLUX_* settings."""
    return Fluxctl({**CLEAN_ENV, "KUBECONFIG": str(kube.kubeconfig), "HOME": str(tmp_path)})


def ns_args(namespace: str) -> list[str]:
    return ["--k8s-fwd-ns", namespace]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_ok(result: Result) -> None:
    assert result.exit_code == 0, result.output


def test_no_pod_lists_the_selectors_tried_and_the_namespace_hint(
    fluxctl: Fluxctl, namespace: str
) -> None:
    result = fluxctl(*ns_args(namespace), "identity")

    assert result.exit_code == 3
    assert result.stderr == (
        f'Error: No pod found in namespace "{namespace}" using the following selectors:\n'
        "  app=flux\n"
        "  name in (flux,fluxd,weave-flux-agent)\n"
        "\n"
        f'Make sure Flux is running in namespace "{namespace}".\n'
        "If Flux is running in another different namespace, please supply it to --k8s-fwd-ns.\n"
    )


def test_custom_labels_are_tried_first(fluxctl: Fluxctl, namespace: str) -> None:
    result = fluxctl(*ns_args(namespace), "--k8s-fwd-labels", "role=gitops", "identity")

    assert result.exit_code == 3
    assert "  role=gitops\n  name in (flux,fluxd,weave-flux-agent)\n" in result.stderr


def test_a_pod_labelled_app_flux_is_found(fluxctl: Fluxctl, fluxd: FakeDaemon, pods: Pods) -> None:
    result = fluxctl(*ns_args(pods.by_label), "identity")

    assert_ok(result)
    assert result.stdout == fixture("git-repo-config.json")["publicSSHKey"]["key"]


def test_a_pod_labelled_name_flux_is_found_by_the_second_selector(
    fluxctl: Fluxctl, fluxd: FakeDaemon, pods: Pods
) -> None:
    result = fluxctl("identity", env={"FLUX_FORWARD_NAMESPACE": pods.by_name})

    assert_ok(result)
    assert result.stdout.startswith("ssh-")


def test_two_matching_pods_are_ambiguous(fluxctl: Fluxctl, pods: Pods) -> None:
    result = fluxctl(*ns_args(pods.twins), "identity")

    assert result.exit_code == 3
    assert result.stderr.startswith(
        f'Error: Ambiguous pod: 2 running pods match "app=flux" in namespace "{pods.twins}":\n'
        "  flux-a\n  flux-b\n"
    )
    assert "--k8s-fwd-labels" in result.stderr


def test_a_pod_that_is_not_running_yet_is_reported_as_such(
    kube: Cluster, fluxctl: Fluxctl, namespace: str
) -> None:
    # No node of that name exists, so the pod stays Pending.
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "flux-starting", "namespace": namespace, "labels": {"app": "flux"}},
        "spec": {"nodeName": "no-such-node", "containers": [{"name": "f", "image": "x:1"}]},
    }
    kube.apply_objects([pod])

    result = fluxctl(*ns_args(namespace), "identity")

    assert result.exit_code == 3
    assert f'no running fluxd pod in namespace "{namespace}"' in result.stderr
    assert "flux-starting (Pending)" in result.stderr


def test_nothing_listening_in_the_pod_is_unreachable(fluxctl: Fluxctl, pods: Pods) -> None:
    result = fluxctl(*ns_args(pods.deaf), "identity")

    assert result.exit_code == 3
    assert result.stderr.startswith("Error: cannot reach fluxd at http://127.0.0.1:")
    assert f"kubectl -n {pods.deaf} logs flux" in result.stderr


def test_identity_and_sync_through_the_port_forward(
    fluxctl: Fluxctl, fluxd: FakeDaemon, pods: Pods
) -> None:
    fluxd.script("GET /v6/sync", fixture("sync-pending.json"), fixture("sync-done.json"))

    # Exactly as the walkthrough types them: the flag after the command.
    identity = fluxctl("identity", "--k8s-fwd-ns", pods.by_name)
    sync = fluxctl("sync", "--k8s-fwd-ns", pods.by_name)

    assert_ok(identity)
    assert identity.stdout == fixture("git-repo-config.json")["publicSSHKey"]["key"]
    assert_ok(sync)
    url = fixture("git-repo-config.json")["remote"]["url"]
    assert sync.stderr.splitlines() == [
        f"Synchronizing with {url}",
        f"Revision of master to apply is {REVISION[:7]}",
        f"Waiting for {REVISION[:7]} to be applied ...",
        "Done.",
    ]
    assert len(fluxd.calls("GET /v6/sync")) == 2


def test_sync_failures_come_through_the_port_forward(
    fluxctl: Fluxctl, fluxd: FakeDaemon, pods: Pods
) -> None:
    fluxd.script("GET /v11/sync-errors", fixture("sync-errors.json"))

    result = fluxctl(*ns_args(pods.by_name), "sync")

    assert result.exit_code == 1
    assert "default:deployment/web  deploy/web.yaml" in result.stderr
    assert "Done." not in result.stderr


def test_a_warm_no_op_sync_through_the_port_forward_is_quick(
    fluxctl: Fluxctl, fluxd: FakeDaemon, pods: Pods
) -> None:
    fluxctl(*ns_args(pods.by_name), "sync")  # imports done, connections warm

    timings = []
    for _ in range(5):
        started = time.monotonic()
        assert_ok(fluxctl(*ns_args(pods.by_name), "sync"))
        timings.append(time.monotonic() - started)
    # Pod lookup, one port-forward websocket and five requests through it.
    print(f"\nfluxctl sync, in-process, via port-forward: {[round(t, 3) for t in timings]}")
    assert min(timings) < 1.0


def test_a_no_op_sync_in_a_new_process(kube: Cluster, pods: Pods, tmp_path: Path) -> None:
    env = {"KUBECONFIG": str(kube.kubeconfig), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    command = [str(Path(sys.executable).parent / "fluxctl"), "sync", *ns_args(pods.by_name)]

    timings = []
    for _ in range(3):
        started = time.monotonic()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        timings.append(time.monotonic() - started)
        assert done.returncode == 0, done.stderr
        assert done.stderr.splitlines()[-1] == "Done."
    print(f"\nfluxctl sync, new process each, via port-forward: {[round(t, 3) for t in timings]}")


def service_account_kubeconfig(kube: Cluster, namespace: str, account: str, path: Path) -> Path:
    token = kube.kubectl("create", "token", account, "-n", namespace).stdout.strip()
    admin = yaml.safe_load(kube.kubeconfig.read_text())
    cluster = admin["clusters"][0]["cluster"]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "testbed", "cluster": cluster}],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [{"name": account, "context": {"cluster": "testbed", "user": account}}],
        "current-context": account,
    }
    path.write_text(yaml.safe_dump(config))
    return path


def test_without_rights_to_list_pods_the_missing_permission_is_named(
    kube: Cluster, fluxctl: Fluxctl, namespace: str, tmp_path: Path
) -> None:
    kube.kubectl("create", "serviceaccount", "nobody", "-n", namespace)
    kubeconfig = service_account_kubeconfig(kube, namespace, "nobody", tmp_path / "kc")

    result = fluxctl(*ns_args(namespace), "identity", env={"KUBECONFIG": str(kubeconfig)})

    assert result.exit_code == 1
    assert result.stderr.startswith(f'Error: not allowed to list pods in namespace "{namespace}"')
    assert "get and create pods/portforward" in result.stderr


def test_without_portforward_rights_the_missing_permission_is_named(
    kube: Cluster, fluxctl: Fluxctl, pods: Pods, tmp_path: Path
) -> None:
    namespace = pods.by_name
    kube.kubectl("create", "serviceaccount", "viewer", "-n", namespace)
    kube.kubectl(
        "create", "role", "pod-reader", "-n", namespace, "--verb=get,list", "--resource=pods"
    )
    kube.kubectl(
        "create",
        "rolebinding",
        "viewer-reads-pods",
        "-n",
        namespace,
        "--role=pod-reader",
        f"--serviceaccount={namespace}:viewer",
    )
    kubeconfig = service_account_kubeconfig(kube, namespace, "viewer", tmp_path / "kc")

    result = fluxctl(*ns_args(namespace), "identity", env={"KUBECONFIG": str(kubeconfig)})

    assert result.exit_code == 1
    # The API server names the verb it checked: "get" for a websocket
    # upgrade on some versions, "create" on others.
    first_line = result.stderr.splitlines()[0]
    assert re.match(r"Error: not allowed to (get|create) pods/portforward in namespace", first_line)
    assert f"system:serviceaccount:{namespace}:viewer" in result.stderr
