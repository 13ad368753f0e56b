"""What a sync sends, given the checksums recorded at the last apply."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fluxd.manifests import LoadResult, plan

LoadTexts = Callable[..., LoadResult]

FILES = {
    "app.yaml": """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: settings}
        ---
        apiVersion: v1
        kind: Namespace
        metadata: {name: demo}
        ---
        apiVersion: v1
        kind: Secret
        metadata:
          name: hands-off
          annotations: {fluxcd.io/ignore: "true"}
        """
}


def test_new_and_changed_objects_are_applied_and_unchanged_ones_are_not(
    load_texts: LoadTexts,
) -> None:
    desired = load_texts(FILES).resources
    by_name = {r.ref.name: r for r in desired}
    last_applied = {
        "default:deployment/web": by_name["web"].checksum,
        "default:configmap/settings": "an older checksum",
    }
    result = plan(desired, last_applied)
    assert [str(r.ref) for r in result.to_apply] == [
        "<cluster>:namespace/demo",
        "default:configmap/settings",
    ]
    assert [r.ref.name for r in result.unchanged] == ["web"]
    assert result.gone == ()


def test_ignored_objects_are_neither_applied_nor_collected(load_texts: LoadTexts) -> None:
    desired = load_texts(FILES).resources
    result = plan(desired, {"default:secret/hands-off": "whatever"})
    assert [r.ref.name for r in result.ignored] == ["hands-off"]
    assert "hands-off" not in [r.ref.name for r in result.to_apply]
    assert result.gone == ()


def test_objects_applied_before_but_gone_from_git_are_listed_in_gc_order(
    load_texts: LoadTexts,
) -> None:
    desired = load_texts(FILES).resources
    last_applied = {
        "<cluster>:namespace/old": "1",
        "default:configmap/old": "2",
        "default:deployment/old": "3",
        "default:deployment/web": "4",
    }
    result = plan(desired, last_applied)
    assert [str(i) for i in result.gone] == [
        "default:deployment/old",
        "default:configmap/old",
        "<cluster>:namespace/old",
    ]


def test_an_empty_record_means_everything_is_applied(load_texts: LoadTexts) -> None:
    result = plan(load_texts(FILES).resources, {})
    assert len(result.to_apply) == 3
    assert result.unchanged == ()


def test_a_malformed_key_in_the_record_is_refused_rather_than_guessed(
    load_texts: LoadTexts,
) -> None:
    with pytest.raises(ValueError, match="not-an-id"):
        plan(load_texts(FILES).resources, {"not-an-id": "x"})
