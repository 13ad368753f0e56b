"""Object refs print and parse exactly as Flux v1's ids do."""

from __future__ import annotations

import pytest

from fluxids import ObjectRef


def test_a_namespaced_id_prints_as_namespace_colon_lowercased_kind_slash_name() -> None:
    assert str(ObjectRef("demo", "Deployment", "nginx")) == "demo:deployment/nginx"


def test_a_cluster_scoped_id_uses_the_cluster_pseudo_namespace() -> None:
    ref = ObjectRef("", "ClusterRole", "system:controller:foo")
    assert str(ref) == "<cluster>:clusterrole/system:controller:foo"
    assert ref.cluster_scoped


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
    assert str(ObjectRef.parse(text)) == text


def test_parsing_the_cluster_pseudo_namespace_gives_a_cluster_scoped_id() -> None:
    assert ObjectRef.parse("<cluster>:namespace/demo") == ObjectRef("", "namespace", "demo")


@pytest.mark.parametrize(
    "text",
    ["", "deployment/nginx", "demo:deployment", "a b:c/d", "x:y/", "x:y/a/b", "x:y/a b", "x:y/a\n"],
)
def test_a_malformed_id_is_refused_with_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="invalid resource id"):
        ObjectRef.parse(text)


def test_refs_compare_by_their_string_form_whatever_the_case_of_the_kind_or_the_group() -> None:
    from_manifest = ObjectRef("demo", "Deployment", "nginx", "apps/v1")
    from_the_api = ObjectRef.parse("demo:deployment/nginx")
    assert from_manifest == from_the_api
    assert hash(from_manifest) == hash(from_the_api)
    assert from_manifest.group == "apps"
    assert from_manifest.kind == "Deployment"  # the spelling API paths need


def test_refs_sort_as_their_ids_do() -> None:
    refs = [
        ObjectRef("b", "ConfigMap", "x"),
        ObjectRef("a-b", "Pod", "y"),
        ObjectRef("a", "X", "z"),
    ]
    assert [str(r) for r in sorted(refs, key=lambda r: r.sort_key)] == sorted(map(str, refs))
