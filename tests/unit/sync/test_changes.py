"""One object's change: classified, and its diff made from the fields shown."""

from __future__ import annotations

from fluxd.cluster import Preview
from fluxd.sync.changes import Action, change_of


def test_a_changed_field_is_one_removed_and_one_added_line() -> None:
    before = {"kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "1", "x": "y"}}
    after = {"kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "2", "x": "y"}}
    change = change_of(Preview("demo:configmap/a", "a.yaml", "ConfigMap", before, after))
    assert change.action is Action.CHANGE
    lines = change.diff.splitlines()
    assert lines[:2] == ["--- a/demo:configmap/a", "+++ b/demo:configmap/a"]
    assert [line for line in lines[2:] if line.startswith(("+", "-"))] == ["-  k: '1'", "+  k: '2'"]


def test_creation_deletion_sameness_and_failure() -> None:
    obj = {"kind": "ConfigMap", "metadata": {"name": "a"}}
    created = change_of(Preview("i", "f", "ConfigMap", None, obj))
    deleted = change_of(Preview("i", "", "ConfigMap", obj, None))
    assert created.action is Action.CREATE and created.diff.startswith("--- /dev/null\n")
    assert deleted.action is Action.DELETE and "+++ /dev/null" in deleted.diff
    assert change_of(Preview("i", "f", "ConfigMap", obj, dict(obj))).action is Action.UNCHANGED
    failed = change_of(Preview("i", "f", "ConfigMap", error="forbidden"))
    assert (failed.action, failed.error, failed.diff) == (Action.FAILED, "forbidden", "")
