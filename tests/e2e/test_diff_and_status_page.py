"""``fluxctl diff`` and the status page against fluxd on the test bed, the page
seen through Debian's Chromium (headless)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from fluxtestbed.browser import dump_dom, screenshot, visible_text
from fluxtestbed.fluxd_host import ROOT, wait_for
from fluxtestbed.scenario import Installation, seed_files

pytestmark = [pytest.mark.cluster, pytest.mark.gitserver, pytest.mark.slow]

QUIET = ("--git-poll-interval=10m", "--sync-interval=10m")
# The docs' screenshot is rewritten only when asked for, so a test run leaves
# the checkout as it found it: FLUXPY_UPDATE_SCREENSHOTS=1 make test.
DOCS_SCREENSHOT = ROOT / "docs" / "images" / "status-page.png"


def _screenshot_path(tmp_path: Path) -> Path:
    if os.environ.get("FLUXPY_UPDATE_SCREENSHOTS") == "1":
        return DOCS_SCREENSHOT
    return tmp_path / "status-page.png"


#: Line 6 holds a second colon where YAML wants none.
BROKEN = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata:\n  a: x: y\n"


def _synced(inst: Installation) -> None:
    inst.authorize_deploy_key()
    wait_for("a first good sync", lambda: inst.fluxctl("sync").returncode == 0, timeout=90)


def _changed_lines(diff_text: str) -> list[str]:
    return [
        line
        for line in diff_text.splitlines()
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
    ]


def test_diff_and_the_status_page_through_a_change_a_deletion_and_a_broken_commit(
    installation_factory: Callable[..., Installation], tmp_path: Path
) -> None:
    """One installation (garbage collection on) for the whole story, to keep
    the suite short: each install is a fluxd, two namespaces and a first sync."""
    inst = installation_factory(
        files=seed_files("1.17.7"), extra_args=("--sync-garbage-collection", *QUIET)
    )
    _synced(inst)
    _diff_of_a_local_checkout_shows_the_one_changed_line(inst, tmp_path / "checkout")

    inst.git.push_files(inst.repo, seed_files("1.16.1"), "change the version 1.16")
    assert inst.fluxctl("sync").returncode == 0
    after = inst.fluxctl("diff")
    assert after.returncode == 0, after.stdout + after.stderr
    assert after.stdout.strip().splitlines()[-1] == (
        "0 to create, 0 to change, 0 to delete (garbage collection), 2 unchanged"
    )

    inst.git.push_files(inst.repo, {"nginx-service.yaml": None}, "remove the service")
    gone = inst.fluxctl("diff", "-o", "json")
    assert gone.returncode == 1, gone.stderr
    result = json.loads(gone.stdout)
    assert [(o["action"], o["id"]) for o in result["objects"]] == [
        ("delete", f"{inst.target}:service/nginx-service")
    ]
    assert "-  name: nginx-service" in result["objects"][0]["diff"]
    assert (result["delete"], result["unchanged"]) == (1, 1)
    assert inst.fluxctl("sync").returncode == 0

    _the_page_follows_a_broken_commit_and_its_fix(inst, _screenshot_path(tmp_path))


def _diff_of_a_local_checkout_shows_the_one_changed_line(
    inst: Installation, checkout: Path
) -> None:
    for name, text in seed_files("1.16.1").items():
        (checkout / name).parent.mkdir(parents=True, exist_ok=True)
        (checkout / name).write_text(text)
    local = inst.fluxctl("diff", "--from-dir", str(checkout))
    assert local.returncode == 1, local.stderr
    assert _changed_lines(local.stdout) == [
        "-        image: nginx:1.17.7",
        "+        image: nginx:1.16.1",
    ], local.stdout
    assert f"To change:\n  {inst.target}:deployment/nginx-deployment" in local.stdout
    last = local.stdout.strip().splitlines()[-1]
    assert last == "0 to create, 1 to change, 0 to delete (garbage collection), 1 unchanged"


def _the_page_follows_a_broken_commit_and_its_fix(inst: Installation, shot: Path) -> None:
    page = f"http://127.0.0.1:{inst.daemon.port}/"
    head = inst.git.git(inst.repo, "rev-parse", "master").strip()
    text = visible_text(dump_dom(page))
    assert f"In sync with {head[:7]}" in text
    assert inst.git.ssh_url(inst.repo) in text
    assert f"{inst.target}:deployment/nginx-deployment" in text
    assert "Prometheus metrics" in text and "API documentation" in text

    bad = inst.git.push_files(inst.repo, {"broken.yaml": BROKEN}, "add a broken ConfigMap")
    assert inst.fluxctl("sync").returncode == 1  # one sync of the bad commit, which fails
    broken = visible_text(dump_dom(page))
    assert f"Last sync of {bad[:7]}: 1 failed" in broken
    # The failures table: file, line, object (a file that failed whole), cause.
    assert "broken.yaml 6 (file) broken.yaml (document 0, line 6): malformed YAML" in broken
    screenshot(page, shot)

    fixed = inst.git.push_files(inst.repo, {"broken.yaml": None}, "remove the broken ConfigMap")
    assert inst.fluxctl("sync").returncode == 0
    assert f"In sync with {fixed[:7]}" in visible_text(dump_dom(page))


def test_without_garbage_collection_a_deleted_file_deletes_nothing(
    installation_factory: Callable[..., Installation],
) -> None:
    inst = installation_factory(files=seed_files("1.17.7"), extra_args=QUIET)
    _synced(inst)
    inst.git.push_files(inst.repo, {"nginx-service.yaml": None}, "remove the service")
    out = inst.fluxctl("diff")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "To delete" not in out.stdout
    assert out.stdout.strip().splitlines()[-1] == (
        "0 to create, 0 to change, 0 to delete (garbage collection), 1 unchanged"
    )
    assert "garbage collection is off" in out.stderr
