"""Edits of manifest files change the edited value and not one byte more."""

from __future__ import annotations

import difflib

import pytest

from fluxd.manifests.yamledit import EditError, set_annotations, set_container_image
from fluxids import ObjectRef

WEB = ObjectRef("default", "deployment", "web")

HAND_WRITTEN = """\
# The web tier.   (comment kept)
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web   # trailing comment
  labels: {app: web,   tier: "front"}
spec:
  template:
    spec:
      containers:
      - name: web
        image: 'nginx:1.14.2'
        args: ["--a",   "--b"]
        command: [ "sh", "-c", "a long line beyond eighty columns of width, {LONG}" ]
      - name: sidecar
        image: "busybox:1.30"
---
kind: ConfigMap
apiVersion: v1
metadata: {name: notes}
data:
  x: |
      indented more than usual
""".replace("{LONG}", "kept as it is written " * 3)


def changed_lines(before: str, after: str) -> list[str]:
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def test_image_edit_changes_one_line_and_keeps_its_quotes():
    after = set_container_image(
        HAND_WRITTEN, WEB, "web", "nginx:1.16.1", default_namespace="default"
    )
    assert changed_lines(HAND_WRITTEN, after) == [
        "-        image: 'nginx:1.14.2'",
        "+        image: 'nginx:1.16.1'",
    ]


def test_image_edit_of_the_second_container_keeps_double_quotes():
    after = set_container_image(
        HAND_WRITTEN, WEB, "sidecar", "busybox:1.31", default_namespace="default"
    )
    assert changed_lines(HAND_WRITTEN, after) == [
        '-        image: "busybox:1.30"',
        '+        image: "busybox:1.31"',
    ]


def test_plain_image_stays_plain_in_the_seed_layout():
    text = (
        "kind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n"
        "      containers:\n      - name: web\n        image: nginx:1.14.2\n"
    )
    after = set_container_image(text, WEB, "web", "nginx:1.16.1", default_namespace="default")
    assert after == text.replace("nginx:1.14.2", "nginx:1.16.1")


def test_workload_inside_a_list_is_found_and_the_rest_untouched():
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- kind: Deployment\n  metadata:\n    name: other\n  spec:\n    template:\n      spec:\n"
        "        containers:\n        - name: web\n          image: a:1\n"
        "- kind: Deployment\n  metadata:\n    name: web\n  spec:\n    template:\n      spec:\n"
        "        containers:\n        - name: web\n          image: a:1\n"
    )
    after = set_container_image(text, WEB, "web", "a:2", default_namespace="default")
    assert changed_lines(text, after) == ["-          image: a:1", "+          image: a:2"]
    assert after.index("a:2") > after.index("name: web\n  spec")


def test_cronjob_container_is_under_the_job_template():
    text = (
        "kind: CronJob\nmetadata:\n  name: tick\n  namespace: jobs\nspec:\n  jobTemplate:\n"
        "    spec:\n      template:\n        spec:\n          containers:\n"
        "          - name: tick\n            image: busybox:1.30\n"
    )
    tick = ObjectRef("jobs", "cronjob", "tick")
    after = set_container_image(text, tick, "tick", "busybox:1.31", default_namespace="default")
    assert after == text.replace("1.30", "1.31")


def test_adding_the_first_annotation_creates_the_block_after_the_metadata():
    after = set_annotations(
        HAND_WRITTEN, WEB, {"fluxcd.io/automated": "true"}, default_namespace="default"
    )
    assert changed_lines(HAND_WRITTEN, after) == [
        "+  annotations:",
        "+    fluxcd.io/automated: 'true'",
    ]
    assert 'labels: {app: web,   tier: "front"}\n  annotations:\n' in after


def test_annotations_are_added_changed_and_removed_in_place():
    text = (
        "kind: Deployment\nmetadata:\n  name: web\n  annotations:\n"
        "    keep.me/x: \"1\"  # why\n    fluxcd.io/locked: 'true'\n"
        "    fluxcd.io/tag.web: glob:1.*\nspec: {}\n"
    )
    after = set_annotations(
        text,
        WEB,
        {
            "fluxcd.io/locked": None,
            "fluxcd.io/tag.web": "semver:~1.16",
            "fluxcd.io/automated": "true",
        },
        default_namespace="default",
    )
    assert after == (
        "kind: Deployment\nmetadata:\n  name: web\n  annotations:\n"
        '    keep.me/x: "1"  # why\n'
        "    fluxcd.io/tag.web: semver:~1.16\n    fluxcd.io/automated: 'true'\nspec: {}\n"
    )


def test_removing_the_last_annotation_removes_the_key():
    text = (
        "kind: Deployment\nmetadata:\n  name: web\n  annotations:\n"
        "    fluxcd.io/automated: 'true'\n  labels:\n    a: b\n"
    )
    after = set_annotations(text, WEB, {"fluxcd.io/automated": None}, default_namespace="default")
    assert after == "kind: Deployment\nmetadata:\n  name: web\n  labels:\n    a: b\n"


def test_flow_style_annotations_keep_their_other_entries_as_written():
    text = 'kind: Deployment\nmetadata:\n  name: web\n  annotations: {a: "1", b: x}\n'
    after = set_annotations(
        text, WEB, {"b": None, "fluxcd.io/locked": "true"}, default_namespace="default"
    )
    assert (
        after == "kind: Deployment\nmetadata:\n  name: web\n"
        "  annotations: {a: \"1\", fluxcd.io/locked: 'true'}\n"
    )


def test_a_workload_defined_twice_in_one_file_is_an_error_not_a_guess():
    doc = "kind: Deployment\nmetadata:\n  name: web\n"
    with pytest.raises(EditError, match="defined 2 times"):
        set_annotations(doc + "---\n" + doc, WEB, {"a": "b"}, default_namespace="default")


def test_an_unparsable_file_is_an_error():
    with pytest.raises(EditError, match="not valid YAML"):
        set_annotations("kind: [\n", WEB, {"a": "b"}, default_namespace="default")


def test_a_missing_container_is_named():
    with pytest.raises(EditError, match="container 'db' not found"):
        set_container_image(HAND_WRITTEN, WEB, "db", "x:1", default_namespace="default")


def test_namespace_defaults_to_the_given_one():
    other = ObjectRef("prod", "deployment", "web")
    with pytest.raises(EditError, match="not defined"):
        set_container_image(HAND_WRITTEN, other, "web", "x:1", default_namespace="default")
    after = set_container_image(HAND_WRITTEN, other, "web", "x:1", default_namespace="prod")
    assert "image: 'x:1'" in after
