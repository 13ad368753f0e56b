"""Bad flags and bad kubeconfigs get an error naming the input and the fix, never a traceback.

Exit codes: 2 for a malformed flag (click's usage error), 1 for a kubeconfig
fluxctl cannot use.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from click.testing import Result

from unit.cli.fake_daemon import FakeDaemon
from unit.cli.harness import Fluxctl

GOOD_CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")


def assert_clean_error(result: Result, *, code: int, names: str) -> None:
    output = result.stdout + result.stderr
    assert result.exit_code == code, output
    assert result.exception is None or isinstance(result.exception, SystemExit), output
    assert "Traceback" not in output
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1, result.stderr
    assert names in error_lines[0]


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1",
        ":::",
        "http://",
        "ftp://127.0.0.1/api/flux",
        "http://127.0.0.1:99999/api/flux",
        "http://127.0.0.1:port/api/flux",
        "127.0.0.1:3030",
        "http://exa mple.com/api/flux",
    ],
)
def test_a_url_that_is_not_an_http_url_is_a_usage_error(fluxctl: Fluxctl, url: str) -> None:
    assert_clean_error(fluxctl("--url", url, "list-workloads"), code=2, names="--url")
    assert_clean_error(fluxctl("list-workloads", "--url", url), code=2, names="--url")
    assert_clean_error(fluxctl("identity", env={"FLUX_URL": url}), code=2, names="--url")


@pytest.mark.parametrize("timeout", ["99999999999999999h", "1e9s", "0", "-5s", "five", "800h"])
def test_a_timeout_out_of_range_or_malformed_is_a_usage_error(
    at_daemon: Fluxctl, timeout: str
) -> None:
    assert_clean_error(at_daemon("--timeout", timeout, "identity"), code=2, names="--timeout")


def kubeconfig(tmp_path: Path, text: str | bytes) -> dict[str, str | None]:
    path = tmp_path / "config"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return {"KUBECONFIG": str(path)}


def full_config(cluster: str = "", user: str = "", context: str = "") -> str:
    return (
        "apiVersion: v1\nkind: Config\ncurrent-context: work\n"
        "clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n"
        f"    certificate-authority-data: {GOOD_CA.decode()}\n{cluster}"
        f"users:\n- name: u\n  user:\n    token: abc\n{user}"
        f"contexts:\n- name: work\n  context: {{cluster: c, user: u}}\n{context}"
    )


BROKEN: dict[str, tuple[str | bytes, str]] = {
    "bad YAML": ("clusters: [\n", "not valid YAML"),
    "not a mapping": ("- 1\n- 2\n", "mapping"),
    "clusters a number": ("clusters: 5\ncurrent-context: x\ncontexts: 7\n", "clusters"),
    "contexts a number": (full_config().replace("contexts:\n-", "contexts: 7\nx:\n-"), "contexts"),
    "context body a number": (
        full_config().replace("context: {cluster: c, user: u}", "context: 5"),
        "context",
    ),
    "current-context a list": (
        full_config().replace("current-context: work", "current-context: [1]"),
        "current-context",
    ),
    "bad base64 CA": (
        full_config().replace(GOOD_CA.decode(), "'%%%not-base64%%%'"),
        "certificate-authority-data",
    ),
    "CA that is not PEM": (
        full_config().replace(GOOD_CA.decode(), base64.b64encode(b"junk").decode()),
        "certificate-authority-data",
    ),
    "bad base64 client key": (
        full_config(user="    client-key-data: '@@@'\n"),
        "client-key-data",
    ),
    "bad base64 client cert": (
        full_config(user="    client-certificate-data: '!!'\n"),
        "client-certificate-data",
    ),
    "CA file missing": (
        full_config(cluster="    certificate-authority: /nonexistent/ca.crt\n"),
        "certificate-authority",
    ),
    "server not a string": (
        full_config().replace("server: https://127.0.0.1:1", "server: 5"),
        "server",
    ),
    "server not a URL": (
        full_config().replace("server: https://127.0.0.1:1", "server: 'http://[::1'"),
        "server",
    ),
    "cluster missing": (full_config().replace("{cluster: c,", "{cluster: nope,"), "nope"),
    "user missing": (full_config().replace("user: u}", "user: nobody}"), "nobody"),
    "current context missing": (
        full_config().replace("current-context: work", "current-context: gone"),
        "gone",
    ),
    "not UTF-8": (b"\xff\xfe\x00garbage", "config"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_kubeconfig_fluxctl_cannot_use_is_reported_naming_what_is_wrong(
    fluxctl: Fluxctl, tmp_path: Path, case: str
) -> None:
    text, named = BROKEN[case]

    result = fluxctl("identity", env=kubeconfig(tmp_path, text))

    assert_clean_error(result, code=1, names=named)
    assert str(tmp_path / "config") in result.stderr


def test_a_context_asked_for_that_is_missing_is_named(fluxctl: Fluxctl, tmp_path: Path) -> None:
    result = fluxctl("--context", "elsewhere", "identity", env=kubeconfig(tmp_path, full_config()))

    assert_clean_error(result, code=1, names="elsewhere")


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_with_url_a_broken_kubeconfig_only_costs_the_default_namespace(
    at_daemon: Fluxctl, daemon: FakeDaemon, tmp_path: Path, case: str
) -> None:
    # As Flux v1: --url needs no cluster access, and the namespace falls back to
    # "default"; the user is told why.
    result = at_daemon("list-workloads", env=kubeconfig(tmp_path, BROKEN[case][0]))

    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert daemon.calls("GET /v6/services")[0].query == {"namespace": "default"}


@pytest.mark.parametrize("namespace", ["x/../../api/v1/secrets?", "Flux", "a b", "-n", "a" * 64])
def test_a_namespace_flag_that_is_not_a_namespace_is_a_usage_error(
    at_daemon: Fluxctl, daemon: FakeDaemon, namespace: str
) -> None:
    for args, flag in [
        (("--k8s-fwd-ns", namespace, "identity"), "--k8s-fwd-ns"),
        (("identity", "--k8s-fwd-ns", namespace), "--k8s-fwd-ns"),
        (("list-workloads", "--namespace", namespace), "--namespace"),
        (("list-images", "--namespace", namespace), "--namespace"),
    ]:
        assert_clean_error(at_daemon(*args), code=2, names=flag)
    assert daemon.calls("GET /v6/services") == [] and daemon.calls("GET /v10/images") == []
