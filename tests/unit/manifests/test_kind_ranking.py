"""Apply order by kind rank (Flux v1's table, extended); deletion in reverse."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest

from fluxd.manifests import (
    LoadResult,
    Resource,
    apply_stages,
    in_apply_order,
    in_gc_order,
    rank_of,
)
from fluxids import ObjectRef

LoadTexts = Callable[..., LoadResult]


@pytest.mark.parametrize(
    ("kind", "rank"),
    [
        ("Namespace", 0),
        ("CustomResourceDefinition", 0),
        ("ServiceAccount", 1),
        ("ClusterRole", 1),
        ("Role", 1),
        ("PersistentVolume", 1),
        ("Service", 1),
        ("ResourceQuota", 2),
        ("LimitRange", 2),
        ("Secret", 2),
        ("ConfigMap", 2),
        ("RoleBinding", 2),
        ("ClusterRoleBinding", 2),
        ("PersistentVolumeClaim", 2),
        ("Ingress", 2),
        ("DaemonSet", 3),
        ("Deployment", 3),
        ("ReplicationController", 3),
        ("ReplicaSet", 3),
        ("Job", 3),
        ("CronJob", 3),
        ("StatefulSet", 3),
        ("HorizontalPodAutoscaler", 4),
        ("Widget", 4),
    ],
)
def test_each_kind_has_the_rank_of_flux_v1_except_crds_which_join_namespaces(
    kind: str, rank: int
) -> None:
    assert rank_of(kind) == rank


def test_rank_ignores_the_case_of_the_kind_as_ids_lower_case_it() -> None:
    assert rank_of("deployment") == rank_of("Deployment") == 3


def _kinds_and_names(resources: Iterable[Resource]) -> list[tuple[str, str]]:
    return [(resource.ref.kind, resource.ref.name) for resource in resources]


MIXED = """\
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: b}
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: a}
    ---
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata: {name: widgets.example.com}
    ---
    apiVersion: v1
    kind: Namespace
    metadata: {name: demo}
    """


def test_resources_are_applied_by_rank_then_by_name(load_texts: LoadTexts) -> None:
    resources = load_texts({"all.yaml": MIXED}).resources
    assert _kinds_and_names(in_apply_order(resources)) == [
        ("Namespace", "demo"),
        ("CustomResourceDefinition", "widgets.example.com"),
        ("ConfigMap", "a"),
        ("ConfigMap", "b"),
        ("Deployment", "web"),
    ]


def test_namespaces_and_crds_form_the_first_stage(load_texts: LoadTexts) -> None:
    stages = apply_stages(load_texts({"all.yaml": MIXED}).resources)
    assert [_kinds_and_names(stage) for stage in stages] == [
        [("Namespace", "demo"), ("CustomResourceDefinition", "widgets.example.com")],
        [("ConfigMap", "a"), ("ConfigMap", "b")],
        [("Deployment", "web")],
    ]


def test_garbage_is_collected_in_the_reverse_order_of_ranks() -> None:
    ids = [
        ObjectRef.parse("<cluster>:namespace/demo"),
        ObjectRef.parse("demo:configmap/settings"),
        ObjectRef.parse("demo:widget/w"),
        ObjectRef.parse("demo:deployment/web"),
    ]
    assert [str(i) for i in in_gc_order(ids)] == [
        "demo:widget/w",
        "demo:deployment/web",
        "demo:configmap/settings",
        "<cluster>:namespace/demo",
    ]
