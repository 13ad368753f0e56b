"""``fluxctl policy`` and its shortcuts: the request Flux v1 sent, its results table, its errors."""

from __future__ import annotations

from typing import Any

import pytest

from fluxctl.updates import image_tag, parse_results, result_rows
from unit.cli.fake_daemon import FakeDaemon, Reply, fixture
from unit.cli.harness import Fluxctl

JOB_ID = fixture("update-manifests.json")
WEB = "default:deployment/web"
REVISION = "0123456789abcdef0123456789abcdef01234567"


def succeeded(result: dict[str, Any], revision: str = REVISION) -> dict[str, Any]:
    body: dict[str, Any] = {"Result": {"result": result}, "Err": "", "StatusString": "succeeded"}
    if revision:
        body["Result"]["revision"] = revision
    return body


OK = succeeded({WEB: {"Status": "success", "PerContainer": None}})


def sent_spec(daemon: FakeDaemon) -> Any:
    (call,) = daemon.calls("POST /v9/update-manifests")
    return call.body


@pytest.mark.parametrize(
    ("args", "add", "remove"),
    [
        (("automate",), {"automated": "true"}, {}),
        (("deautomate",), {}, {"automated": "true"}),
        (("unlock",), {}, {"locked": "true", "locked_msg": "true", "locked_user": "true"}),
        (
            ("lock", "-m", "hold", "--user", "Ann <a@x>"),
            {"locked": "true", "locked_user": "Ann <a@x>", "locked_msg": "hold"},
            {},
        ),
        (("lock", "--user", ""), {"locked": "true"}, {}),
        (
            ("policy", "--tag-all", "1.*", "--tag", "a=semver:~1,b=regex:^v", "--tag", "c=*"),
            {"tag_all": "glob:1.*", "tag.a": "semver:~1", "tag.b": "regexp:^v"},
            {"tag.c": "true"},
        ),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else None,
)
def test_each_command_sends_flux_v1s_policy_update(
    at_daemon: Fluxctl, daemon: FakeDaemon, args: tuple[str, ...], add: Any, remove: Any
) -> None:
    daemon.script("GET /v6/jobs", OK)
    result = at_daemon(*args, "-w", WEB)

    assert result.exit_code == 0, result.output
    spec = sent_spec(daemon)
    assert spec["type"] == "policy"
    assert spec["spec"] == {WEB: {"add": add, "remove": remove}}
    # In Go's order (encoding/json sorts a map's keys): the daemon adds new
    # annotations in the order it reads them.
    sent = spec["spec"][WEB]
    assert (list(sent["add"]), list(sent["remove"])) == (sorted(add), sorted(remove))


def test_policy_prints_the_results_table_and_does_not_wait_for_the_sync(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    daemon.script("GET /v6/jobs", fixture("jobs-running.json"), OK)
    result = at_daemon("automate", "-n", "default", "-w", "deployment/web", "-m", "go")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"WORKLOAD                STATUS   UPDATES\n{WEB}  success  \n"
    assert result.stderr == f"Commit pushed:\t{REVISION[:7]}\n"
    assert daemon.calls("GET /v6/sync") == []
    assert sent_spec(daemon)["cause"]["Message"] == "go"
    assert [c.query for c in daemon.calls("GET /v6/jobs")][-1] == {"id": JOB_ID}


def test_a_job_without_results_says_nothing_to_do(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    daemon.script("GET /v6/jobs", succeeded({}, revision=""))
    result = at_daemon("lock", "-w", WEB)

    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "Nothing to do\n")


def test_a_failed_job_prints_its_error_and_exits_1(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    daemon.script(
        "GET /v6/jobs", {"Result": {}, "Err": "git push refused", "StatusString": "failed"}
    )
    result = at_daemon("unlock", "-w", WEB)

    assert result.exit_code == 1
    assert result.stderr == "Error: git push refused\n"


def test_a_daemon_error_prints_its_help(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    body = {"type": "user", "help": "fluxd is read-only", "error": "fluxd is read-only"}
    daemon.script("POST /v9/update-manifests", Reply(body, status=422))
    result = at_daemon("automate", "-w", WEB)

    assert result.exit_code == 1
    assert result.stderr == "== Error ==\n\nfluxd is read-only\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("policy",), "-w, --workload is required"),
        (("automate",), "-w, --workload is required"),
        (("policy", "-w", WEB, "--lock", "--unlock"), "lock and unlock both specified"),
        (("policy", "-w", WEB, "--automate", "--deautomate"), "automate and deautomate both"),
        (("policy", "-w", WEB, "--tag", "bad"), "invalid container/tag pair: 'bad'"),
        (("lock", "-w", "not an id"), "parsing not an id: invalid service ID"),
        (("lock", "-w", WEB, "-c", WEB), "can't specify both the controller and workload"),
        (("policy", "extra"), "Got unexpected extra argument (extra)"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else None,
)
def test_bad_flags_are_usage_errors_before_any_request(
    at_daemon: Fluxctl, daemon: FakeDaemon, args: tuple[str, ...], message: str
) -> None:
    result = at_daemon(*args)

    assert result.exit_code == 2
    assert message in result.stderr
    assert daemon.requests == []


RESULTS = {
    "ns:deployment/b": {
        "Status": "success",
        "PerContainer": [
            {"Container": "web", "Current": "nginx:1.17.7", "Target": "nginx:1.16.1"},
            {"Container": "side", "Current": "reg.io:5000/side:1", "Target": "reg.io:5000/side:2"},
        ],
    },
    "ns:deployment/a": {"Status": "skipped", "Error": "locked"},
    "ns:deployment/c": {"Status": "ignored", "Error": "does not use image(s)"},
    "ns:deployment/d": {"Status": "failed", "Error": "boom"},
}


@pytest.mark.parametrize(
    ("verbosity", "shown"),
    [(0, ["b", "b", "d"]), (1, ["a", "b", "b", "d"]), (2, ["a", "b", "b", "c", "d"])],
)
def test_the_table_shows_skipped_with_v_and_ignored_with_vv(
    verbosity: int, shown: list[str]
) -> None:
    rows = result_rows(parse_results(RESULTS), verbosity)
    assert rows[0] == ["WORKLOAD ", "STATUS ", "UPDATES"]
    names: list[str] = []
    for row in rows[1:]:
        names.append(row[0][-1] if row[0] else names[-1])
    assert names == shown


def test_a_workload_with_several_updates_names_itself_once() -> None:
    rows = result_rows(parse_results(RESULTS), 0)
    assert rows[1:3] == [
        ["ns:deployment/b", "success", "web: nginx:1.17.7 -> 1.16.1"],
        ["", "", "side: reg.io:5000/side:1 -> 2"],
    ]


@pytest.mark.parametrize(
    ("ref", "tag"),
    [("nginx:1.16", "1.16"), ("localhost:5000/a/b:v2", "v2"), ("a/b@sha256:ff", ""), ("a", "")],
)
def test_image_tag(ref: str, tag: str) -> None:
    assert image_tag(ref) == tag
