"""The deletion guard's decision: what is held, what goes, what approves it."""

from __future__ import annotations

import pytest

from fluxd.sync.guard import (
    APPROVAL_ANNOTATION,
    DeletionGuard,
    GuardPolicy,
    approval_help,
    approves,
    hold_reason,
)

POLICY = GuardPolicy(max_share=0.5, min_count=10)
REVISION = "0123456789abcdef0123456789abcdef01234567"


def reason(deleting: int, inventory: int, desired: int, missing: tuple[str, ...] = ()) -> str:
    return hold_reason(
        deleting=deleting,
        inventory=inventory,
        desired=desired,
        missing_paths=missing,
        policy=POLICY,
    )


def test_a_revision_without_manifests_may_not_delete_even_one_object() -> None:
    assert "holds no manifests" in reason(deleting=1, inventory=1, desired=0)
    assert "holds no manifests" in reason(deleting=3000, inventory=3000, desired=0)


def test_a_missing_git_path_holds_any_deletion_and_names_the_path() -> None:
    why = reason(deleting=2, inventory=40, desired=38, missing=("clusters/prod",))
    assert "--git-path 'clusters/prod' does not exist" in why


@pytest.mark.parametrize(
    ("deleting", "inventory", "held"),
    [
        (51, 100, True),  # more than half
        (50, 100, False),  # exactly half is allowed
        (10, 19, True),  # the minimum count reached, more than half
        (9, 10, False),  # below the minimum count: a small repo goes through
        (3, 4, False),
        (0, 100, False),
    ],
)
def test_the_share_rule_applies_from_the_minimum_count_on(
    deleting: int, inventory: int, held: bool
) -> None:
    why = reason(deleting=deleting, inventory=inventory, desired=inventory - deleting)
    assert bool(why) is held
    if held:
        assert f"delete {deleting} of the {inventory}" in why
        assert "--sync-garbage-collection-max-share" in why


def test_a_share_of_100_percent_turns_the_share_rule_off_but_not_the_empty_rule() -> None:
    everything = GuardPolicy(max_share=1.0, min_count=0)
    common = {"inventory": 100, "missing_paths": (), "policy": everything}
    assert hold_reason(deleting=99, desired=1, **common) == ""  # type: ignore[arg-type]
    assert hold_reason(deleting=100, desired=0, **common) != ""  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "approved"),
    [
        (REVISION, True),
        (REVISION[:7], True),
        (REVISION[:12].upper(), True),
        (f"  {REVISION[:9]}\n", True),
        (REVISION[:6], False),  # too short to name one commit
        ("fedcba9", False),  # another revision
        ("yes", False),
        ("", False),
    ],
)
def test_only_an_annotation_naming_this_revision_approves(value: str, approved: bool) -> None:
    assert approves({APPROVAL_ANNOTATION: value}, REVISION) is approved


def test_the_help_gives_the_command_that_approves_this_revision() -> None:
    text = approval_help(REVISION, "flux")
    assert (
        f"kubectl annotate namespace flux --overwrite {APPROVAL_ANNOTATION}={REVISION[:12]}" in text
    )
    assert "fluxctl sync" in text


def _guard(approved: bool, asked: list[str]) -> DeletionGuard:
    def approval(revision: str) -> bool:
        asked.append(revision)
        return approved

    return DeletionGuard(
        REVISION,
        policy=POLICY,
        inventory=20,
        desired=0,
        missing_paths=(),
        approved=approval,
        namespace="flux",
    )


def test_the_guard_holds_until_approved_and_asks_only_when_it_would_hold() -> None:
    asked: list[str] = []
    held = _guard(False, asked)
    assert "holds no manifests" in held(["a", "b"])
    hold = held.hold(["a", "b"], "why")
    assert hold is not None
    assert (hold.deletions, hold.inventory, hold.reason) == (("a", "b"), 20, "why")
    assert held.hold([], "") is None
    assert _guard(True, asked)(["a", "b"]) == ""
    assert asked == [REVISION, REVISION]


def test_the_guard_does_not_read_the_approval_for_ordinary_deletions() -> None:
    asked: list[str] = []

    def approval(revision: str) -> bool:
        asked.append(revision)
        return False

    guard = DeletionGuard(
        REVISION,
        policy=POLICY,
        inventory=20,
        desired=18,
        missing_paths=(),
        approved=approval,
        namespace="flux",
    )
    assert guard(["a", "b"]) == ""
    assert asked == []
