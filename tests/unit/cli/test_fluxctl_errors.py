"""Expected failures print what to do, never a traceback, with documented exit codes."""

from __future__ import annotations

import socket

import pytest

from unit.cli.fake_daemon import FakeDaemon, Reply, fixture
from unit.cli.harness import Fluxctl


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_daemon_down_exits_3_with_a_clear_message(fluxctl: Fluxctl) -> None:
    url = f"http://127.0.0.1:{closed_port()}/api/flux"

    result = fluxctl("--url", url, "sync")

    assert result.exit_code == 3
    assert result.stderr.startswith(f"Error: cannot reach fluxd at {url}: ")
    assert "Connection refused" in result.stderr
    assert "Traceback" not in result.output


def test_a_structured_error_prints_its_help_as_flux_v1_did(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    body = fixture("cli-error-server.json")
    daemon.script("GET /v6/services", Reply(body, status=500))

    result = at_daemon("list-workloads")

    assert result.exit_code == 1
    # The help already contains the message, so it is printed alone.
    assert result.stderr == "== Error ==\n\n" + body["help"] + "\n"


def test_a_server_error_of_ours_shows_message_and_help(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    body = fixture("error-server.json")
    daemon.script("POST /v9/git-repo-config", Reply(body, status=500))

    result = at_daemon("identity")

    assert result.exit_code == 1
    assert result.stderr == f"== Error ==\n\n{body['error']}\n\n{body['help']}\n"


def test_a_structured_error_whose_help_lacks_the_message_shows_both(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    body = {"type": "user", "help": "Correct the input named above.", "error": "bad namespace"}
    daemon.script("GET /v6/services", Reply(body, status=422))

    result = at_daemon("list-workloads")

    assert result.exit_code == 1
    assert result.stderr == "== Error ==\n\nbad namespace\n\nCorrect the input named above.\n"


def test_an_unknown_job_is_reported_with_the_daemons_help(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    body = fixture("error-missing.json")
    daemon.script("GET /v6/jobs", Reply(body, status=404))

    result = at_daemon("sync")

    assert result.exit_code == 1
    assert result.stderr.endswith(f"== Error ==\n\n{body['error']}\n\n{body['help']}\n")


def test_a_plain_text_error_is_shown_with_its_status(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    daemon.script("GET /v6/services", Reply("upstream connect error", status=502))

    result = at_daemon("list-workloads")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: /v6/services: HTTP 502: ")
    assert "upstream connect error" in result.stderr


def test_401_says_authentication_failed(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    daemon.script("POST /v9/git-repo-config", Reply("", status=401))

    result = at_daemon("identity")

    assert result.exit_code == 1
    assert "Authentication failed" in result.stderr
    assert "FLUX_SERVICE_TOKEN" in result.stderr


def test_an_answer_of_the_wrong_shape_is_reported_not_raised(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    daemon.script("POST /v9/git-repo-config", {"unexpected": True})

    result = at_daemon("identity")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: unexpected answer from fluxd for /v9/git-repo-config")
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_no_kubeconfig_and_no_url_says_how_to_fix_it(fluxctl: Fluxctl) -> None:
    result = fluxctl("identity")

    assert result.exit_code == 1
    assert "no kubeconfig found" in result.stderr
    assert "--url" in result.stderr


def test_a_kubeconfig_without_the_context_asked_for_is_reported(
    fluxctl: Fluxctl, tmp_path: pytest.TempPathFactory
) -> None:
    kubeconfig = tmp_path / "config"  # type: ignore[operator]
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters: []\nusers: []\n"
        "contexts:\n- name: a\n  context: {cluster: c, user: u}\n"
    )

    result = fluxctl("--context", "missing", "identity", env={"KUBECONFIG": str(kubeconfig)})

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot use the kubeconfig ")
    assert "missing" in result.stderr


def test_an_unknown_command_is_a_usage_error(fluxctl: Fluxctl) -> None:
    result = fluxctl("deploy")

    assert result.exit_code == 2
    assert "No such command 'deploy'" in result.stderr
