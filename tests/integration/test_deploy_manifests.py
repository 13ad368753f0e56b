"""deploy/ is what users apply: it must apply cleanly, match the daemon's and
the CLI's defaults, and give a Ready fluxd pod.

The static checks read the files; the ``cluster`` tests apply the real files
to the test bed (kwok makes the pod Running and Ready; the image is never
pulled) and remove what they applied afterwards.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fluxctl.portforward import FALLBACK_SELECTOR, FLUX_PORT
from fluxctl.session import DEFAULT_FORWARD_LABELS
from fluxd.flags import build_parser, parse, split_address
from fluxd.settings import ApiSettings, ClusterSettings
from fluxtestbed.kube import NODE_NAME, Cluster

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
LEAST_PRIVILEGE = DEPLOY / "least-privilege"
EXAMPLES = DEPLOY / "examples"
NAMESPACE = "flux"

Obj = dict[str, Any]


def _manifest_files(directory: Path) -> list[Path]:
    """The files `kubectl apply -f <directory>` reads (it is not recursive)."""
    return sorted(
        p for p in directory.iterdir() if p.is_file() and p.suffix in {".yaml", ".yml", ".json"}
    )


def _objects(*paths: Path) -> list[Obj]:
    out: list[Obj] = []
    for path in paths:
        out += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return out


def _key(obj: Obj) -> tuple[str, str, str]:
    meta = obj["metadata"]
    return obj["kind"], meta.get("namespace", ""), meta["name"]


def _one(objects: list[Obj], kind: str, name: str) -> Obj:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


@pytest.fixture(scope="module")
def objects() -> list[Obj]:
    return _objects(*_manifest_files(DEPLOY))


@pytest.fixture(scope="module")
def deployment(objects: list[Obj]) -> Obj:
    return _one(objects, "Deployment", "flux")


@pytest.fixture(scope="module")
def pod_spec(deployment: Obj) -> Obj:
    return dict(deployment["spec"]["template"]["spec"])


@pytest.fixture(scope="module")
def container(pod_spec: Obj) -> Obj:
    (only,) = pod_spec["containers"]
    return dict(only)


# --- the files themselves ------------------------------------------------------


def test_the_kustomization_lists_the_top_level_manifests() -> None:
    # Named `Kustomization`, which kustomize reads and `kubectl apply -f` skips
    # (it would fail on a kustomization.yaml: no such kind in the cluster).
    assert not (DEPLOY / "kustomization.yaml").exists()
    kustomization = yaml.safe_load((DEPLOY / "Kustomization").read_text())
    listed = sorted(kustomization["resources"])
    # flux-ns.yaml's Namespace is repeated at the top of flux-account.yaml.
    assert listed == [p.name for p in _manifest_files(DEPLOY) if p.name != "flux-ns.yaml"]
    # Subdirectories hold alternatives and examples: neither `-f deploy` nor
    # `-k deploy` may pick them up.
    assert not any(str(r).startswith(("least-privilege", "examples")) for r in listed)


def test_the_namespace_comes_first_in_the_file_kubectl_reads_first() -> None:
    """`kubectl apply -f deploy` applies files in name order, objects as read."""
    first = _manifest_files(DEPLOY)[0]
    (namespace,) = _objects(DEPLOY / "flux-ns.yaml")
    assert _objects(first)[0] == namespace
    kinds = [o["kind"] for o in _objects(*_manifest_files(DEPLOY))]
    assert kinds.index("Namespace") == 0


def test_deploy_holds_the_flux_v1_objects(objects: list[Obj]) -> None:
    assert {_key(o) for o in objects} == {
        ("Namespace", "", NAMESPACE),
        ("ServiceAccount", NAMESPACE, "flux"),
        ("ClusterRole", "", "flux"),
        ("ClusterRoleBinding", "", "flux"),
        ("Secret", NAMESPACE, "flux-git-deploy"),
        ("Deployment", NAMESPACE, "flux"),
        ("PodDisruptionBudget", NAMESPACE, "flux"),
    }
    secret = _one(objects, "Secret", "flux-git-deploy")
    assert secret["type"] == "Opaque"
    assert not secret.get("data") and not secret.get("stringData"), "must ship without a key"


def test_every_deployment_arg_is_a_fluxd_flag_and_sets_what_the_walkthrough_says(
    container: Obj,
) -> None:
    args = [str(a) for a in container["args"]]
    settings, warnings = parse(args, env={})
    assert warnings == []
    assert settings.git.url == "git@github.com:YOUR-USER/YOUR-REPO"
    assert settings.git.branch == "master"
    assert settings.git.paths == ()
    assert settings.git.sync_tag == "flux-sync"
    assert settings.git.user == "Flux automation"
    assert settings.git.email == "flux@example.com"
    assert split_address(settings.api.listen_metrics) == ("0.0.0.0", 3031)
    assert str(settings.ssh.keygen_dir) == "/var/fluxd/keygen"


def _commented_args(text: str) -> list[str]:
    return re.findall(r"^\s*#\s*- (--[a-z0-9-]+(?:=\S.*)?)\s*$", text, flags=re.MULTILINE)


def test_every_commented_out_arg_is_a_fluxd_flag_too() -> None:
    commented = _commented_args((DEPLOY / "flux-deployment.yaml").read_text())
    assert "--git-path=namespaces,workloads" in commented
    assert "--ssh-known-hosts=/etc/fluxd/known_hosts/known_hosts" in commented
    assert "--k8s-allow-namespace=default" in commented
    known = {opt for action in build_parser()._actions for opt in action.option_strings}
    for arg in commented:
        flag = arg.split("=", 1)[0]
        assert flag in known, arg
        if flag.endswith("-file"):
            continue  # names a file that exists only inside the pod
        _, warnings = parse([arg], env={})
        assert warnings == [], arg


def test_the_leader_wears_the_first_fluxctl_selector_and_every_pod_the_second(
    deployment: Obj, container: Obj
) -> None:
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    # fluxctl's first selector, --k8s-fwd-labels (default app=flux), only on
    # the leader's pod: Flux v1's fluxctl refuses two pods that match ...
    leader_labels = [
        a.split("=", 1)[1] for a in container["args"] if a.startswith("--leader-pod-labels=")
    ]
    assert leader_labels == [DEFAULT_FORWARD_LABELS]
    for pair in DEFAULT_FORWARD_LABELS.split(","):
        key, _ = pair.split("=", 1)
        assert key not in labels
    # ... and its fallback, name in (flux,fluxd,weave-flux-agent), on every pod.
    found = re.fullmatch(r"(\w+) in \(([^)]*)\)", FALLBACK_SELECTOR)
    assert found, FALLBACK_SELECTOR
    assert labels.get(found.group(1)) in found.group(2).split(",")
    # A label the leader takes off must not be one the ReplicaSet selects by.
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()


def test_two_replicas_elect_a_leader_and_roll_one_pod_at_a_time(
    deployment: Obj, container: Obj
) -> None:
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"]["type"] == "RollingUpdate"
    # A new pod is up before an old one goes: a standby is always there.
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    settings, _ = parse([str(a) for a in container["args"]], env={"POD_NAME": "flux-a"})
    assert settings.leader.elect is True
    assert settings.leader.identity == "flux-a"
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"


def test_replicas_spread_over_nodes_and_a_drain_leaves_one(
    deployment: Obj, objects: list[Obj]
) -> None:
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    anti = deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    (term,) = anti["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert term["podAffinityTerm"]["labelSelector"]["matchLabels"].items() <= labels.items()
    budget = _one(objects, "PodDisruptionBudget", "flux")
    assert budget["spec"]["minAvailable"] == 1
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_ports_match_the_daemon_and_the_cli(container: Obj, deployment: Obj) -> None:
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["http"] == FLUX_PORT == split_address(ApiSettings().listen)[1] == 3030
    assert ports["metrics"] == 3031
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(ports["metrics"])
    assert annotations["prometheus.io/path"] == "/metrics"


def test_key_secret_volume_matches_the_daemon_defaults(container: Obj, pod_spec: Obj) -> None:
    defaults = ClusterSettings()
    volumes = {v["name"]: v for v in pod_spec["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}

    key_mount = mounts[str(defaults.secret_mount_path)]
    assert str(defaults.secret_mount_path) == "/etc/fluxd/ssh"
    assert key_mount["readOnly"] is True
    key_volume = volumes[key_mount["name"]]["secret"]
    assert key_volume["secretName"] == defaults.secret_name == "flux-git-deploy"
    assert key_volume["defaultMode"] == 0o400
    assert defaults.secret_data_key == "identity"

    keygen_mount = mounts["/var/fluxd/keygen"]
    assert volumes[keygen_mount["name"]]["emptyDir"] == {"medium": "Memory"}


def test_the_pod_knows_its_namespace_and_account(container: Obj, pod_spec: Obj) -> None:
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    assert pod_spec["serviceAccountName"] == "flux"


def test_probes_and_resources(container: Obj) -> None:
    for probe in ("livenessProbe", "readinessProbe"):
        get = container[probe]["httpGet"]
        assert get["port"] in ("http", 3030)
        assert get["path"] in ("/healthz", "/readyz", "/api/flux/v6/identity.pub")
    resources = container["resources"]
    assert {"cpu", "memory"} <= resources["requests"].keys()
    assert "memory" in resources["limits"]


def test_the_container_runs_locked_down(container: Obj, pod_spec: Obj) -> None:
    ctx = container["securityContext"]
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["capabilities"]["drop"] == ["ALL"]
    pod_ctx = pod_spec["securityContext"]
    assert pod_ctx["runAsNonRoot"] is True
    assert pod_ctx["runAsUser"] == 10001  # the image's user (deploy/Dockerfile)
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "USER 10001" in dockerfile
    assert "EXPOSE 3030 3031" in dockerfile


def test_the_image_is_the_documented_one(container: Obj) -> None:
    assert container["image"] in (ROOT / "docs" / "deploy.md").read_text()


def test_the_least_privilege_variant_grants_no_cluster_wide_writes() -> None:
    objects = _objects(*_manifest_files(LEAST_PRIVILEGE))
    for cluster_role in (o for o in objects if o["kind"] == "ClusterRole"):
        for rule in cluster_role["rules"]:
            assert set(rule["verbs"]) <= {"get", "list", "watch"}, rule
            assert "*" not in rule.get("resources", []), rule
    bindings = [o for o in objects if o["kind"] in ("RoleBinding", "ClusterRoleBinding")]
    assert bindings
    for binding in bindings:
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "flux", "namespace": NAMESPACE}
        ]
    assert not any(p.name.lower().startswith("kustomization") for p in LEAST_PRIVILEGE.iterdir())


# --- on the test bed -------------------------------------------------------------


def _cleanup(kube: Cluster) -> None:
    """Remove everything deploy/ and its variants create, and wait until it is gone."""
    for path in [*_manifest_files(DEPLOY), *_manifest_files(LEAST_PRIVILEGE)]:
        kube.kubectl("delete", "--ignore-not-found", "--wait=false", "-f", str(path), check=False)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        gone = kube.kubectl("get", "namespace", NAMESPACE, check=False).returncode != 0
        if gone:
            return
        time.sleep(0.5)
    raise AssertionError(f"namespace {NAMESPACE} was not deleted within 120s")


@pytest.fixture(scope="module")
def deploy_cleanup(kube: Cluster) -> Iterator[None]:
    """Remove what deploy/ and its variants created once this module is done."""
    if kube.kubectl("get", "namespace", NAMESPACE, check=False).returncode == 0:
        pytest.fail(f"namespace {NAMESPACE} exists already; these tests would delete it")
    try:
        yield
    finally:
        _cleanup(kube)


@pytest.fixture
def flux_namespace(kube: Cluster, deploy_cleanup: None) -> str:
    """Namespace `flux` exists (a server-side dry run of its objects needs it)."""
    kube.kubectl("apply", "-f", str(DEPLOY / "flux-ns.yaml"))
    return NAMESPACE


def _dry_run(kube: Cluster, *args: str) -> str:
    done = kube.kubectl("apply", "--dry-run=server", *args, check=False)
    assert done.returncode == 0, (
        f"kubectl apply --dry-run=server {shlex.join(args)}:\n{done.stderr}"
    )
    return done.stdout


def _running_pods(kube: Cluster, selector: str) -> list[Obj]:
    out = kube.kubectl(
        "get",
        "pods",
        "-n",
        NAMESPACE,
        "-l",
        selector,
        "--field-selector=status.phase=Running",
        "-o",
        "json",
    ).stdout
    return list(json.loads(out)["items"])


@pytest.mark.cluster
def test_applying_deploy_to_a_fresh_cluster_gives_two_ready_pods_that_fluxctl_finds(
    kube: Cluster, deploy_cleanup: None
) -> None:
    _cleanup(kube)  # from nothing, as the walkthrough starts: no namespace yet
    done = kube.kubectl("apply", "-f", str(DEPLOY), check=False)  # the walkthrough's command
    assert done.returncode == 0, done.stderr
    kube.kubectl(
        "wait", "-n", NAMESPACE, "deployment/flux", "--for=condition=Available", "--timeout=90s"
    )
    # The test bed's pods run no fluxd, so none leads and none wears app=flux
    # (tests/reliability/test_replicas.py checks the leader's label).
    assert _running_pods(kube, DEFAULT_FORWARD_LABELS) == []
    by_name = _running_pods(kube, FALLBACK_SELECTOR)
    assert len(by_name) == 2
    for pod in by_name:
        # One node here: the anti-affinity is a preference, so both run on it.
        assert pod["spec"]["nodeName"] == NODE_NAME
        ready = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
        assert ready["Ready"] == "True"
        # Admission kept the lock-down (e.g. no mutating policy relaxed it).
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        assert pod["spec"]["serviceAccountName"] == "flux"


@pytest.mark.cluster
@pytest.mark.parametrize(
    "path",
    [*_manifest_files(DEPLOY), *_manifest_files(LEAST_PRIVILEGE), *_manifest_files(EXAMPLES)],
    ids=lambda p: str(p.relative_to(DEPLOY)),
)
def test_each_manifest_passes_a_server_side_dry_run(
    kube: Cluster, flux_namespace: str, path: Path
) -> None:
    _dry_run(kube, "-f", str(path))


@pytest.mark.cluster
def test_the_whole_directory_and_its_kustomization_pass_a_server_side_dry_run(
    kube: Cluster, flux_namespace: str
) -> None:
    by_file = _dry_run(kube, "-f", str(DEPLOY))
    by_kustomize = _dry_run(kube, "-k", str(DEPLOY))
    assert "deployment.apps/flux" in by_file
    assert set(by_file.splitlines()) == set(by_kustomize.splitlines())


@pytest.mark.cluster
def test_kustomize_builds_the_same_objects_as_the_files(kube: Cluster, objects: list[Obj]) -> None:
    built = [d for d in yaml.safe_load_all(kube.kubectl("kustomize", str(DEPLOY)).stdout) if d]
    assert len(built) == len(set(map(_key, built)))
    assert set(map(_key, built)) == set(map(_key, objects))


@pytest.mark.cluster
def test_reapplying_deploy_keeps_the_key_fluxd_stored(kube: Cluster, flux_namespace: str) -> None:
    kube.kubectl(
        "apply", "-f", str(DEPLOY / "flux-ns.yaml"), "-f", str(DEPLOY / "flux-secret.yaml")
    )
    patch = {"data": {"identity": "a2V5", "identity.pub": "cHVi"}}
    kube.kubectl("patch", "secret", "-n", NAMESPACE, "flux-git-deploy", "-p", json.dumps(patch))
    kube.kubectl("apply", "-f", str(DEPLOY))
    data = json.loads(
        kube.kubectl("get", "secret", "-n", NAMESPACE, "flux-git-deploy", "-o", "json").stdout
    )["data"]
    assert data == patch["data"]


def _can(kube: Cluster, verb: str, resource: str, namespace: str | None = None) -> bool:
    where = ["-n", namespace] if namespace else ["--all-namespaces"]
    done = kube.kubectl(
        "auth",
        "can-i",
        verb,
        resource,
        *where,
        f"--as=system:serviceaccount:{NAMESPACE}:flux",
        check=False,
    )
    return done.stdout.strip() == "yes"


@pytest.mark.cluster
def test_the_least_privilege_variant_limits_fluxd_to_its_namespaces(
    kube: Cluster, flux_namespace: str
) -> None:
    # The broad grant of deploy/flux-account.yaml would hide what this one allows.
    kube.kubectl("delete", "clusterrolebinding", "flux", "--ignore-not-found")
    kube.kubectl("apply", "-f", str(LEAST_PRIVILEGE))
    try:
        assert _can(kube, "create", "deployments.apps", "default")
        assert _can(kube, "delete", "services", "default")
        assert _can(kube, "patch", "secrets", NAMESPACE)
        assert _can(kube, "create", "configmaps", NAMESPACE)
        assert _can(kube, "update", "leases.coordination.k8s.io", NAMESPACE)
        assert not _can(kube, "update", "leases.coordination.k8s.io", "kube-system")
        assert _can(kube, "list", "namespaces")
        assert _can(kube, "list", "customresourcedefinitions.apiextensions.k8s.io")
        assert not _can(kube, "create", "deployments.apps", "kube-system")
        assert not _can(kube, "get", "secrets", "kube-system")
        assert not _can(kube, "create", "namespaces")
        assert not _can(kube, "create", "clusterroles.rbac.authorization.k8s.io")
    finally:
        kube.kubectl("delete", "--ignore-not-found", "-f", str(LEAST_PRIVILEGE), check=False)
