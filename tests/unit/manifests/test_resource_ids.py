"""Resource ids print and parse exactly as Flux v1's do."""

from __future__ import annotations

import pytest

from fluxd.manifests import ResourceId


def test_a_namespaced_id_prints_as_namespace_colon_lowercased_kind_slash_name() -> None:
    assert str(ResourceId("demo", "Deployment", "nginx")) == "demo:deployment/nginx"


def test_a_cluster_scoped_id_uses_the_cluster_pseudo_namespace() -> None:
    resource_id = ResourceId("", "ClusterRole", "system:controller:foo")
    assert str(resource_id) == "<cluster>:clusterrole/system:controller:foo"
    assert resource_id.cluster_scoped


@pytest.mark.parametrize(
    "text",
    [
        "default:deployment/nginx",
        "<cluster>:namespace/demo",
        "kube-system:configmap/a.b-c",
        "<cluster>:clusterrolebinding/alice@example.com",
        "<cluster>:clusterrole/system:aggregate-to-view",
    ],
)
def test_an_id_survives_a_round_trip_through_its_string_form(text: str) -> None:
    assert str(ResourceId.parse(text)) == text


def test_parsing_the_cluster_pseudo_namespace_gives_a_cluster_scoped_id() -> None:
    assert ResourceId.parse("<cluster>:namespace/demo") == ResourceId("", "namespace", "demo")


@pytest.mark.parametrize(
    "text",
    ["", "deployment/nginx", "demo:deployment", "a b:c/d", "x:y/", "x:y/a/b", "x:y/a b", "x:y/a\n"],
)
def test_a_malformed_id_is_refused_with_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="invalid resource id"):
        ResourceId.parse(text)


def test_ids_compare_by_their_string_form_whatever_the_case_of_the_kind_or_the_group() -> None:
    from_manifest = ResourceId("demo", "Deployment", "nginx", "apps")
    from_the_api = ResourceId.parse("demo:deployment/nginx")
    assert from_manifest == from_the_api
    assert hash(from_manifest) == hash(from_the_api)
    assert from_manifest.group == "apps"
