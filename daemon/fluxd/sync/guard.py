"""The deletion guard: garbage collection never empties the cluster by accident.

A commit that deletes every manifest, a ``--git-path`` that was renamed, a
branch reset to an unrelated history: with garbage collection on, each of
them would delete everything fluxd ever applied. So a pass whose garbage
collection would

- delete anything while a ``--git-path`` does not exist in the revision,
- delete anything while the revision holds no manifests at all, or
- delete more than ``--sync-garbage-collection-max-share`` of the inventory,
  once it deletes at least ``--sync-garbage-collection-guard-min`` objects
  (so that removing 3 of 4 objects in a small repo is not held),

deletes nothing. Everything else in the pass is applied as usual; only the
deletions wait, pass after pass, until a person approves them for that exact
revision by annotating fluxd's namespace::

    kubectl annotate namespace flux --overwrite fluxd.io/allow-mass-deletion=<revision>

The approval names a commit (at least 7 hex digits of it), so it cannot
approve a later accident: a new commit is judged afresh.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from fluxd.sync.results import GcHold

log = logging.getLogger(__name__)

APPROVAL_ANNOTATION = "fluxd.io/allow-mass-deletion"
_MIN_APPROVAL = 7
_HEX = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True, slots=True)
class GuardPolicy:
    """The limits of ``--sync-garbage-collection-max-share`` and ``-guard-min``."""

    max_share: float = 0.5
    min_count: int = 10


def hold_reason(
    *,
    deleting: int,
    inventory: int,
    desired: int,
    missing_paths: Sequence[str] = (),
    policy: GuardPolicy,
) -> str:
    """Why these deletions must wait for approval ("" when they may go ahead)."""
    if deleting <= 0:
        return ""
    if missing_paths:
        paths = ", ".join(f"'{p}'" for p in missing_paths)
        return (
            f"--git-path {paths} does not exist in this revision; garbage collection would "
            f"delete {deleting} object(s) fluxd applied from it"
        )
    if desired == 0:
        return (
            f"the revision holds no manifests; garbage collection would delete every one of "
            f"the {deleting} object(s) fluxd applied"
        )
    if deleting >= policy.min_count and deleting > policy.max_share * inventory:
        return (
            f"garbage collection would delete {deleting} of the {inventory} objects fluxd "
            f"applied, more than {policy.max_share:.0%} (--sync-garbage-collection-max-share)"
        )
    return ""


def approves(annotations: Mapping[str, str], revision: str) -> bool:
    """Whether the approval annotation names ``revision`` (7 to 40 hex digits of it)."""
    value = str(annotations.get(APPROVAL_ANNOTATION, "")).strip().lower()
    if len(value) < _MIN_APPROVAL or not _HEX.fullmatch(value):
        return False
    return revision.lower().startswith(value)


def approval_help(revision: str, namespace: str) -> str:
    """What to do about held deletions, with the exact command."""
    return (
        "Nothing was deleted; everything else in the revision was applied. If the "
        "deletions are intended, approve them for this revision: kubectl annotate namespace "
        f"{namespace} --overwrite {APPROVAL_ANNOTATION}={revision[:12]}, then run "
        "'fluxctl sync' (or wait for the next sync). If not, restore the manifests (or "
        "--git-path) in git."
    )


class DeletionGuard:
    """What garbage collection asks before it deletes, for one pass of ``revision``.

    Called with the ids about to be deleted, it answers why to hold them
    ("" lets them go); an approval of the revision lets them go too.
    """

    def __init__(
        self,
        revision: str,
        *,
        policy: GuardPolicy,
        inventory: int,
        desired: int,
        missing_paths: Sequence[str],
        approved: Callable[[str], bool],
        namespace: str,
    ) -> None:
        self._revision = revision
        self._policy = policy
        self._inventory = inventory
        self._desired = desired
        self._missing = tuple(missing_paths)
        self._approved = approved
        self._namespace = namespace

    def __call__(self, deleting: Sequence[str]) -> str:
        reason = hold_reason(
            deleting=len(deleting),
            inventory=self._inventory,
            desired=self._desired,
            missing_paths=self._missing,
            policy=self._policy,
        )
        if reason and self._approved(self._revision):
            log.warning(
                "event=gc-guard-approved revision=%s deleting=%d reason=%r",
                self._revision[:7],
                len(deleting),
                reason,
            )
            return ""
        return reason

    def hold(self, held: Sequence[str], reason: str) -> GcHold | None:
        """The report of deletions held back (None when nothing was)."""
        if not held:
            return None
        help = approval_help(self._revision, self._namespace)
        log.warning(
            "event=gc-guard-blocked revision=%s held=%d inventory=%d reason=%r help=%r",
            self._revision[:7],
            len(held),
            self._inventory,
            reason,
            help,
        )
        return GcHold(reason, tuple(held), self._inventory, help)
