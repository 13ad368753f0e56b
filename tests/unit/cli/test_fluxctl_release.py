"""``fluxctl release``: Flux v1's flags, request, progress lines, waits, prompt and watch."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fluxctl.commands.release import image_spec, rollout_rows
from fluxctl.wire import ControllerStatus, Shape
from unit.cli.fake_daemon import FakeDaemon, fixture
from unit.cli.harness import Fluxctl

NGINX = "default:deployment/nginx-deployment"
REVISION = "0123456789abcdef0123456789abcdef01234567"
UPDATE = {"Container": "nginx", "Current": "nginx:1.17.7", "Target": "nginx:1.16.1"}
RELEASED: dict[str, Any] = {
    "Result": {
        "revision": REVISION,
        "result": {NGINX: {"Status": "success", "PerContainer": [UPDATE]}},
    },
    "Err": "",
    "StatusString": "succeeded",
}
PLANNED = {"Result": {"result": RELEASED["Result"]["result"]}, "StatusString": "succeeded"}
TABLE = (
    "WORKLOAD                             STATUS   UPDATES\n"
    f"{NGINX}  success  nginx: nginx:1.17.7 -> 1.16.1\n"
)


def specs(daemon: FakeDaemon) -> list[Any]:
    return [call.body for call in daemon.calls("POST /v9/update-manifests")]


def test_release_sends_the_image_spec_prints_the_table_and_waits_for_the_sync(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    daemon.script("GET /v6/jobs", RELEASED)
    daemon.script("GET /v6/sync", fixture("sync-pending.json"), [])
    result = at_daemon(
        "release", "--workload", "deployment/nginx-deployment", "-n", "default",
        "--update-image", "nginx:1.16.1", "--user", "Ann", "-m", "roll",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert result.stdout == TABLE
    assert result.stderr.splitlines() == [
        "Submitting release ...",
        f"Commit pushed:\t{REVISION[:7]}",
        f"Commit applied:\t{REVISION[:7]}",
    ]
    assert specs(daemon) == [
        {
            "type": "image",
            "cause": {"Message": "roll", "User": "Ann"},
            "spec": {
                "ServiceSpecs": [NGINX],
                "ImageSpec": "nginx:1.16.1",
                "Kind": "execute",
                "Excludes": None,
                "Force": False,
            },
        }
    ]
    assert [c.query for c in daemon.calls("GET /v6/sync")][-1] == {"ref": REVISION}


def test_dry_run_plans_and_never_waits_for_a_sync(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    daemon.script("GET /v6/jobs", PLANNED)
    result = at_daemon(
        "release", "--all", "--update-all-images", "--dry-run", "--exclude", "a/b,c:d/e"
    )

    assert result.exit_code == 0, result.output
    assert result.stdout == TABLE
    assert result.stderr == "Submitting dry-run release ...\n"
    spec = specs(daemon)[0]["spec"]
    assert spec["Kind"] == "plan"
    assert spec["ServiceSpecs"] == ["<all>"]
    assert spec["ImageSpec"] == "<all latest>"
    assert spec["Excludes"] == ["default:a/b", "c:d/e"]
    assert daemon.calls("GET /v6/sync") == []


def test_an_apply_that_outlasts_the_timeout_is_not_a_failure(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    daemon.script("GET /v6/jobs", RELEASED)
    daemon.script("GET /v6/sync", fixture("sync-pending.json"))
    result = at_daemon("release", "--all", "-i", "nginx:1.16.1", "--timeout", "300ms")

    assert result.exit_code == 0, result.output
    assert "we timed out waiting for the commit to be\napplied" in result.stderr
    assert "Commit applied" not in result.stderr


def test_a_job_that_outlasts_the_timeout_fails(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    daemon.script("GET /v6/jobs", fixture("jobs-running.json"))
    result = at_daemon("release", "--all", "-i", "nginx:1.16.1", "--timeout", "300ms")

    assert result.exit_code == 1
    assert "We timed out waiting for the result of the operation." in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("Error: timed out after 300ms")


def test_force_with_all_warns_and_is_sent(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    daemon.script("GET /v6/jobs", PLANNED)
    result = at_daemon("release", "--all", "-i", "nginx:1.16.1", "--force", "--dry-run")

    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(
        "Warning: --force will not ignore locked workloads when used with --all\n"
    )
    assert specs(daemon)[0]["spec"]["Force"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "please supply exactly one of --update-image=<image> or --update-all-images"),
        (("-i", "a:1", "--update-all-images"), "please supply exactly one of"),
        (("-i", "a:1"), "please supply either --all, or at least one --workload=<workload>"),
        (("--all", "-i", "a:1", "-w", "--dry-run"), "cannot use --watch with --dry-run"),
        (("--all", "--update-all-images", "-f"), "--force has no effect when used with --all"),
        (("--all", "-i", "nginx"), "blank tag (if you want latest, explicitly state the tag"),
        (("--workload", "nope", "-i", "a:1"), "parsing nope: invalid service ID"),
        (("--all", "-i", "a:1", "--exclude", "x"), "parsing x: invalid service ID"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else None,
)
def test_bad_flags_are_usage_errors_before_any_request(
    at_daemon: Fluxctl, daemon: FakeDaemon, args: tuple[str, ...], message: str
) -> None:
    result = at_daemon("release", *args)

    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert daemon.requests == []


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("nginx:1.16.1", ""),
        ("localhost:5000/team/app:v2", ""),
        ("quay.io/app@sha256:abc", "blank tag"),
        ("nginx", "blank tag"),
        ("", "blank image name"),
        ("/nginx:1", "expected image name as either"),
        ("a:b:c", "expected image name as either"),
        ("<all latest>", ""),
    ],
)
def test_image_spec_follows_flux_v1s_rules(text: str, error: str) -> None:
    if not error:
        assert image_spec(text) == text
        return
    with pytest.raises(ValueError, match=error):
        image_spec(text)


def test_interactive_releases_the_picked_updates(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    daemon.script("GET /v6/jobs", PLANNED, RELEASED)
    result = at_daemon("release", "--all", "--update-all-images", "--interactive", input="1\n")

    assert result.exit_code == 0, result.output
    kinds = [(s["type"], s["spec"]["Kind"]) for s in specs(daemon)]
    assert kinds == [("image", "plan"), ("containers", "execute")]
    assert specs(daemon)[1]["spec"]["ContainerSpecs"] == {NGINX: [UPDATE]}
    assert "Submitting selected release ..." in result.stderr
    assert f"Commit applied:\t{REVISION[:7]}" in result.stderr


def test_interactive_with_an_empty_answer_releases_nothing(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    daemon.script("GET /v6/jobs", PLANNED)
    result = at_daemon("release", "--all", "--update-all-images", "--interactive", input="\n")

    assert result.exit_code == 0, result.output
    assert len(specs(daemon)) == 1
    assert result.stderr.endswith("Aborted.\n")


def _workload(status: str, messages: list[str] | None = None) -> dict[str, Any]:
    return {
        "ID": NGINX,
        "Containers": [{"Name": "nginx", "Current": {"ID": "nginx:1.16.1"}}],
        "Status": status,
        "Rollout": {"Desired": 3, "Updated": 2, "Ready": 1, "Outdated": 1, "Messages": messages},
    }


def test_watch_polls_the_released_workloads_until_ready(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    daemon.script("GET /v6/jobs", RELEASED)
    daemon.script("GET /v11/services", [_workload("updating")], [_workload("ready")])
    result = at_daemon("release", "--all", "-i", "nginx:1.16.1", "--watch")

    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-2:] == ["Monitoring rollout ...", "All workloads ready."]
    assert daemon.calls("GET /v11/services")[0].query == {"namespace": "", "services": NGINX}
    assert "nginx:1.16.1  updating  2/3\n\n" in result.stdout


def test_watch_stops_at_a_rollout_problem(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    daemon.script("GET /v6/jobs", RELEASED)
    daemon.script("GET /v11/services", [_workload("error", ["ImagePullBackOff"])])
    result = at_daemon("release", "--all", "-i", "nginx:1.16.1", "--watch")

    assert result.exit_code == 0, result.output
    assert result.stderr.endswith(f"There was a problem releasing {NGINX}:\nImagePullBackOff\n")


def test_the_rollout_table_adds_counts_with_v() -> None:
    answer = json.dumps(_workload("updating")).encode()
    workload = Shape[ControllerStatus](ControllerStatus).decode(answer, "/v11/services")
    rows = rollout_rows(workload, verbosity=1)
    assert rows[1][-1] == "2/3 (1 outdated, 1 ready)"
    assert rows[-1] == []
