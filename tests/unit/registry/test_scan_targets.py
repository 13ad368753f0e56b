"""Which repositories a scan asks for, with whose credentials."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from fluxd.cluster import Container, Rollout, SecretData, Workload, WorkloadStatus
from fluxd.errors import ClusterError
from fluxd.image_scan import ImageScanLoop
from fluxd.metrics import CollectorRegistry, RegistryMetrics, render
from fluxd.registry import Credentials, Scanner
from fluxd.settings import RegistrySettings
from fluxids import ObjectRef


def dockerconfig(host: str, user: str) -> bytes:
    auth = base64.b64encode(f"{user}:pw".encode()).decode()
    return json.dumps({"auths": {f"https://{host}/v1/": {"auth": auth}}}).encode()


class Cluster:
    def __init__(self, workloads: list[Workload], secrets: dict[str, bytes]) -> None:
        self.workloads = workloads
        self.secrets = secrets
        self.sa_secrets = {"robot": ["sa-creds"]}

    def list_workloads(self, namespace: str | None = None) -> list[Workload]:
        return self.workloads

    def read_secret(self, name: str, namespace: str | None = None) -> SecretData:
        if name not in self.secrets:
            raise ClusterError(f"Secret {namespace}/{name} not found", status=404)
        return SecretData({".dockerconfigjson": self.secrets[name]}, {})

    def pull_secrets_of(self, namespace: str, service_account: str) -> list[str]:
        return self.sa_secrets.get(service_account, [])


def workload(
    name: str, image: str, *, secrets: tuple[str, ...] = (), sa: str = "default"
) -> Workload:
    return Workload(
        ref=ObjectRef("apps", "Deployment", name, "apps/v1"),
        status=WorkloadStatus.READY,
        rollout=Rollout(),
        containers=(Container("c", image),),
        pull_secrets=secrets,
        service_account=sa,
    )


def targets(
    cluster: Cluster, settings: RegistrySettings | None = None
) -> dict[str, Credentials | None]:
    settings = settings or RegistrySettings()
    loop = ImageScanLoop(settings, cluster=cluster, scanner=Scanner(settings))
    return {t.image.name: t.credentials for t in loop.targets()}


def test_credentials_come_from_the_pod_then_its_service_account_then_docker_config(tmp_path: Path):
    config = tmp_path / "config.json"
    config.write_bytes(dockerconfig("shared.example", "everyone"))
    cluster = Cluster(
        [
            workload("pod", "pod.example/app:1", secrets=("pod-creds",)),
            workload("sa", "sa.example/app:1", sa="robot"),
            workload("shared", "shared.example/app:1"),
            workload("missing", "pod.example/other:1", secrets=("gone",)),
        ],
        {
            "pod-creds": dockerconfig("pod.example", "alice"),
            "sa-creds": dockerconfig("sa.example", "bob"),
        },
    )

    found = targets(cluster, RegistrySettings(docker_config=config))

    assert found == {
        "pod.example/app": Credentials("alice", "pw"),
        "sa.example/app": Credentials("bob", "pw"),
        "shared.example/app": Credentials("everyone", "pw"),
        "pod.example/other": None,  # its Secret is gone: scanned without, and logged
    }


def test_a_repository_is_scanned_once_with_whichever_workload_has_credentials():
    cluster = Cluster(
        [
            workload("a-without", "pod.example/app:1"),
            workload("b-with", "pod.example/app:2", secrets=("pod-creds",)),
            workload("bad-image", "Not An Image"),
        ],
        {"pod-creds": dockerconfig("pod.example", "alice")},
    )
    assert targets(cluster) == {"pod.example/app": Credentials("alice", "pw")}


def test_registry_metrics_have_flux_v1s_fetch_histogram_and_cache_figures():
    registry = CollectorRegistry()
    metrics = RegistryMetrics(registry)
    metrics.observe_fetch("tags", 0.2, True)
    metrics.observe_cache(repositories=2, images=40, hits=30, misses=10)
    text = render(registry).decode()
    assert 'flux_registry_fetch_duration_seconds_count{kind="tags",success="true"} 1.0' in text
    assert "flux_cache_repositories 2.0" in text
    assert 'flux_cache_requests_total{result="miss"} 10.0' in text
