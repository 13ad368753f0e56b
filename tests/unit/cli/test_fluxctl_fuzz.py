"""fluxctl's flags and kubeconfigs, generated: an exit code and a message, never a traceback.

Hypothesis generates flag values and kubeconfig files (kubeconfig-shaped
mappings with values of any type, and text that is not YAML at all). The
seed is fixed and the examples bounded. Nothing leaves the machine: every
URL or API server that could be valid is 127.0.0.1 port 1, which refuses.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from click.testing import Result
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from unit.cli.harness import Fluxctl

EXAMPLES = 40
FUZZ = settings(
    derandomize=True,
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
REFUSING = "http://127.0.0.1:1/api/flux"
PEM = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
TOLD: Counter[str] = Counter()


def assert_no_traceback(result: Result, codes: set[int]) -> None:
    output = result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception),
        output,
    )
    assert "Traceback" not in output
    assert result.exit_code in codes, output
    if result.exit_code:
        assert "Error:" in result.stderr


def stays_here(url: str) -> bool:
    """Whether ``url``, if it is one at all, goes nowhere but the refusing local port."""
    try:
        parts = urlsplit(url.strip())
        return parts.hostname in (None, "", "127.0.0.1") and parts.port in (None, 1)
    except ValueError:
        return True


url_texts = st.builds(
    str.__add__,
    st.sampled_from(["", "http://", "https://", "http://[", "http://127.0.0.1:", ":::", "ftp://"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="@\\"), max_size=40),
)


@FUZZ
@given(url=url_texts | st.sampled_from(["http://[::1", ":::", "http://", "https://:0"]))
def test_any_url_is_used_or_a_usage_error(fluxctl: Fluxctl, url: str) -> None:
    assume(stays_here(url))
    TOLD["--url"] += 1
    result = fluxctl("--url", url, "list-workloads", "-n", "default")
    # 1: a blank --url means "port-forward", and this test has no kubeconfig.
    assert_no_traceback(result, {1, 2, 3} if not url.strip() else {2, 3})


@FUZZ
@given(
    tail=st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FF, exclude_characters="#"),
        max_size=30,
    )
)
def test_urls_on_a_refusing_port_fail_cleanly_whatever_their_path(
    fluxctl: Fluxctl, tail: str
) -> None:
    TOLD["--url to 127.0.0.1:1"] += 1
    result = fluxctl("--url", f"http://127.0.0.1:1/{tail}", "list-workloads", "-n", "default")
    assert_no_traceback(result, {2, 3})


@FUZZ
@given(
    timeout=st.text(max_size=20)
    | st.from_regex(r"\A-?[0-9]{1,25}(\.[0-9]{0,5})?(ns|us|ms|s|m|h)\Z")
)
def test_any_timeout_is_accepted_or_a_usage_error(fluxctl: Fluxctl, timeout: str) -> None:
    TOLD["--timeout"] += 1
    assert_no_traceback(fluxctl("--url", REFUSING, "--timeout", timeout, "identity"), {2, 3})


@FUZZ
@given(labels=st.text(max_size=40), namespace=st.text(max_size=20))
def test_any_labels_and_namespace_are_accepted_or_a_usage_error(
    fluxctl: Fluxctl, labels: str, namespace: str
) -> None:
    TOLD["--k8s-fwd-labels, --k8s-fwd-ns"] += 1
    result = fluxctl("--k8s-fwd-labels", labels, "--k8s-fwd-ns", namespace, "version")
    assert_no_traceback(result, {0, 2})


anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)


def maybe(value: object) -> st.SearchStrategy[object]:
    """Mostly ``value``, sometimes anything at all."""
    return st.just(value) | st.just(value) | anything


cluster_body = st.fixed_dictionaries(
    {"server": maybe("https://127.0.0.1:1")},
    optional={
        "certificate-authority-data": maybe(PEM.decode()) | st.text(max_size=20),
        "certificate-authority": maybe("/nonexistent/ca.crt"),
        "insecure-skip-tls-verify": maybe(True),
    },
)
user_body = st.fixed_dictionaries(
    {},
    optional={
        "token": maybe("abc"),
        "client-certificate-data": maybe(PEM.decode()) | st.text(max_size=20),
        "client-key-data": st.text(max_size=20),
        "tokenFile": maybe("/nonexistent/token"),
    },
)
context_body = st.fixed_dictionaries(
    {"cluster": maybe("c"), "user": maybe("u")}, optional={"namespace": maybe("team-a")}
)


def named(body_key: str, body: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return maybe("c" if body_key == "cluster" else "u" if body_key == "user" else "work").flatmap(
        lambda name: st.fixed_dictionaries({"name": st.just(name), body_key: body}) | anything
    )


kubeconfigs = st.fixed_dictionaries(
    {},
    optional={
        "apiVersion": maybe("v1"),
        "kind": maybe("Config"),
        "current-context": maybe("work"),
        "clusters": st.lists(named("cluster", cluster_body), max_size=2) | anything,
        "users": st.lists(named("user", user_body), max_size=2) | anything,
        "contexts": st.lists(named("context", context_body), max_size=2) | anything,
    },
)
files = st.one_of(
    kubeconfigs.map(lambda doc: yaml.safe_dump(doc).encode()),
    kubeconfigs.map(lambda doc: json.dumps(doc).encode()),
    st.binary(max_size=80),
    st.text(max_size=80).map(str.encode),
)


@pytest.mark.parametrize(
    ("args", "codes"),
    [
        (("identity",), {1, 3}),  # the port-forward path hands the file to the Kubernetes client
        (("--url", REFUSING, "list-workloads"), {3}),  # only the namespace is read
    ],
    ids=["port-forward", "url"],
)
@FUZZ
@given(content=files)
def test_any_kubeconfig_is_used_or_reported(
    fluxctl: Fluxctl, tmp_path: Path, args: tuple[str, ...], codes: set[int], content: bytes
) -> None:
    TOLD[f"kubeconfig ({args[0]})"] += 1
    path = tmp_path / "config"
    path.write_bytes(content)
    result = fluxctl("--timeout", "5s", *args, env={"KUBECONFIG": str(path)})
    assert_no_traceback(result, codes)


def test_zz_report_how_many_examples_each_input_got() -> None:
    for name, count in sorted(TOLD.items()):
        print(f"fuzzed {count:4d} examples: {name}")
