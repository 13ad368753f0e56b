"""Run the ``flux`` pod's container from the fluxd image, as a kubelet would.

The container gets what the pod of deploy/flux-deployment.yaml gets on a
node: the ServiceAccount token, ``ca.crt`` and ``namespace`` at the usual
path (read-only), KUBERNETES_SERVICE_HOST/PORT, the Deployment's env, its
volumes (the key Secret's files with the Secret volume's mode, a memory-backed
keygen dir, a writable /tmp), its securityContext (uid/gid 10001, read-only
root filesystem, all capabilities dropped, no privilege escalation) and its
args. fluxd therefore loads its in-cluster configuration, not a kubeconfig.

The container shares the host's network, so it reaches the API server and git
server on 127.0.0.1. That network is shared with every other test, which is
why the two listen addresses are the only args that differ from the
Deployment's: loopback, on free ports. The git server's host key is mounted
as deploy/'s commented-out known-hosts ConfigMap would be.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from fluxtestbed.image import LIMITS, TAG, Engine, build_image, find_engine
from fluxtestbed.kube import Cluster
from fluxtestbed.procs import Process, TestbedError, start

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
KNOWN_HOSTS = "/etc/fluxd/known_hosts/known_hosts"
RUNNER_ENV = "FLUXD_TESTBED_RUNNER"


@functools.cache
def choose_runner() -> tuple[Engine | None, str]:
    """The engine to run fluxd with (None: a host process) and a line saying so."""
    wanted = os.environ.get(RUNNER_ENV, "auto")
    if wanted == "host":
        return None, f"fluxd runs as a host process ({RUNNER_ENV}=host)"
    engine = find_engine()
    if engine is None:
        if wanted == "container":
            raise TestbedError(f"{RUNNER_ENV}=container, but neither podman nor docker is here")
        return None, (
            "fluxd runs as a host process: no container engine here "
            "(deploy/image/install-build-deps.sh installs podman)"
        )
    return engine, f"fluxd runs in its container image {TAG} ({engine.name})"


@functools.cache
def container_runner() -> Engine | None:
    """``choose_runner``'s engine with the image built, said once on stderr."""
    engine, message = choose_runner()
    print(f"[testbed] {message}", file=sys.stderr, flush=True)
    if engine is not None:
        build_image()
    return engine


def _image_of(container: dict[str, Any]) -> str:
    """This checkout's build of the Deployment's image (the same, by its sources)."""
    if container["image"] != TAG:
        raise TestbedError(f"deploy/ names image {container['image']}, make image builds {TAG}")
    return build_image()


def start_container(
    cluster: Cluster,
    *,
    engine: Engine,
    namespace: str,
    pod: str,
    workdir: Path,
    listen: tuple[int, int],
    host_args: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> tuple[Process, str]:
    """Start the pod's container; the engine's client process and the container's name."""
    spec = _pod_spec(cluster, namespace)
    container = spec["containers"][0]
    name = f"fluxd-{namespace}-{uuid.uuid4().hex[:6]}"
    args = [a for a in container["args"] if not a.startswith("--listen-metrics=")]
    args += [
        f"--listen=127.0.0.1:{listen[0]}",
        f"--listen-metrics=127.0.0.1:{listen[1]}",
        f"--ssh-known-hosts={KNOWN_HOSTS}",
        *host_args,
    ]
    argv = [
        *engine.command,
        "run",
        "--rm",
        f"--name={name}",
        *LIMITS,
        "--network=host",
        *_security(engine, spec, container),
        *_limits(container),
        *_service_account(cluster, namespace, pod, workdir),
        *_volumes(cluster, namespace, spec, container, workdir),
        *_env(container, namespace, pod, env or {}),
        _image_of(container),
        *args,
    ]
    return start("fluxd", argv, logdir=workdir), name


def stop_container(engine: Engine, name: str, process: Process) -> None:
    """Stop fluxd the way a kubelet does (SIGTERM, then kill), and remove the container."""
    engine.run("stop", "--time=10", name, check=False)
    process.stop()
    engine.run("rm", "--force", "--ignore", name, check=False)


def _pod_spec(cluster: Cluster, namespace: str) -> dict[str, Any]:
    out = cluster.kubectl("get", "deployment", "flux", "-n", namespace, "-o", "json").stdout
    spec: dict[str, Any] = json.loads(out)["spec"]["template"]["spec"]
    return spec


def _security(engine: Engine, spec: dict[str, Any], container: dict[str, Any]) -> list[str]:
    pod_sc = spec.get("securityContext", {})
    sc = {**pod_sc, **container.get("securityContext", {})}
    if "runAsUser" not in sc or "runAsGroup" not in sc:
        raise TestbedError("deploy/flux-deployment.yaml no longer sets runAsUser/runAsGroup")
    opts = [f"--user={sc['runAsUser']}:{sc['runAsGroup']}"]
    if "fsGroup" in pod_sc:
        opts.append(f"--group-add={pod_sc['fsGroup']}")
    if sc.get("readOnlyRootFilesystem"):
        opts.append("--read-only")
        if engine.name == "podman":
            # No tmpfs on /tmp and /run either: a pod gets only the volumes it names.
            opts.append("--read-only-tmpfs=false")
    if sc.get("allowPrivilegeEscalation") is False:
        opts.append("--security-opt=no-new-privileges")
    for cap in sc.get("capabilities", {}).get("drop", []):
        opts.append(f"--cap-drop={cap}")
    return opts


def _limits(container: dict[str, Any]) -> list[str]:
    """The container's resource limits (the quantities deploy/ uses: Mi, Gi, cores, m)."""
    limits = container.get("resources", {}).get("limits", {})
    opts = []
    if "memory" in limits:
        memory = str(limits["memory"])
        units = {"Mi": "m", "Gi": "g"}
        opts.append(f"--memory={memory[:-2]}{units[memory[-2:]]}")
    if "cpu" in limits:
        cpu = str(limits["cpu"])
        opts.append(f"--cpus={int(cpu[:-1]) / 1000 if cpu.endswith('m') else float(cpu)}")
    return opts


def _service_account(cluster: Cluster, namespace: str, pod: str, workdir: Path) -> list[str]:
    """What the kubelet projects for the pod's ServiceAccount, and the API's address."""
    sa = workdir / "serviceaccount"
    sa.mkdir(mode=0o755)
    token = cluster.kubectl(
        "create", "token", "flux", "-n", namespace, "--duration=24h",
        "--bound-object-kind=Pod", f"--bound-object-name={pod}",
    ).stdout.strip()  # fmt: skip
    conf = yaml.safe_load(cluster.kubeconfig.read_text())["clusters"][0]["cluster"]
    (sa / "token").write_text(token)
    (sa / "ca.crt").write_bytes(Path(conf["certificate-authority"]).read_bytes())
    (sa / "namespace").write_text(namespace)
    for f in sa.iterdir():
        f.chmod(0o644)
    host, _, port = conf["server"].removeprefix("https://").rpartition(":")
    return [
        "--volume",
        f"{sa}:{SA_DIR}:ro",
        "--env",
        f"KUBERNETES_SERVICE_HOST={host}",
        "--env",
        f"KUBERNETES_SERVICE_PORT={port}",
    ]


def _volumes(
    cluster: Cluster,
    namespace: str,
    spec: dict[str, Any],
    container: dict[str, Any],
    workdir: Path,
) -> list[str]:
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    group = spec.get("securityContext", {}).get("fsGroup")
    opts: list[str] = []
    for mount in container.get("volumeMounts", []):
        volume, path = volumes[mount["name"]], mount["mountPath"]
        ro = ":ro" if mount.get("readOnly") else ""
        if "secret" in volume:
            src = _secret_files(cluster, namespace, volume["secret"], workdir, group)
            opts += ["--volume", f"{src}:{path}{ro}"]
        elif volume.get("emptyDir", {}).get("medium") == "Memory":
            opts += ["--tmpfs", f"{path}:rw,nosuid,nodev,mode=1777"]
        elif "emptyDir" in volume:
            src = workdir / f"volume-{mount['name']}"
            src.mkdir()
            src.chmod(0o1777)
            opts += ["--volume", f"{src}:{path}"]
        else:
            raise TestbedError(f"the test bed cannot give the pod volume {mount['name']!r}")
    known = workdir / "known_hosts"
    known.touch()
    return [*opts, "--volume", f"{known}:{KNOWN_HOSTS}:ro"]


def _secret_files(
    cluster: Cluster, namespace: str, secret: dict[str, Any], workdir: Path, group: int | None
) -> Path:
    """The Secret's data as files: owner root, the volume's mode, group read for fsGroup."""
    out = cluster.kubectl("get", "secret", secret["secretName"], "-n", namespace, "-o", "json")
    data: dict[str, str] = json.loads(out.stdout).get("data") or {}
    mode = int(secret.get("defaultMode", 0o644)) | (0o040 if group is not None else 0)
    src = workdir / f"secret-{secret['secretName']}"
    src.mkdir(mode=0o755)
    for key, value in data.items():
        path = src / key
        path.write_bytes(base64.b64decode(value))
        path.chmod(mode)
        if group is not None and os.geteuid() == 0:
            os.chown(path, 0, group)
    return src


def _env(container: dict[str, Any], namespace: str, pod: str, extra: dict[str, str]) -> list[str]:
    # No pod IP: the container is no pod; one replica leads alone and forwards nothing.
    fields = {"metadata.namespace": namespace, "metadata.name": pod, "status.podIP": ""}
    values = {"POD_NAME": pod}
    for item in container.get("env", []):
        if "value" in item:
            values[item["name"]] = item["value"]
        else:
            values[item["name"]] = fields[item["valueFrom"]["fieldRef"]["fieldPath"]]
    values.update(extra)
    return [opt for key, value in values.items() for opt in ("--env", f"{key}={value}")]
