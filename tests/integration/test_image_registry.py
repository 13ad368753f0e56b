"""fluxd scans a real registry (TLS, htpasswd) and fluxctl lists what it found.

The registry is the CNCF distribution registry the test bed builds; images
are pushed through its HTTP API. fluxd runs on the host against the test
bed's cluster, with no git repo: listing images needs only the workloads.
Our fluxctl and Flux v1's own (1.25.4) read the same answer.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from fluxtestbed.fluxd_host import HostFluxd, fluxctl, host_fluxd, wait_for
from fluxtestbed.fluxv1 import FluxV1Binaries
from fluxtestbed.kube import Cluster
from fluxtestbed.registry import PASSWORD, USER, FaultyFront, Registry

pytestmark = pytest.mark.cluster

REPO = f"team/web-{uuid.uuid4().hex[:6]}"


def deployment(name: str, image: str, *, secret: str = "", **annotations: str) -> dict[str, Any]:
    pod: dict[str, Any] = {"containers": [{"name": "web", "image": image}]}
    if secret:
        pod["imagePullSecrets"] = [{"name": secret}]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod},
        },
    }


def pull_secret(*hosts: str) -> dict[str, Any]:
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    config = {"auths": {host: {"auth": auth} for host in hosts}}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "registry-creds"},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()},
    }


@pytest.fixture(scope="module")
def front(registry: Registry) -> Iterator[FaultyFront]:
    faulty = registry.faulty_front()
    faulty.mode = 401
    yield faulty
    faulty.close()


@pytest.fixture(scope="module")
def scanned(
    kube: Cluster, registry: Registry, front: FaultyFront
) -> Iterator[tuple[str, HostFluxd]]:
    registry.push_image(REPO, "1.17", created="2020-01-01T10:00:00Z")
    registry.push_image(REPO, "1.17.8", created="2020-02-01T10:00:00Z", oci=True)
    registry.push_index(
        REPO, "1.18.0", {"arm64": "2020-03-01T10:00:00Z", "amd64": "2020-03-02T10:00:00Z"}
    )
    suffix = uuid.uuid4().hex[:6]
    apps, flux = f"apps-{suffix}", f"flux-{suffix}"
    kube.kubectl("create", "namespace", apps)
    objects = [
        pull_secret(registry.host, front.host),
        deployment("web", f"{registry.host}/{REPO}:1.17", secret="registry-creds"),
        deployment("anon", f"{registry.anon_host}/{REPO}:1.17.8"),
        deployment("nocreds", f"{registry.host}/{REPO}-private:1"),
        deployment("faulty", f"{front.host}/{REPO}:1.17", secret="registry-creds"),
    ]
    for obj in objects:
        obj["metadata"]["namespace"] = apps
    kube.apply_objects(objects)
    args = ("--registry-scan-interval=1s", "--registry-timeout=2s", "--registry-burst=4")
    with host_fluxd(
        kube, namespace=flux, git_url="", extra_args=args, env={"SSL_CERT_FILE": str(registry.ca)}
    ) as daemon:
        yield apps, daemon
    kube.kubectl("delete", "namespace", apps, "--wait=false", check=False)


def list_images(kube: Cluster, daemon: HostFluxd, *args: str, exe: Any = None) -> str:
    out = fluxctl(
        "list-images", *args, "--k8s-fwd-ns", daemon.namespace, kubeconfig=kube.kubeconfig, exe=exe
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def images_json(kube: Cluster, daemon: HostFluxd, workload: str) -> dict[str, Any]:
    (status,) = json.loads(list_images(kube, daemon, "-w", workload, "-o", "json"))
    (container,) = status["Containers"]
    return dict(container)


def test_list_images_shows_the_registrys_tags_with_creation_times(kube, scanned):
    apps, daemon = scanned
    # Wait for web's own repository: another workload's (anon, the same tags
    # through another host) can be scanned first.
    web = ("-n", apps, "-w", "deployment/web")
    wait_for("the scan", lambda: "1.17.8" in list_images(kube, daemon, *web))
    table = list_images(kube, daemon, *web).splitlines()
    assert table[0].split() == ["WORKLOAD", "CONTAINER", "IMAGE", "CREATED"]
    assert table[1].split() == [f"{apps}:deployment/web", "web", f"{daemon_host(table)}/{REPO}"]
    # Newest first by creation time; the index counts with its amd64 image.
    assert [r.split()[:2] for r in table[2:]] == [["|", "1.18.0"], ["|", "1.17.8"], ["'->", "1.17"]]
    assert table[2].endswith("02 Mar 20 10:00 UTC")
    assert table[4].endswith("01 Jan 20 10:00 UTC")


def daemon_host(table: list[str]) -> str:
    return table[1].split()[2].rsplit("/", 2)[0]


def test_the_json_carries_flux_v1s_fields(kube, scanned):
    apps, daemon = scanned
    container = wait_for(
        "the scan", lambda: images_json(kube, daemon, f"{apps}:deployment/web").get("Available")
    ) and images_json(kube, daemon, f"{apps}:deployment/web")
    assert container["Current"]["ID"].endswith(f"{REPO}:1.17")
    assert container["Current"]["CreatedAt"] == "2020-01-01T10:00:00Z"
    assert container["Current"]["Digest"].startswith("sha256:")
    assert container["LatestFiltered"]["ID"].endswith(":1.18.0")
    assert (container["AvailableImagesCount"], container["NewAvailableImagesCount"]) == (3, 2)
    assert "AvailableError" not in container


def test_anonymous_read_only_registry_needs_no_credentials_and_missing_ones_are_named(
    kube, scanned
):
    apps, daemon = scanned
    anon = wait_for(
        "the anonymous scan",
        lambda: images_json(kube, daemon, f"{apps}:deployment/anon").get("Available"),
    )
    assert len(anon) == 3
    table = wait_for(
        "the refusal",
        lambda: (
            (t := list_images(kube, daemon, "-w", f"{apps}:deployment/nocreds"))
            and "unauthorized" in t
            and t
        ),
    )
    assert "authentication required" in table


def test_a_failing_registry_is_shown_per_image_and_scanning_resumes(kube, scanned, front):
    apps, daemon = scanned
    faulty = f"{apps}:deployment/faulty"
    refused = wait_for("the 401", lambda: "unauthorized" in list_images(kube, daemon, "-w", faulty))
    assert refused
    front.heal()
    wait_for("recovery", lambda: images_json(kube, daemon, faulty).get("Available"), timeout=90)
    for mode, shown in [(429, "HTTP 429"), (500, "HTTP 500"), ("hang", "no answer in time")]:
        front.mode = mode
        wait_for(
            f"the {mode} error",
            lambda shown=shown: (
                shown in images_json(kube, daemon, faulty).get("AvailableError", "")
            ),
            timeout=90,
        )
        front.heal()
        wait_for(
            f"recovery from {mode}",
            lambda: "AvailableError" not in images_json(kube, daemon, faulty),
            timeout=90,
        )
    # The other workloads were scanned all along, and fluxd never stopped.
    assert "AvailableError" not in images_json(kube, daemon, f"{apps}:deployment/web")
    assert daemon.process.alive()


def test_flux_v1s_fluxctl_lists_the_same_tags(kube, scanned, fluxv1: FluxV1Binaries):
    apps, daemon = scanned
    wait_for("the scan", lambda: "1.17.8" in list_images(kube, daemon, "-n", apps))
    ours = list_images(kube, daemon, "-w", f"{apps}:deployment/web")
    theirs = list_images(kube, daemon, "-w", f"{apps}:deployment/web", exe=fluxv1.fluxctl)
    assert theirs == ours
