"""The checksum, GC mark and sync set name, computed as Flux v1 defined them."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable

import pytest

from fluxd.manifests import (
    CHECKSUM_ANNOTATION,
    GC_MARK_LABEL,
    LoadResult,
    checksum_of,
    gc_mark,
    safe_url,
    sync_set_name,
    with_marks,
)
from fluxids import ObjectRef

LoadTexts = Callable[..., LoadResult]


def _b64url_no_pad(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_the_gc_mark_is_sha256_of_set_name_and_id_in_unpadded_base64url() -> None:
    resource_id = ObjectRef("default", "Deployment", "nginx")
    expected = "sha256." + _b64url_no_pad(hashlib.sha256(b"c2V0default:deployment/nginx").digest())
    assert gc_mark("c2V0", resource_id) == expected
    # the same value from sha256sum | base64 in a shell, so the test does not
    # only agree with itself
    assert expected == "sha256.c2CiC9ZU46TAUENFovKUCm9B_Y75im28n7OVNtG-0XU"


def test_the_gc_mark_of_a_cluster_scoped_object_hashes_its_cluster_id() -> None:
    digest = hashlib.sha256(b"set<cluster>:namespace/demo").digest()
    assert gc_mark("set", ObjectRef("", "Namespace", "demo")) == "sha256." + _b64url_no_pad(digest)


def test_the_sync_set_name_hashes_safe_url_branch_and_paths_in_order() -> None:
    digest = hashlib.sha256(b"ssh://git@github.com/org/repo.gitmasterdeployapps").digest()
    name = sync_set_name("git@github.com:org/repo.git", "master", ["deploy", "apps"])
    assert name == _b64url_no_pad(digest) == "TBUUjwmTvk9r53WMucGVAjIS4BBgBs7UQVkF2d3DRwc"
    assert name != sync_set_name("git@github.com:org/repo.git", "master", ["apps", "deploy"])


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://github.com/org/repo", "https://github.com/org/repo"),
        ("https://user:s3cret@example.com/r.git", "https://user@example.com/r.git"),
        ("ssh://git@example.com:2222/r.git", "ssh://git@example.com:2222/r.git"),
        ("git@github.com:org/repo.git", "ssh://git@github.com/org/repo.git"),
        ("example.com:/srv/repo", "ssh://example.com/srv/repo"),
        ("/srv/git/repo", "/srv/git/repo"),
    ],
)
def test_the_url_is_hashed_without_its_password_and_scp_style_as_ssh(url: str, safe: str) -> None:
    assert safe_url(url) == safe


def test_a_password_in_the_url_does_not_change_the_set_name() -> None:
    with_password = sync_set_name("https://u:token-1@example.com/r", "main", [])
    rotated = sync_set_name("https://u:token-2@example.com/r", "main", [])
    assert with_password == rotated


def test_the_checksum_is_sha1_of_the_canonical_json_of_the_object_in_git(
    load_texts: LoadTexts,
) -> None:
    resource = load_texts({"c.yaml": "metadata: {name: c}\nkind: ConfigMap\napiVersion: v1\n"})
    canonical = b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}'
    assert resource.resources[0].checksum == hashlib.sha1(canonical).hexdigest()
    assert resource.resources[0].checksum == "39ef3d53c83d5a5ff5556f48dd0772125aa062df"


def test_layout_comments_and_key_order_do_not_change_the_checksum(load_texts: LoadTexts) -> None:
    compact = load_texts({"a.yaml": "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}"})
    spread = load_texts(
        {
            "b.yaml": """\
                # settings
                kind: ConfigMap
                metadata:
                  name: c   # the name
                apiVersion: "v1"
                """
        }
    )
    as_json = load_texts(
        {"c.json": json.dumps({"metadata": {"name": "c"}, "apiVersion": "v1", "kind": "ConfigMap"})}
    )
    checksums = {r.resources[0].checksum for r in (compact, spread, as_json)}
    assert len(checksums) == 1


def test_the_checksum_changes_with_any_value(load_texts: LoadTexts) -> None:
    one = checksum_of({"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "1"}})
    two = checksum_of({"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": 1}})
    assert one != two


def test_with_marks_adds_the_gc_label_and_checksum_annotation_next_to_the_users(
    load_texts: LoadTexts,
) -> None:
    text = """\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: c
          labels: {app: web}
          annotations: {note: hi}
        """
    resource = load_texts({"c.yaml": text}).resources[0]
    body = with_marks(resource, "set")
    assert body["metadata"] == {
        "name": "c",
        "namespace": "default",
        "labels": {"app": "web", GC_MARK_LABEL: gc_mark("set", resource.ref)},
        "annotations": {"note": "hi", CHECKSUM_ANNOTATION: resource.checksum},
    }


def test_with_marks_works_when_labels_and_annotations_are_empty(load_texts: LoadTexts) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels:\n  annotations:\n"
    body = with_marks(load_texts({"c.yaml": text}).resources[0], "set")
    assert set(body["metadata"]["labels"]) == {GC_MARK_LABEL}
    assert set(body["metadata"]["annotations"]) == {CHECKSUM_ANNOTATION}


def test_with_marks_returns_a_deep_copy_that_leaves_the_resource_untouched(
    load_texts: LoadTexts,
) -> None:
    text = """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, labels: {app: web}}
        spec: {template: {spec: {containers: [{name: app, image: nginx:1.17}]}}}
        """
    resource = load_texts({"d.yaml": text}).resources[0]
    before = json.dumps(resource.body, sort_keys=True)
    body = with_marks(resource, "set")
    body["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.16"
    body["metadata"]["labels"]["app"] = "changed"
    assert json.dumps(resource.body, sort_keys=True) == before
    assert checksum_of(resource.body) != checksum_of(body)
