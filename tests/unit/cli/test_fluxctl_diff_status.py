"""``fluxctl diff`` and ``fluxctl status`` against a scripted fluxd: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from unit.cli.fake_daemon import FakeDaemon, Reply
from unit.cli.harness import Fluxctl

CHANGE = {
    "id": "default:deployment/web",
    "file": "web.yaml",
    "action": "change",
    "diff": "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-image: a\n+image: b\n",
}


def _result(*objects: dict[str, Any], **counts: int) -> dict[str, Any]:
    base = {"create": 0, "change": 0, "delete": 0, "unchanged": 0, "failed": 0}
    return {"revision": "abc", "objects": list(objects), **base, **counts, "notes": []}


def test_changes_are_listed_diffed_and_summed_up_with_exit_1(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    gone = {"id": "default:service/web", "action": "delete", "diff": "--- a/y\n+++ /dev/null\n"}
    daemon.script("POST /v11/diff", _result(CHANGE, gone, change=1, delete=1, unchanged=7))
    result = at_daemon("diff")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "To change:",
        "  default:deployment/web  (web.yaml)",
        "To delete (garbage collection):",
        "  default:service/web",
    ]
    assert "-image: a" in lines and "+image: b" in lines
    assert lines[-1] == "0 to create, 1 to change, 1 to delete (garbage collection), 7 unchanged"
    assert daemon.calls("POST /v11/diff")[0].body == {"ref": "", "files": None}


def test_no_change_exits_0_and_a_failed_object_exits_2(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    daemon.script("POST /v11/diff", _result(unchanged=3))
    same = at_daemon("diff", "--ref", "abc1234")
    assert same.exit_code == 0
    assert (
        same.stdout.strip()
        == "0 to create, 0 to change, 0 to delete (garbage collection), 3 unchanged"
    )
    assert daemon.calls("POST /v11/diff")[0].body["ref"] == "abc1234"
    failed = {"id": "default:secret/s", "action": "failed", "error": "secrets is forbidden"}
    daemon.script("POST /v11/diff", _result(CHANGE, failed, change=1, failed=1))
    broken = at_daemon("diff")
    assert broken.exit_code == 2
    assert "error: default:secret/s: secrets is forbidden" in broken.stderr
    assert broken.stdout.splitlines()[-1].endswith("0 unchanged, 1 failed")


def test_an_error_from_fluxd_exits_2_not_1(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    body = {"type": "user", "error": "the git repo is not ready", "help": "Run fluxctl sync."}
    daemon.script("POST /v11/diff", Reply(body, status=422))
    result = at_daemon("diff")
    assert result.exit_code == 2
    assert "the git repo is not ready" in result.stderr


def test_from_dir_sends_the_manifests_of_the_directory(
    at_daemon: Fluxctl, daemon: FakeDaemon, tmp_path: Path
) -> None:
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "web.yaml").write_text("kind: Deployment\n")
    (tmp_path / "README.md").write_text("not a manifest\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config.yaml").write_text("hidden\n")
    daemon.script("POST /v11/diff", _result(unchanged=1))
    result = at_daemon("diff", "--from-dir", str(tmp_path), "-o", "json")
    assert result.exit_code == 0, result.output
    assert daemon.calls("POST /v11/diff")[0].body["files"] == {
        "apps/web.yaml": "kind: Deployment\n"
    }
    assert json.loads(result.stdout)["unchanged"] == 1


def test_status_prints_git_the_passes_and_the_failures(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    failure = {"id": "", "file": "bad.yaml", "line": 6, "error": "bad.yaml (line 6): malformed"}
    daemon.script(
        "GET /v11/status",
        {
            "version": "1.0",
            "url": "ssh://git@example.com/fleet",
            "branch": "main",
            "gitStatus": "ready",
            "lastSync": {"revision": "abcdef123", "author": "Ada", "time": "2026-01-01T00:00:00Z"},
            "passes": [
                {"revision": "abcdef123", "finished": "2026-01-01T00:00:01Z", "duration": 0.1,
                 "applied": 2, "failures": [failure]},
            ],
            "garbageCollection": "on",
        },
    )  # fmt: skip
    result = at_daemon("status")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Git:          ready" in out and "Last synced:  abcdef1 by Ada" in out
    assert "Garbage collection: on" in out
    assert "bad.yaml  6     -         bad.yaml (line 6): malformed" in out
    assert "Deletion guard: nothing held back" in out


def test_open_prints_the_page_beside_the_api_and_returns_with_url(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    result = at_daemon("open", "--no-browser")
    assert result.exit_code == 0, result.output
    assert result.stdout == daemon.url.removesuffix("/api/flux") + "/\n"
    assert [c.path for c in daemon.requests] == ["/v11/version"]  # fluxd answered first
