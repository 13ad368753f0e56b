"""``fluxctl identity`` prints what fluxd's git-repo-config says about its key."""

from __future__ import annotations

from unit.cli.fake_daemon import FakeDaemon, fixture
from unit.cli.harness import Fluxctl

CONFIG = fixture("git-repo-config.json")
KEY = CONFIG["publicSSHKey"]


def test_identity_prints_the_public_key_exactly_once(at_daemon: Fluxctl) -> None:
    result = at_daemon("identity")

    assert result.exit_code == 0, result.output
    assert result.stdout == KEY["key"]
    assert result.stdout.startswith("ssh-ed25519 ") and result.stdout.count("\n") == 1
    assert result.stderr == ""


def test_identity_asks_without_regenerating(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    at_daemon("identity")

    (call,) = daemon.calls("POST /v9/git-repo-config")
    assert call.body is False
    assert call.headers["accept"] == "application/json"


def test_identity_regenerate_sends_true(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    result = at_daemon("identity", "--regenerate")

    assert result.exit_code == 0
    assert daemon.calls("POST /v9/git-repo-config")[0].body is True


def test_fingerprint_prints_md5_hex_pairs_without_prefix(at_daemon: Fluxctl) -> None:
    result = at_daemon("identity", "-l")

    expected = KEY["fingerprints"]["md5"]["hash"].removeprefix("MD5:")
    assert result.exit_code == 0
    assert result.stdout == expected + "\n"
    assert len(expected.split(":")) == 16


def test_visual_prints_fingerprint_then_randomart(at_daemon: Fluxctl) -> None:
    result = at_daemon("identity", "-v")

    md5 = KEY["fingerprints"]["md5"]
    assert result.exit_code == 0
    assert result.stdout == md5["hash"].removeprefix("MD5:") + "\n" + md5["randomart"]
    assert result.stdout.splitlines()[-1] == "+------[MD5]------+"


def test_an_md5_prefix_on_the_hash_is_not_printed(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    config = fixture("git-repo-config.json")
    md5 = config["publicSSHKey"]["fingerprints"]["md5"]
    md5["hash"] = "MD5:" + md5["hash"]
    daemon.script("POST /v9/git-repo-config", config)

    assert at_daemon("identity", "-l").stdout == md5["hash"].removeprefix("MD5:") + "\n"


def test_a_key_without_trailing_newline_still_ends_the_line(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    config = fixture("git-repo-config.json")
    config["publicSSHKey"]["key"] = "ssh-ed25519 AAAAC3Nza fluxd"
    daemon.script("POST /v9/git-repo-config", config)

    assert at_daemon("identity").stdout == "ssh-ed25519 AAAAC3Nza fluxd\n"


def test_the_token_is_sent_as_flux_v1_did(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    at_daemon("--token", "s3cret", "identity")

    headers = daemon.calls("POST /v9/git-repo-config")[0].headers
    assert headers["authorization"] == "Scope-Probe token=s3cret"
