"""Cutting objects down to the fields fluxd manages, and masking Secrets."""

from __future__ import annotations

from typing import Any

from fluxd.cluster.managed import MASK, mask_secret, merge_fields, owned_fields, project

LIVE: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "web",
        "namespace": "demo",
        "resourceVersion": "42",
        "labels": {"app": "web", "added-by-hand": "x"},
        "managedFields": [
            {
                "manager": "fluxd",
                "operation": "Apply",
                "fieldsV1": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {
                        "f:template": {
                            "f:spec": {
                                "f:containers": {
                                    'k:{"name":"web"}': {".": {}, "f:image": {}, "f:name": {}}
                                }
                            }
                        }
                    },
                },
            },
            {"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:spec": {"f:paused": {}}}},
        ],
    },
    "spec": {
        "paused": False,
        "template": {
            "spec": {
                "containers": [
                    {"name": "web", "image": "nginx:1", "imagePullPolicy": "Always"},
                    {"name": "sidecar", "image": "envoy"},
                ]
            }
        },
    },
    "status": {"replicas": 3},
}


def test_only_fields_fluxd_applied_are_kept() -> None:
    fields = owned_fields(LIVE, "fluxd")
    assert project(LIVE, fields) == {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1"}]}}},
    }


def test_another_managers_fields_and_updates_do_not_count() -> None:
    assert "f:paused" not in str(owned_fields(LIVE, "fluxd"))
    assert owned_fields(LIVE, "kubectl") == {}  # an Update, not an Apply


def test_field_sets_merge_so_a_removed_field_shows_on_the_side_that_has_it() -> None:
    before: dict[str, Any] = {"f:data": {"f:a": {}, "f:b": {}}}
    after: dict[str, Any] = {"f:data": {"f:a": {}}, "f:metadata": {"f:name": {}}}
    merged = merge_fields(before, after)
    assert merged == {"f:data": {"f:a": {}, "f:b": {}}, "f:metadata": {"f:name": {}}}
    assert project({"data": {"a": "1", "b": "2", "c": "3"}}, merged) == {
        "data": {"a": "1", "b": "2"}
    }


def test_set_items_by_value_and_by_index() -> None:
    fields: dict[str, Any] = {"f:finalizers": {'v:"keep"': {}}, "f:args": {"i:1": {}}}
    obj = {"finalizers": ["other", "keep"], "args": ["a", "b", "c"]}
    assert project(obj, fields) == {"finalizers": ["keep"], "args": ["b"]}


def test_secret_values_are_masked_telling_only_what_changed() -> None:
    before: dict[str, Any] = {"data": {"same": "c2FtZQ==", "changed": "b2xk", "gone": "eA=="}}
    after: dict[str, Any] = {"data": {"same": "c2FtZQ==", "changed": "bmV3", "new": "eQ=="}}
    mask_secret(before, after)
    assert before == {"data": {"same": MASK, "changed": "*** (before)", "gone": MASK}}
    assert after == {"data": {"same": MASK, "changed": "*** (after)", "new": MASK}}
