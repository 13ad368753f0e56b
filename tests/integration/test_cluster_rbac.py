"""What fluxd reports when its ServiceAccount lacks rights: the API's words plus help."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from fluxd.cluster import Cluster, InventoryEntry
from fluxd.errors import ClusterError
from fluxd.settings import ClusterSettings, SyncSettings
from fluxids import ObjectRef
from fluxtestbed.kube import Cluster as Kube
from fluxtestbed.objects import configmap, item, rank

pytestmark = pytest.mark.cluster


@pytest.fixture
def powerless(kube: Kube, namespace: str, tmp_path: Path) -> Iterator[Cluster]:
    """fluxd as a ServiceAccount with no RBAC rights at all, via a token kubeconfig."""
    kube.kubectl("create", "serviceaccount", "-n", namespace, "fluxd")
    token = kube.kubectl("create", "token", "-n", namespace, "fluxd").stdout.strip()
    admin = yaml.safe_load(kube.kubeconfig.read_text())
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": admin["clusters"],
        "users": [{"name": "fluxd", "user": {"token": token}}],
        "contexts": [
            {"name": "fluxd", "context": {"cluster": admin["clusters"][0]["name"], "user": "fluxd"}}
        ],
        "current-context": "fluxd",
    }
    path = tmp_path / "fluxd.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    settings = ClusterSettings(kubeconfig=str(path), namespace=namespace, qps=0)
    connected = Cluster.connect(settings, SyncSettings(concurrency=2, timeout=10.0))
    yield connected
    connected.close()


def test_a_forbidden_read_says_so_and_points_at_rbac(powerless: Cluster) -> None:
    with pytest.raises(ClusterError) as caught:
        powerless.read_secret("flux-git-deploy")
    assert caught.value.status == 403
    assert "forbidden" in caught.value.message
    assert "system:serviceaccount:" in caught.value.message
    assert "RBAC" in caught.value.help


def test_a_forbidden_apply_fails_per_object_with_the_apis_message(
    powerless: Cluster, namespace: str
) -> None:
    # Discovery is open to every authenticated user, so the apply itself is refused.
    [outcome] = powerless.apply([item(configmap(namespace, "c"))], rank=rank)
    assert not outcome.applied
    assert 'configmaps "c" is forbidden' in outcome.error


def test_forbidden_drift_listing_raises_rather_than_reporting_everything_missing(
    powerless: Cluster, namespace: str
) -> None:
    entry = InventoryEntry(ObjectRef(namespace, "ConfigMap", "c", "v1"), "m")
    with pytest.raises(ClusterError) as caught:
        powerless.detect_drift([entry])
    assert caught.value.status == 403


def test_the_kubeconfig_context_is_honoured(kube: Kube, tmp_path: Path) -> None:
    admin = yaml.safe_load(kube.kubeconfig.read_text())
    admin["contexts"].append(
        {"name": "elsewhere", "context": {"cluster": "nowhere", "user": "nobody"}}
    )
    admin["clusters"].append({"name": "nowhere", "cluster": {"server": "https://127.0.0.1:1"}})
    admin["users"].append({"name": "nobody", "user": {"token": "x"}})
    admin["current-context"] = "elsewhere"
    path = tmp_path / "two.kubeconfig"
    path.write_text(yaml.safe_dump(admin))
    good = admin["contexts"][0]["name"]
    settings = ClusterSettings(kubeconfig=str(path), context=good)
    cluster = Cluster.connect(settings, SyncSettings())
    assert cluster.scope("v1", "ConfigMap") is True
    cluster.close()
    with pytest.raises(ClusterError, match="cannot load Kubernetes client configuration"):
        Cluster.connect(ClusterSettings(kubeconfig=str(path), context="missing"), SyncSettings())
