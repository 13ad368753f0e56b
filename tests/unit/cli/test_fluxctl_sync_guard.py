"""``fluxctl sync`` says when deletions were held back or history was rewritten."""

from __future__ import annotations

from unit.cli.fake_daemon import FakeDaemon, fixture
from unit.cli.harness import Fluxctl

REVISION = fixture("jobs-succeeded.json")["Result"]["revision"]
SHORT = REVISION[:7]
HELP = (
    "Nothing was deleted; everything else in the revision was applied. If the deletions are "
    "intended, approve them for this revision: kubectl annotate namespace flux --overwrite "
    f"fluxd.io/allow-mass-deletion={REVISION[:12]}, then run 'fluxctl sync'."
)
HELD = {
    "reason": "the revision holds no manifests; garbage collection would delete every one "
    "of the 3 object(s) fluxd applied",
    "deletions": ["apps:deployment/a", "apps:service/a", "apps:configmap/a"],
    "inventory": 3,
    "help": HELP,
}


def test_held_deletions_are_explained_with_the_approval_command_and_exit_1(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    daemon.script("GET /v11/sync-errors", {"revision": REVISION, "errors": [], "gcHeld": HELD})

    result = at_daemon("sync")

    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert "Done." not in lines
    assert (
        f"Revision {SHORT} was applied, but garbage collection was held back: {HELD['reason']}."
        in lines
    )
    assert HELP in lines
    assert lines[-1] == f"Error: 3 deletion(s) of {SHORT} wait for approval"


def test_failures_and_held_deletions_are_both_shown(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    errors = [{"ID": "apps:deployment/b", "Path": "b.yaml", "Error": "bad"}]
    daemon.script("GET /v11/sync-errors", {"revision": REVISION, "errors": errors, "gcHeld": HELD})

    result = at_daemon("sync")

    assert result.exit_code == 1
    assert f"Revision {SHORT} was applied, but 1 resource(s) failed:" in result.stderr
    assert "garbage collection was held back" in result.stderr


def test_a_rewritten_history_is_a_warning_and_the_sync_still_succeeds(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    previous = "f" * 40
    body = {"revision": REVISION, "errors": [], "historyRewrittenFrom": previous}
    daemon.script("GET /v11/sync-errors", body)

    result = at_daemon("sync")

    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[-1] == "Done."
    warning = [line for line in lines if line.startswith("Warning:")]
    assert warning == [
        f"Warning: {SHORT} does not descend from fffffff, the revision applied before it: the "
        "branch history was rewritten (force-push or reset). It was synced."
    ]


def test_sync_waits_while_fluxd_retries_the_pass_and_then_says_done(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    failed = [{"ID": "apps:configmap/a", "Path": "a.yaml", "Error": "connection refused"}]
    retrying = {"revision": REVISION, "errors": failed, "retrying": True}
    daemon.script("GET /v11/sync-errors", retrying, retrying, {"revision": REVISION, "errors": []})

    result = at_daemon("sync")

    assert result.exit_code == 0, result.output
    assert len(daemon.calls("GET /v11/sync-errors")) == 3
    lines = result.stderr.splitlines()
    assert (
        lines.count(f"fluxd is retrying {SHORT}: the API server or git was briefly unavailable ...")
        == 1
    )
    assert lines[-1] == "Done."
