"""``fluxctl sync`` follows Flux v1's flow and lines, and says when resources failed."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import pytest

from unit.cli.fake_daemon import FakeDaemon, Reply, fixture
from unit.cli.harness import Fluxctl

CONFIG = fixture("git-repo-config.json")
REVISION = fixture("jobs-succeeded.json")["Result"]["revision"]
JOB_ID = fixture("update-manifests.json")
RUNNING = fixture("jobs-running.json")
SUCCEEDED = fixture("jobs-succeeded.json")
URL = CONFIG["remote"]["url"]

HAPPY_LINES = [
    f"Synchronizing with {URL}",
    f"Revision of master to apply is {REVISION[:7]}",
    f"Waiting for {REVISION[:7]} to be applied ...",
    "Done.",
]


def test_happy_path_prints_the_four_flux_v1_lines_in_order_to_stderr(at_daemon: Fluxctl) -> None:
    result = at_daemon("sync")

    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == HAPPY_LINES
    assert result.stdout == ""


def test_a_no_op_sync_asks_once_and_never_waits(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    result = at_daemon("sync")

    assert result.exit_code == 0
    # fluxctl waits only after an answer that says "not yet".
    assert len(daemon.calls("GET /v6/jobs")) == 1
    assert len(daemon.calls("GET /v6/sync")) == 1


def test_sync_sends_the_flux_v1_requests(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    at_daemon("sync")

    assert daemon.calls("POST /v9/git-repo-config")[0].body is False
    (update,) = daemon.calls("POST /v9/update-manifests")
    assert update.body == {"type": "sync", "cause": {"Message": "", "User": ""}, "spec": {}}
    assert daemon.calls("GET /v6/jobs")[0].query == {"id": JOB_ID}
    assert daemon.calls("GET /v6/sync")[0].query == {"ref": REVISION}
    assert daemon.calls("GET /v11/sync-errors")[0].query == {"ref": REVISION}


def test_sync_waits_for_the_job_to_finish(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    daemon.script("GET /v6/jobs", fixture("jobs-queued.json"), RUNNING, RUNNING, SUCCEEDED)

    result = at_daemon("sync")

    assert result.exit_code == 0, result.output
    assert len(daemon.calls("GET /v6/jobs")) == 4
    assert result.stderr.splitlines() == HAPPY_LINES


def test_sync_waits_while_revisions_are_pending(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    daemon.script("GET /v6/sync", [REVISION, "a" * 40], [REVISION], [])

    result = at_daemon("sync")

    assert result.exit_code == 0, result.output
    assert len(daemon.calls("GET /v6/sync")) == 3
    assert result.stderr.splitlines()[-1] == "Done."
    # The failures are asked for only once the revision is applied.
    assert len(daemon.calls("GET /v11/sync-errors")) == 1


def test_sync_with_failed_resources_lists_them_and_exits_1(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    errors = [
        {
            "ID": "default:service/nginx-service",
            "Path": "workloads/svc.yaml",
            "Error": 'Service "nginx-service" is invalid:\nspec.ports[0].nodePort: Invalid value',
        },
        {"ID": "default:deployment/broken", "Path": "workloads/broken.yaml", "Error": "bad image"},
    ]
    daemon.script("GET /v11/sync-errors", {"revision": REVISION, "errors": errors})

    result = at_daemon("sync")

    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert "Done." not in lines
    assert lines[:3] == HAPPY_LINES[:3]
    assert lines[3] == f"Revision {REVISION[:7]} was applied, but 2 resource(s) failed:"
    assert lines[4].split() == ["RESOURCE", "FILE", "ERROR"]
    # Sorted by resource ID, one line each, columns aligned.
    assert lines[5].startswith("default:deployment/broken      workloads/broken.yaml  bad image")
    assert lines[6].startswith("default:service/nginx-service  workloads/svc.yaml")
    assert "spec.ports[0].nodePort: Invalid value" in lines[6]
    assert lines[-1] == f"Error: 2 resource(s) of {REVISION[:7]} failed to apply"


def test_an_old_daemon_without_sync_errors_still_says_done(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    daemon.script("GET /v11/sync-errors", Reply(None, status=404))

    result = at_daemon("sync")

    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == HAPPY_LINES


def test_a_failed_job_is_reported_with_its_id(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    failed = {"Result": {}, "Err": "git fetch: connection reset", "StatusString": "failed"}
    daemon.script("GET /v6/jobs", failed)

    result = at_daemon("sync")

    assert result.exit_code == 1
    assert result.stderr.splitlines()[1:] == [
        f'Failed to complete sync job (ID "{JOB_ID}")',
        "Error: git fetch: connection reset",
    ]


def test_timeout_while_the_job_runs_exits_1_and_says_so(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    daemon.script("GET /v6/jobs", RUNNING)

    result = at_daemon("--timeout", "300ms", "sync")

    assert result.exit_code == 1
    assert "timed out after 300ms waiting for the sync job" in result.stderr
    assert "its last status was running" in result.stderr


def test_timeout_while_waiting_for_apply_says_what_is_pending(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    daemon.script("GET /v6/sync", [REVISION])

    result = at_daemon("sync", env={"FLUX_TIMEOUT": "400ms"})

    assert result.exit_code == 1
    assert f"Waiting for {REVISION[:7]} to be applied ..." in result.stderr
    assert (
        f"Error: timed out after 400ms waiting for {REVISION[:7]} to be applied; "
        "1 commit(s) not applied yet"
    ) in result.stderr
    assert "Done." not in result.stderr


def test_a_daemon_that_does_not_answer_in_time_is_a_timeout(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    never_yet = threading.Event()
    daemon.script("POST /v9/git-repo-config", Reply(CONFIG, hold=never_yet))

    result = at_daemon("--timeout", "200ms", "sync")
    never_yet.set()

    assert result.exit_code == 1
    assert "Error: fluxd did not answer /v9/git-repo-config within 200ms" in result.stderr


@pytest.mark.parametrize(
    ("fixture_name", "hint"),
    [
        ("git-repo-config-new.json", "refused fluxd's SSH key"),
        ("cli-git-repo-config-cloned.json", "is checking that it can push"),
    ],
)
def test_a_repo_not_ready_gives_the_flux_v1_error_and_a_hint(
    at_daemon: Fluxctl, daemon: FakeDaemon, fixture_name: str, hint: str
) -> None:
    config = fixture(fixture_name)
    daemon.script("POST /v9/git-repo-config", config)

    result = at_daemon("sync")

    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: git repository {config['remote']['url']} is not ready to sync\n\n"
        f"Full error message: {config['errors'].replace(chr(13), '').strip()}\n\n"
    )
    assert hint in result.stderr
    assert not daemon.calls("POST /v9/update-manifests")


def test_a_refused_key_hint_names_the_identity_command_with_the_users_flags(
    fluxctl: Fluxctl, daemon: FakeDaemon
) -> None:
    daemon.script("POST /v9/git-repo-config", fixture("git-repo-config-new.json"))

    result = fluxctl("--url", daemon.url, "sync")

    assert f"Run `fluxctl identity --url {daemon.url}` and add the key" in result.stderr
    assert "deploy key with write access" in result.stderr


@pytest.mark.parametrize(
    ("status", "errors", "message", "hint"),
    [
        ("unconfigured", "", "Error: no git repository is configured", "--git-url"),
        (
            "unreachable",
            "dial tcp: lookup gitlab.internal: no such host",
            f"Error: can not connect to git repository with URL {URL}\n\n"
            "Full error message: dial tcp: lookup gitlab.internal: no such host",
            "Check the repository URL fluxd was started with (--git-url)",
        ),
        (
            "new",
            "Host key verification failed.\nfatal: Could not read from remote repository.",
            f"Error: git repository {URL} is not ready to sync",
            f"ssh-keyscan {urlsplit(URL).hostname}",
        ),
        (
            "new",
            "ERROR: Repository not found.\nfatal: Could not read from remote repository.",
            f"Error: git repository {URL} is not ready to sync",
            "says there is no such repository",
        ),
        (
            "cloned",
            "git push: ERROR: The key you are authenticating with has been marked as read only.",
            f"Error: git repository {URL} is not ready to sync",
            "can read the repository but not push",
        ),
        (
            "new",
            "",
            f"Error: git repository {URL} is not ready to sync",
            "has not cloned the repository yet",
        ),
    ],
)
def test_each_not_ready_cause_gets_its_own_hint(
    at_daemon: Fluxctl, daemon: FakeDaemon, status: str, errors: str, message: str, hint: str
) -> None:
    config = fixture("git-repo-config.json")
    config.update(status=status, errors=errors)
    daemon.script("POST /v9/git-repo-config", config)

    result = at_daemon("sync")

    assert result.exit_code == 1
    assert result.stderr.startswith(message)
    assert hint in result.stderr
    assert "Synchronizing" not in result.stderr
