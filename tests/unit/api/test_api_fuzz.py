"""Every route and webhook answers generated input with a 4xx or a success: never >= 500,
never a traceback in the log, and never a malformed namespace or ID handed to the daemon.

Hypothesis generates query strings, headers and bodies (JSON shaped like what
each route reads, arbitrary JSON, and bytes that are not JSON at all). The
seed is fixed (``derandomize``) and the number of examples bounded, so a run
takes seconds and a failure reproduces.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from fluxd.api.app import create_app
from fluxd.settings import ApiSettings
from fluxids import is_dns_label, parse_workload_id
from unit.api.fakes import FakeDaemon
from unit.api.testclient import TestClient

EXAMPLES = 40
FUZZ = settings(
    derandomize=True,
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: Every field name any route or payload reads, so generated bodies hit the readers.
FIELDS = [
    "namespace", "services", "service", "containerFields", "id", "ref", "Kind", "Source",
    "URL", "Branch", "type", "cause", "spec", "repository", "clone_url", "ssh_url", "git_url",
    "html_url", "url", "branch", "project", "web_url", "git_ssh_url", "git_http_url",
    "homepage", "push", "changes", "new", "name", "links", "html", "clone", "href",
    "full_name", "displayId",
]  # fmt: skip
INTERESTING = [
    "", "main", "refs/heads/main", "x/../../../../../api/v1/secrets?", "default",
    "default:deployment/web", "default/web", "<cluster>:clusterrole/system:admin", "..",
    "http://[bad", "git@github.com:acme/fleet.git", "ssh://h:99999/x", "%2e%2e", "<all>",
    "Image,Name", "\x00", "a" * 300, "sync", "git", "image", "BRANCH", "branch",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.sampled_from(INTERESTING),
    st.text(max_size=40),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=5),
    ),
    max_leaves=20,
)
bodies = st.one_of(
    json_values.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=200),
    st.just(b"[" * 5000),  # deep nesting
)
queries = st.dictionaries(
    st.sampled_from(FIELDS) | st.text(max_size=10),
    st.sampled_from(INTERESTING) | st.text(max_size=60),
    max_size=4,
)
headers = st.dictionaries(
    st.sampled_from(
        [
            "X-GitHub-Event",
            "X-Gitlab-Event",
            "X-Event-Key",
            "X-Gitea-Event",
            "X-Hub-Signature-256",
            "X-Hub-Signature",
            "X-Gitea-Signature",
            "X-Gitlab-Token",
            "Content-Type",
            "Authorization",
        ]
    ),
    st.sampled_from(["push", "Push Hook", "repo:push", "repo:refs_changed", "ping", ""])
    | st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
    max_size=4,
)


class Captured(logging.Handler):
    """Every log record at WARNING and above, to look for tracebacks."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def log_capture() -> Iterator[Captured]:
    handler = Captured()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


def _app(daemon: FakeDaemon, secret: str = "") -> Any:
    return create_app(
        daemon, settings=ApiSettings(webhook_secret=secret), registry=CollectorRegistry()
    )


def _routes() -> list[tuple[str, str]]:
    """(method, path) of every operation in the OpenAPI schema, plus the hidden ones."""
    schema = _app(FakeDaemon()).openapi()
    found = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
    }
    # Served but kept out of the schema: HEAD on export, and the 410s of old versions.
    found |= {("HEAD", "/api/flux/v6/export"), ("GET", "/api/flux/v3/x/y")}
    return sorted(found)


ROUTES = _routes()
TOLD: Counter[str] = Counter()


@pytest.fixture(scope="module")
def signed_client() -> Iterator[TestClient]:
    with TestClient(_app(FakeDaemon(), "s3cret"), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def fuzz_daemon() -> FakeDaemon:
    return FakeDaemon()


@pytest.fixture(scope="module")
def fuzz_client(fuzz_daemon: FakeDaemon) -> Iterator[TestClient]:
    with TestClient(_app(fuzz_daemon), raise_server_exceptions=False) as client:
        yield client


def _forget_requests(daemon: FakeDaemon, log: Captured) -> None:
    # One shared daemon and log serve every example; each judges only its own request.
    daemon.listed.clear()
    daemon.images_asked.clear()
    log.records.clear()


def _check_daemon_inputs(daemon: FakeDaemon) -> None:
    """Whatever reached the daemon is a valid namespace or ID: the API let nothing else by."""
    for namespace, ids in daemon.listed:
        assert namespace == "" or is_dns_label(namespace), namespace
        for text in ids:
            assert str(parse_workload_id(text)) == text
    for spec, namespace in daemon.images_asked:
        assert namespace == "" or is_dns_label(namespace), namespace
        assert spec == "<all>" or str(parse_workload_id(spec)) == spec


def _no_tracebacks(log: Captured) -> None:
    bad = [r for r in log.records if r.exc_info or r.levelno >= logging.ERROR]
    assert bad == [], [r.getMessage() for r in bad]


def test_the_fuzzed_routes_are_every_route_the_app_serves() -> None:
    paths = {path for _, path in ROUTES}
    assert {"/api/flux/v6/services", "/api/flux/v10/images", "/hook/bitbucket"} <= paths
    assert len(ROUTES) >= 25


@pytest.mark.parametrize(("method", "path"), ROUTES)
@FUZZ
@given(query=queries, body=bodies, header=headers)
def test_no_input_makes_a_route_fail_with_5xx(
    fuzz_client, fuzz_daemon, log_capture, method, path, query, body, header
) -> None:
    TOLD[f"{method} {path}"] += 1
    _forget_requests(fuzz_daemon, log_capture)
    content = None if method in ("GET", "HEAD", "DELETE") else body
    response = fuzz_client.request(method, path, params=query, content=content, headers=header)

    assert response.status_code < 500, (response.status_code, response.text)
    _check_daemon_inputs(fuzz_daemon)
    _no_tracebacks(log_capture)


@FUZZ
@given(
    segments=st.lists(
        st.sampled_from(["..", ".", "%2e%2e", "%2F", "v6", "v11", "services", "hook", "github"])
        | st.text(max_size=12).map(lambda text: quote(text, safe="")),
        min_size=1,
        max_size=6,
    ),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
)
def test_no_path_makes_the_app_fail_with_5xx(
    fuzz_client, fuzz_daemon, log_capture, segments, method
) -> None:
    TOLD["random paths"] += 1
    _forget_requests(fuzz_daemon, log_capture)
    path = "/api/flux/" + "/".join(segments)
    response = fuzz_client.request(method, path)

    assert response.status_code < 500, (path, response.status_code, response.text)
    _check_daemon_inputs(fuzz_daemon)
    _no_tracebacks(log_capture)


@pytest.mark.parametrize("provider", ["github", "gitlab", "bitbucket", "gitea", "generic"])
@FUZZ
@given(
    payload=st.fixed_dictionaries(
        {},
        optional={name: json_values for name in FIELDS},
    ),
    header=headers,
)
def test_a_signed_delivery_of_any_shape_is_never_a_5xx(
    signed_client, log_capture, provider, payload, header
) -> None:
    # With a secret set the signature is checked first; signed, the body is read.
    TOLD[f"signed {provider}"] += 1
    log_capture.records.clear()
    body = json.dumps(payload).encode()
    signed = _signed_headers(provider, body, "s3cret")
    response = signed_client.post(f"/hook/{provider}", content=body, headers={**header, **signed})

    assert response.status_code < 500, (response.status_code, response.text)
    _no_tracebacks(log_capture)


def _signed_headers(provider: str, body: bytes, secret: str) -> dict[str, str]:
    import hashlib
    import hmac

    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "github": {"X-GitHub-Event": "push", "X-Hub-Signature-256": f"sha256={digest}"},
        "gitea": {"X-Gitea-Event": "push", "X-Gitea-Signature": digest},
        "gitlab": {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": secret},
        "bitbucket": {"X-Event-Key": "repo:push", "X-Hub-Signature": f"sha256={digest}"},
        "generic": {"Authorization": f"Bearer {secret}"},
    }[provider]


def test_zz_report_how_many_examples_each_route_got() -> None:
    # Runs last in this module (pytest keeps file order): the figures for the record.
    for name, count in sorted(TOLD.items()):
        print(f"fuzzed {count:4d} examples: {name}")
    if TOLD:
        assert min(TOLD.values()) >= 1
