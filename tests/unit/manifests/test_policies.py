"""Policy annotations: ignore, sync_only, automation and tag filters."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fluxd.manifests import LoadResult, Resource, policies_of

LoadTexts = Callable[..., LoadResult]


def _with_annotations(load_texts: LoadTexts, annotations: str) -> Resource:
    text = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations: {annotations}\n"
    [resource] = load_texts({"c.yaml": text}).resources
    return resource


@pytest.mark.parametrize(
    "annotations",
    ['{fluxcd.io/ignore: "true"}', '{flux.weave.works/ignore: "true"}', "{fluxcd.io/ignore: true}"],
)
def test_an_object_annotated_ignore_true_is_loaded_but_flagged_ignored(
    load_texts: LoadTexts, annotations: str
) -> None:
    resource = _with_annotations(load_texts, annotations)
    assert resource.ignore
    assert not resource.sync_only


def test_an_object_annotated_ignore_sync_only_is_applied_but_never_collected(
    load_texts: LoadTexts,
) -> None:
    resource = _with_annotations(load_texts, "{fluxcd.io/ignore: sync_only}")
    assert resource.sync_only
    assert not resource.ignore


@pytest.mark.parametrize("annotations", ["{}", '{fluxcd.io/ignore: "false"}', "{other/ignore: x}"])
def test_an_object_without_an_ignore_policy_is_synced_normally(
    load_texts: LoadTexts, annotations: str
) -> None:
    resource = _with_annotations(load_texts, annotations)
    assert not resource.ignore
    assert not resource.sync_only


def test_the_current_prefix_wins_over_the_legacy_one(load_texts: LoadTexts) -> None:
    annotations = '{fluxcd.io/ignore: "false", flux.weave.works/ignore: "true"}'
    assert not _with_annotations(load_texts, annotations).ignore


def test_policies_are_read_from_both_prefixes_without_them() -> None:
    policies = policies_of(
        {
            "fluxcd.io/automated": "true",
            "flux.weave.works/locked": "true",
            "fluxcd.io/locked_msg": "release freeze",
            "fluxcd.io/tag.app": "semver:~1.17",
            "filter.fluxcd.io/sidecar": "glob:1.*",
            "fluxcd.io/sync-checksum": "abc",
            "fluxcd.io/tag_all": "glob:*",
            "example.com/automated": "true",
        }
    )
    assert policies == {
        "automated": "true",
        "locked": "true",
        "locked_msg": "release freeze",
        "tag.app": "semver:~1.17",
        "tag.sidecar": "glob:1.*",
    }


def test_a_tag_policy_beats_the_older_filter_spelling_for_the_same_container() -> None:
    policies = policies_of({"filter.fluxcd.io/app": "glob:old", "fluxcd.io/tag.app": "glob:new"})
    assert policies == {"tag.app": "glob:new"}


def test_a_resource_exposes_its_policies(load_texts: LoadTexts) -> None:
    resource = _with_annotations(load_texts, '{fluxcd.io/automated: "true"}')
    assert dict(resource.policies) == {"automated": "true"}
