"""What fluxctl presents to the API server, read from the kubeconfig as kubectl reads it.

Client certificates and plain tokens are exercised against the real API
server by ``tests/integration/test_fluxctl_portforward.py``; the ways of
getting credentials that a test cluster does not offer (exec plugins,
token files, a cached auth-provider token, impersonation, basic auth) are
specified here, from the kubeconfig to the headers sent.
"""

from __future__ import annotations

import json
import ssl
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from fluxctl.errors import ClusterAccessError
from fluxctl.kubeaccess import load_access


def kubeconfig(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, user: dict[str, Any], **cluster: Any
) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "here",
        "contexts": [{"name": "here", "context": {"cluster": "c", "user": "u"}}],
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443", **cluster}}],
        "users": [{"name": "u", "user": user}],
    }
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("KUBECONFIG", str(path))


def plugin(tmp_path: Path, output: dict[str, Any], *, exit_code: int = 0) -> dict[str, Any]:
    """An exec plugin that records its environment and prints ``output``."""
    script = tmp_path / "plugin.py"
    script.write_text(
        "import json, os, sys\n"
        f"open({str(tmp_path / 'seen.json')!r}, 'w').write(json.dumps(dict(os.environ)))\n"
        f"print({json.dumps(output)!r})\n"
        f"sys.exit({exit_code})\n"
    )
    return {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": sys.executable,
        "args": [str(script)],
        "env": [{"name": "PLUGIN_REGION", "value": "eu-1"}],
        "interactiveMode": "Never",
    }


def test_an_exec_plugins_token_is_sent_as_bearer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credential = {"kind": "ExecCredential", "status": {"token": "from-plugin"}}
    kubeconfig(tmp_path, monkeypatch, {"exec": plugin(tmp_path, credential)})

    access = load_access("")

    assert access.headers["Authorization"] == "Bearer from-plugin"
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen["PLUGIN_REGION"] == "eu-1"
    info = json.loads(seen["KUBERNETES_EXEC_INFO"])
    assert info["kind"] == "ExecCredential"
    assert info["spec"]["interactive"] is False


def test_a_failing_exec_plugin_is_named_with_its_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubeconfig(tmp_path, monkeypatch, {"exec": plugin(tmp_path, {}, exit_code=3)})

    with pytest.raises(ClusterAccessError, match=r"exec plugin .* failed \(exit 3\)"):
        load_access("")


def test_an_exec_plugin_without_a_credential_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubeconfig(tmp_path, monkeypatch, {"exec": plugin(tmp_path, {"status": {}})})

    with pytest.raises(ClusterAccessError, match="neither a token nor a client certificate"):
        load_access("")


def test_a_missing_exec_command_names_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = {"command": "/nonexistent/kubelogin", "installHint": "Install kubelogin."}
    kubeconfig(tmp_path, monkeypatch, {"exec": spec})

    with pytest.raises(ClusterAccessError) as error:
        load_access("")
    assert "/nonexistent/kubelogin" in error.value.message
    assert error.value.hint == "Install kubelogin."


def test_a_token_file_is_read_relative_to_the_kubeconfig(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "token").write_text("from-file\n")
    kubeconfig(tmp_path, monkeypatch, {"tokenFile": "token"})

    assert load_access("").headers["Authorization"] == "Bearer from-file"


def test_an_auth_providers_cached_token_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = {"name": "oidc", "config": {"id-token": "cached", "refresh-token": "r"}}
    kubeconfig(tmp_path, monkeypatch, {"auth-provider": provider})

    assert load_access("").headers["Authorization"] == "Bearer cached"


def test_impersonation_and_basic_auth_become_headers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = {"username": "ops", "password": "pw", "as": "jane", "as-groups": ["a", "b"]}
    kubeconfig(tmp_path, monkeypatch, user)

    headers = load_access("").headers

    assert headers["Authorization"] == "Basic b3BzOnB3"
    assert (headers["Impersonate-User"], headers["Impersonate-Group"]) == ("jane", "a,b")


def test_insecure_skip_tls_verify_turns_verification_off_and_server_name_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubeconfig(
        tmp_path,
        monkeypatch,
        {"token": "t"},
        **{"insecure-skip-tls-verify": True, "tls-server-name": "api.internal"},
    )

    access = load_access("")

    assert access.tls is not None and access.tls.verify_mode == ssl.CERT_NONE
    assert access.server_name == "api.internal"
    assert (access.host, access.port) == ("127.0.0.1", 6443)


def test_a_certificate_authority_that_is_not_a_certificate_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\nnot base64\n")
    kubeconfig(tmp_path, monkeypatch, {"token": "t"}, **{"certificate-authority": "ca.crt"})

    with pytest.raises(ClusterAccessError, match="cannot use the kubeconfig's certificates"):
        load_access("")


def test_no_kubeconfig_and_no_cluster_says_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)

    with pytest.raises(ClusterAccessError, match="no kubeconfig found"):
        load_access("")
