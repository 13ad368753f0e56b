"""Discovery against the real API server: both document formats agree."""

from __future__ import annotations

import pytest

from fluxd.cluster import Discovery, KubeClient, ResourceType
from fluxd.settings import ClusterSettings
from fluxtestbed.kube import Cluster as Kube

pytestmark = pytest.mark.cluster


def test_aggregated_and_legacy_discovery_agree(kube: Kube) -> None:
    client = KubeClient.from_settings(ClusterSettings(kubeconfig=str(kube.kubeconfig)), pool_size=8)
    try:
        aggregated = Discovery(client)
        legacy = Discovery(client, aggregated=False)
        kinds = [
            ("v1", "ConfigMap"),
            ("v1", "Namespace"),
            ("apps/v1", "Deployment"),
            ("batch/v1", "CronJob"),
            ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
            ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
        ]
        for api_version, kind in kinds:
            found = aggregated.lookup(api_version, kind)
            assert found is not None, kind
            assert legacy.lookup(api_version, kind) == found
        assert aggregated.lookup("apps/v1", "Deployment") == ResourceType(
            "apps/v1", "Deployment", "deployments", True
        )
        assert legacy.lookup("v1", "Scale") is None  # replicationcontrollers/scale: a subresource
        # Every kind, not just those above: the two code paths build the same map.
        aggregated.refresh()
        legacy.refresh()
        assert aggregated._types == legacy._types
    finally:
        client.close()
