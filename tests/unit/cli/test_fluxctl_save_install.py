"""``fluxctl save`` writes fluxd's export as Flux v1 did; ``fluxctl install`` fills in deploy/."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from fluxctl.commands.install import FILES
from fluxctl.savedyaml import dump
from unit.cli.fake_daemon import FakeDaemon
from unit.cli.harness import Fluxctl

ROOT = Path(__file__).resolve().parents[3]

EXPORT = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  uid: 1234
  creationTimestamp: "2026-12-01T00:00:00Z"
spec:
  finalizers: [kubernetes]
status:
  phase: Active
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cart
  namespace: shop
  annotations:
    deployment.kubernetes.io/revision: "3"
    fluxcd.io/automated: "true"
  labels: {app: cart}
spec:
  replicas: 2
  template:
    metadata:
      creationTimestamp: null
      labels: {app: cart}
    spec:
      containers:
      - name: cart
        image: shop/cart:1.0
        args: ["--port", "8080", ""]
        resources: {}
        env: []
      securityContext: {}
status:
  replicas: 2
"""

SAVED_CART = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    fluxcd.io/automated: "true"
  labels:
    app: cart
  name: cart
  namespace: shop
spec:
  replicas: 2
  template:
    metadata:
      labels:
        app: cart
    spec:
      containers:
      - args:
        - --port
        - "8080"
        - ""
        image: shop/cart:1.0
        name: cart
"""


@pytest.fixture
def exporting(daemon: FakeDaemon) -> FakeDaemon:
    daemon.script("GET /v6/export", base64.b64encode(EXPORT.encode()).decode())
    return daemon


def test_save_to_stdout_prints_each_object_cleaned_after_a_marker(
    at_daemon: Fluxctl, exporting: FakeDaemon
) -> None:
    result = at_daemon("save")

    assert result.exit_code == 0, result.output
    namespace = (
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"
        "spec:\n  finalizers:\n  - kubernetes\n"
    )
    assert result.stdout == f"---\n{namespace}---\n{SAVED_CART}"


def test_save_to_a_directory_writes_flux_v1s_file_names(
    at_daemon: Fluxctl, exporting: FakeDaemon, tmp_path: Path
) -> None:
    result = at_daemon("save", "--out", str(tmp_path))

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"Saving Namespace 'shop' to {tmp_path / 'shop-ns.yaml'}",
        f"Saving Deployment 'cart' to {tmp_path / 'shop' / 'cart-dep.yaml'}",
    ]
    assert (tmp_path / "shop" / "cart-dep.yaml").read_text() == f"---\n{SAVED_CART}"


def test_save_refuses_an_out_that_is_not_a_directory(
    at_daemon: Fluxctl, exporting: FakeDaemon, tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("")
    missing = at_daemon("save", "-o", str(tmp_path / "missing"))
    a_file = at_daemon("save", "-o", str(tmp_path / "file"))

    assert missing.exit_code == 1
    assert f"stat {tmp_path / 'missing'}: no such file or directory" in missing.stderr
    assert a_file.stderr == f"Error: path {tmp_path / 'file'} is not a directory\n"
    assert exporting.calls("GET /v6/export") == []


def test_keys_follow_the_go_encoders_order() -> None:
    text = dump({"b10": 1, "b9": 2, "a_b": 3, "aB": 4, "a-b": 5, "a": 6})
    assert [line.split(":")[0] for line in text.splitlines()] == [
        "a",
        "a-b",
        "a_b",
        "aB",
        "b9",
        "b10",
    ]


def test_multi_line_strings_are_literal_blocks() -> None:
    assert dump({"script": "echo a\necho b\n"}) == "script: |\n  echo a\n  echo b\n"


def _install(fluxctl: Fluxctl, *args: str) -> str:
    result = fluxctl("install", *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_install_fills_in_deploy_for_the_repository_and_namespace(fluxctl: Fluxctl) -> None:
    out = _install(
        fluxctl, "--git-url", "git@example.com:me/repo", "--git-email", "me@example.com",
        "--namespace", "gitops", "--git-path", "apps,infra", "--git-branch", "main",
        "--git-user", "Robot", "--git-label", "prod", "--git-readonly",
    )  # fmt: skip
    objects = [doc for doc in yaml.safe_load_all(out) if doc]
    kinds = [o["kind"] for o in objects]
    assert kinds == [
        "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Secret", "Deployment",
    ]  # fmt: skip
    assert objects[0]["metadata"]["name"] == "gitops"
    assert {o["metadata"].get("namespace", "gitops") for o in objects[1:]} == {"gitops"}
    assert objects[3]["subjects"][0]["namespace"] == "gitops"
    args = objects[-1]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:6] == [
        "--git-url=git@example.com:me/repo",
        "--git-branch=main",
        "--git-path=apps,infra",
        "--git-label=prod",
        "--git-user=Robot",
        "--git-email=me@example.com",
    ]
    assert "--git-readonly" in args


def test_install_without_options_renders_deploy_unchanged_but_for_the_values(
    fluxctl: Fluxctl,
) -> None:
    out = _install(fluxctl, "--git-url", "u", "--git-email", "e", "--namespace", "flux")
    deploy = "---\n".join((ROOT / "deploy" / name).read_text() for name in FILES)
    changed = [(a, b) for a, b in zip(deploy.splitlines(), out.splitlines(), strict=True) if a != b]
    assert changed == [
        ("            - --git-url=git@github.com:YOUR-USER/YOUR-REPO", "            - --git-url=u"),
        ("            - --git-label=flux-sync", "            - --git-label=flux"),
        ("            - --git-user=Flux automation", "            - --git-user=Flux"),
        ("            - --git-email=flux@example.com", "            - --git-email=e"),
    ]


def test_install_quotes_values_yaml_would_misread(fluxctl: Fluxctl) -> None:
    out = _install(fluxctl, "--git-url", "u", "--git-email", "e", "--git-user", "Ops #1: bot")
    deployment = list(yaml.safe_load_all(out))[-1]
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--git-user=Ops #1: bot" in args


def test_install_can_drop_the_security_contexts(fluxctl: Fluxctl) -> None:
    out = _install(fluxctl, "--git-url", "u", "--git-email", "e", "--add-security-context=false")
    deployment = list(yaml.safe_load_all(out))[-1]
    pod = deployment["spec"]["template"]["spec"]
    assert "securityContext" not in pod
    assert "securityContext" not in pod["containers"][0]
    assert pod["containers"][0]["args"]


def test_install_writes_files_into_an_output_dir(fluxctl: Fluxctl, tmp_path: Path) -> None:
    result = fluxctl("install", "--git-url", "u", "--git-email", "e", "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    assert result.stderr.splitlines() == [f"writing {tmp_path / name}" for name in FILES]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--git-email", "e"), "please supply a valid --git-url argument"),
        (("--git-url", "u"), "please supply a valid --git-email argument"),
        (("--git-url", "u", "--git-email", "e", "--manifest-generation"), "not support"),
        (("--git-url", "u", "--git-email", "e", "--namespace", "Bad_NS"), "is not a namespace"),
    ],
)
def test_install_refuses_missing_or_unsupported_flags(
    fluxctl: Fluxctl, args: tuple[str, ...], message: str
) -> None:
    result = fluxctl("install", *args)
    assert result.exit_code == 2
    assert message in result.stderr
