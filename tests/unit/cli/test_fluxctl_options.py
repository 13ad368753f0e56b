"""Global flags keep Flux v1's names, defaults and environment variables."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from fluxctl.params import format_duration, parse_duration, parse_labels
from unit.cli.fake_daemon import FakeDaemon
from unit.cli.harness import Fluxctl


def test_help_documents_the_exit_codes(fluxctl: Fluxctl) -> None:
    result = fluxctl("--help")

    assert result.exit_code == 0
    text = result.stdout
    for line in ("0  success", "2  usage error", "3  fluxd not found or not reachable"):
        assert line in text
    for env in ("FLUX_FORWARD_NAMESPACE", "FLUX_FORWARD_LABELS", "FLUX_URL", "FLUX_TIMEOUT"):
        assert env in text


def test_help_lists_the_commands_but_not_the_alias(fluxctl: Fluxctl) -> None:
    text = fluxctl("--help").stdout

    for name in ("identity", "sync", "list-workloads", "list-images", "version", "completion"):
        assert f"  {name} " in text
    assert "list-controllers" not in text


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["version"],
        ["completion", "bash"],
        ["sync", "--help"],
        ["release", "--help"],
        ["save", "--help"],
        ["install", "--git-url", "u", "--git-email", "e"],
    ],
)
def test_commands_that_need_no_daemon_never_load_the_cluster_client(args: list[str]) -> None:
    # A fresh interpreter: in this one another test may have imported it already.
    probe = (
        "import sys\n"
        "from fluxctl.main import cli\n"
        f"try: cli({args!r}, prog_name='fluxctl')\n"
        "except SystemExit as exit: assert exit.code in (0, None), exit.code\n"
        "print('websocket' in sys.modules or 'kubernetes' in sys.modules, 'httpx' in sys.modules)\n"
        "print('yaml' in sys.modules, 'pydantic' in sys.modules)\n"
    )
    env = {**os.environ, "KUBECONFIG": "/nonexistent", "FLUX_URL": ""}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.splitlines()[-2:] == ["False False", "False False"]


@pytest.mark.parametrize("args", [["sync"], ["list-workloads", "-a"]])
def test_a_command_loads_its_own_module_and_no_http_or_model_library(
    args: list[str], daemon: FakeDaemon
) -> None:
    # Start-up is most of a command's CPU: every module imported is paid on each run.
    # pydantic and fluxd's models (fluxd) alone took 0.14 s; fluxctl.wire decodes instead.
    probe = (
        "import sys\n"
        "from fluxctl.main import cli\n"
        f"try: cli({args!r}, prog_name='fluxctl')\n"
        "except SystemExit as exit: assert exit.code in (0, None), exit.code\n"
        "heavy = ('httpx', 'httpcore', 'anyio', 'kubernetes', 'yaml', 'webbrowser',\n"
        "         'pydantic', 'pydantic_core', 'fluxd')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
        "print(sorted(m for m in sys.modules if m.startswith('fluxctl.commands.')))\n"
    )
    env = {**os.environ, "KUBECONFIG": "/nonexistent", "FLUX_URL": daemon.url}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    module = {"sync": "sync", "list-workloads": "workloads"}[args[0]]
    assert out.stdout.splitlines()[-2:] == ["[]", f"['fluxctl.commands.{module}']"]


def test_the_port_forward_does_without_the_kubernetes_client_package() -> None:
    # Importing it took longer than a whole fluxctl command through the forward.
    probe = "import sys, fluxctl.portforward\nprint('kubernetes' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_version_prints_one_line(fluxctl: Fluxctl) -> None:
    result = fluxctl("version")

    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 1


@pytest.mark.parametrize("args", [["version"], ["completion", "bash"]])
def test_commands_that_need_no_daemon_take_the_global_flags_too(
    fluxctl: Fluxctl, args: list[str]
) -> None:
    # Flux v1's fluxctl accepted them after any command name.
    result = fluxctl(*args, "--k8s-fwd-ns", "flux", "--timeout", "10s")

    assert result.exit_code == 0, result.stderr
    assert result.stdout == fluxctl(*args).stdout


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o"),
        ("zsh", "#compdef fluxctl"),
        ("fish", "complete --no-files --command fluxctl"),
    ],
)
def test_completion_scripts_for_each_shell(fluxctl: Fluxctl, shell: str, marker: str) -> None:
    result = fluxctl("completion", shell)

    assert result.exit_code == 0
    assert marker in result.stdout
    assert "_FLUXCTL_COMPLETE" in result.stdout


def test_completion_of_an_unknown_shell_is_a_usage_error(fluxctl: Fluxctl) -> None:
    assert fluxctl("completion", "tcsh").exit_code == 2


def test_flux_url_from_the_environment_needs_no_cluster(
    fluxctl: Fluxctl, daemon: FakeDaemon
) -> None:
    result = fluxctl("identity", env={"FLUX_URL": daemon.url})

    assert result.exit_code == 0
    assert result.stdout.startswith("ssh-")


def test_the_url_flag_wins_over_the_environment(fluxctl: Fluxctl, daemon: FakeDaemon) -> None:
    result = fluxctl("-u", daemon.url, "identity", env={"FLUX_URL": "http://127.0.0.1:1/x"})

    assert result.exit_code == 0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("60s", 60), ("2m", 120), ("1m30s", 90), ("1h", 3600), ("250ms", 0.25), ("1.5s", 1.5)],
)
def test_timeouts_use_go_duration_syntax(value: str, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["60", "1 m", "1d", "", "s"])
def test_malformed_durations_are_rejected(value: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(value)


def test_a_malformed_timeout_is_a_usage_error(fluxctl: Fluxctl) -> None:
    result = fluxctl("version", env={"FLUX_TIMEOUT": "90"})

    assert result.exit_code == 2
    assert "Invalid value for '--timeout'" in result.stderr


def test_durations_are_shown_the_go_way() -> None:
    assert [format_duration(s) for s in (0.3, 60, 90, 3600, 45.5)] == [
        "300ms", "1m", "1m30s", "1h0m", "45.5s",
    ]  # fmt: skip


def test_labels_parse_as_a_string_map() -> None:
    assert parse_labels("app=flux, release=prod") == {"app": "flux", "release": "prod"}
    with pytest.raises(ValueError, match="key=value"):
        parse_labels("app")


def test_malformed_forward_labels_are_a_usage_error(fluxctl: Fluxctl) -> None:
    result = fluxctl("--k8s-fwd-labels", "flux", "identity")

    assert result.exit_code == 2
    assert "--k8s-fwd-labels" in result.stderr


def test_global_flags_may_follow_the_command_as_in_flux_v1(
    fluxctl: Fluxctl, daemon: FakeDaemon
) -> None:
    result = fluxctl("identity", "--url", daemon.url)

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ssh-")


def test_a_flag_after_the_command_wins_over_the_environment(
    fluxctl: Fluxctl, daemon: FakeDaemon
) -> None:
    env: dict[str, str | None] = {"FLUX_URL": "http://127.0.0.1:1/api/flux", "FLUX_TIMEOUT": "1s"}

    result = fluxctl("sync", "-u", daemon.url, "--timeout", "2m", env=env)

    assert result.exit_code == 0, result.output


def test_the_walkthroughs_namespace_flag_after_the_command_is_used(fluxctl: Fluxctl) -> None:
    # No cluster here: the error shows which namespace the lookup would use.
    result = fluxctl("identity", "--k8s-fwd-ns", "flux", "--k8s-fwd-labels", "x=y")

    assert result.exit_code == 1  # no kubeconfig in this test's environment
    assert "no kubeconfig found" in result.stderr


def test_malformed_global_flags_after_the_command_are_usage_errors(fluxctl: Fluxctl) -> None:
    assert fluxctl("sync", "--timeout", "soon").exit_code == 2
    assert fluxctl("sync", "--k8s-fwd-labels", "flux").exit_code == 2
