"""The ssh command line: only our key, only our known_hosts, strict, no prompts."""

from __future__ import annotations

from pathlib import Path

from fluxd.git.ssh import SshOptions, ssh_argv


def options(**overrides: object) -> SshOptions:
    values: dict[str, object] = {
        "identity_file": Path("/var/fluxd/keygen/identity"),
        "known_hosts_files": (Path("/tmp/work dir/known_hosts"),),
        "accept_new_host_keys": False,
        "timeout": 20.0,
    }
    values.update(overrides)
    return SshOptions(**values)  # type: ignore[arg-type]


def option_values(argv: list[str]) -> dict[str, str]:
    pairs = [argv[i + 1] for i, arg in enumerate(argv) if arg == "-o"]
    return dict(pair.split("=", 1) for pair in pairs)


def test_only_the_given_identity_is_offered_and_no_config_file_is_read() -> None:
    argv = ssh_argv(options(), "github.com", "git", None)
    assert argv[:3] == ["ssh", "-F", "/dev/null"]
    assert argv[argv.index("-i") + 1] == "/var/fluxd/keygen/identity"
    opts = option_values(argv)
    assert opts["IdentitiesOnly"] == "yes"
    assert opts["IdentityAgent"] == "none"
    assert opts["BatchMode"] == "yes"


def test_host_keys_are_checked_strictly_against_our_files_only() -> None:
    opts = option_values(ssh_argv(options(), "github.com", "git", None))
    assert opts["StrictHostKeyChecking"] == "yes"
    assert opts["UserKnownHostsFile"] == '"/tmp/work dir/known_hosts"'
    assert opts["GlobalKnownHostsFile"] == "/dev/null"
    assert opts["UpdateHostKeys"] == "no"


def test_trust_on_first_use_accepts_only_new_hosts_and_records_them_first() -> None:
    files = (Path("/w/learned"), Path("/w/known_hosts"))
    argv = ssh_argv(options(accept_new_host_keys=True, known_hosts_files=files), "h", "", None)
    opts = option_values(argv)
    assert opts["StrictHostKeyChecking"] == "accept-new"
    assert opts["UserKnownHostsFile"] == '"/w/learned" "/w/known_hosts"'


def test_the_timeout_bounds_connecting_and_silent_servers() -> None:
    opts = option_values(ssh_argv(options(timeout=7.5), "h", "", None))
    assert opts["ConnectTimeout"] == "8"
    assert int(opts["ServerAliveInterval"]) * int(opts["ServerAliveCountMax"]) <= 9


def test_port_and_login_are_passed_as_options() -> None:
    argv = ssh_argv(options(), "127.0.0.1", "git", 2222)
    assert argv[argv.index("-p") + 1] == "2222"
    assert argv[argv.index("-l") + 1] == "git"
    assert "127.0.0.1" not in argv  # the host follows "--", added by the vendor


def test_no_login_option_without_a_user() -> None:
    assert "-l" not in ssh_argv(options(), "h", "", None)
