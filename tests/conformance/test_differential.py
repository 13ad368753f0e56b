"""Our fluxd answers its HTTP API as Flux v1's own fluxd (1.25.4) does.

Both daemons run on the test bed, each with its own namespace and a repo of
the same manifests, and get the same requests (``fluxtestbed.differential``).
Their answers are compared field by field: status code, content type, keys,
JSON types (``null`` is not ``[]``) and values. Only what must differ between
two installations is normalised (``fluxtestbed.apidiff.normalise``: namespace
names, repo URL, revisions, job IDs, key material; the wording of error
texts and the version number). Every difference left is either fixed or
listed in ``KNOWN_DIFFERENCES`` with its reason, and in
docs/references/api.md; a listed difference that no longer occurs fails too,
so the table stays true.

``FLUXPY_RECORD_FIXTURES=1`` also writes Flux v1's answers as the unit
tests' fixtures (``fluxtestbed.record_fluxv1``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fluxtestbed.apidiff import Answer, Side, base64_yaml, compare_answers, normalise
from fluxtestbed.differential import Pair, collect
from fluxtestbed.differential_cases import COMPARED
from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster
from fluxtestbed.record_fluxv1 import record

pytestmark = [pytest.mark.cluster, pytest.mark.gitserver, pytest.mark.slow]

API_REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "references" / "api.md"
DOC_HEADING = "## Differences from Flux v1's fluxd"


@dataclass(frozen=True)
class Known:
    """A difference we keep: the cases (glob) and difference lines (glob) it covers."""

    topic: str  #: the row's first cell in the docs table
    case: str
    difference: str
    reason: str


# Case and difference patterns: "*" is any text, "|" separates alternatives.
FULL_LISTINGS = (
    "GET /v6/services|GET /v6/services?namespace={target}|GET /v11/services"
    "|GET /v11/services?namespace={target}|GET /v6/images|GET /v10/images"
    "|GET /v10/images?namespace={target}|unconfigured: GET /v6/services?namespace={target}"
)
IMAGES = "GET /v6/images*|GET /v10/images|GET /v10/images?namespace=*|GET /v10/images?service=*:*"
MALFORMED = (
    "*=not-an-id|POST /v11/notify unknown kind|POST /v11/notify malformed JSON"
    "|POST /v9/update-manifests malformed JSON|POST /v9/update-manifests unknown type"
)
CRONJOBS = "Workloads of kind CronJob"
CURRENT_IMAGE = "Images when registry scanning is off"
MALFORMED_ERRORS = "Errors of malformed requests"
MISSING_QUERY = "A missing `ref` or `id` query parameter"
PLAIN_ERRORS = "Errors without `Accept: application/json`"

KNOWN_DIFFERENCES: list[Known] = [
    Known(
        CRONJOBS,
        FULL_LISTINGS,
        "$[ID=<target>:cronjob/report]: only ours",
        "Flux v1 1.25.4 reads CronJobs through batch/v1beta1, which Kubernetes 1.25 removed, "
        "so on today's clusters it lists none; fluxd reads batch/v1.",
    ),
    Known(
        CRONJOBS,
        "GET /v6/export",
        "$.CronJob report: only ours (*)",
        "As in the listings: Flux v1 1.25.4 cannot read CronJobs on Kubernetes >= 1.25.",
    ),
    *(
        Known(
            "Export",
            "GET /v6/export",
            line,
            "Flux v1 exports each allowed Namespace and each workload as the API server "
            "holds it (status and server-written fields included); fluxd exports the same "
            "objects without status, a Namespace's spec or server-written metadata, so each "
            "applies again.",
        )
        for line in (
            "$.Namespace <target>: ours 3 items, theirs 5 items",
            "$.*: ours 4 items, theirs 5 items",
        )
    ),
    Known(
        "The install's ownership label",
        "GET /v6/services|GET /v6/services?namespace={target}|GET /v11/services"
        "|GET /v11/services?namespace={target}|unconfigured: GET /v6/services?namespace={target}"
        "|GET /v11/services?services={target}:deployment/nginx-deployment,{target}:daemonset/agent",
        "$[ID=*].Labels.fluxd.io/instance: only ours (*)",
        "fluxd labels what it applies with its install (fluxd.io/instance), so that installs "
        "in one cluster never list, change or delete each other's objects; Flux v1 had none.",
    ),
    Known(
        CURRENT_IMAGE,
        IMAGES,
        "$[ID=*].Containers[*].Current.ID: ours '*', theirs ''",
        "Flux v1 takes Current from its registry scan, so with --registry-disable-scanning "
        "every Current.ID is empty; fluxd sends the image the workload runs.",
    ),
    *(
        Known(
            MALFORMED_ERRORS,
            MALFORMED,
            f"$.{field}: only ours (*)",
            "Flux v1 answers 400 with Go's decoding error value as JSON, which is {} or "
            "decoder internals; fluxd sends its usual {type, help, error} body, naming the input.",
        )
        for field in ("type", "help", "error")
    ),
    Known(
        "The repo URL when none is configured",
        "unconfigured: POST /v9/git-repo-config false",
        "$.remote.url: ours '', theirs 'file:'",
        "Flux v1 passes the empty URL through its URL sanitiser, which turns it into 'file:'; "
        "fluxd sends the empty string it was given.",
    ),
    Known(
        "A `git-repo-config` body that is not a boolean",
        "POST /v9/git-repo-config not a boolean",
        "$: ours {*}, theirs '<not JSON> *",
        "Flux v1 writes its 400 error and then carries on, appending the repo config to the "
        "same body (two JSON documents); fluxd stops at the error.",
    ),
    *(
        Known(
            MISSING_QUERY,
            "GET /v6/sync|GET /v6/jobs",
            line,
            "Flux v1's router matches these routes only with the parameter, so it answers "
            "404 'API endpoint not found'; fluxd answers 400 naming the missing parameter.",
        )
        for line in ("status: ours 400, theirs 404", "$.type: ours 'user', theirs 'missing'")
    ),
    *(
        Known(
            "A method a route does not serve",
            "PUT /v11/ping|GET /v9/git-repo-config",
            line,
            "Flux v1's catch-all route answers any unmatched method 404; fluxd answers 405 with "
            "an Allow header. Flux v1's fluxctl never sends a wrong method.",
        )
        for line in ("status: ours 405, theirs 404", "$.type: ours 'user', theirs 'missing'")
    ),
    *(
        Known(
            PLAIN_ERRORS,
            "*, no Accept header",
            line,
            "Flux v1 sends JSON errors only to clients that ask for JSON (its fluxctl does) and "
            "the bare error text to others; fluxd always sends the JSON body, help included.",
        )
        for line in ("content type: ours 'application/json', theirs 'text/plain'", "$: ours {*")
    ),
]


@pytest.fixture(scope="module")
def pair(kube: Cluster, git_server: GitServer) -> Iterator[Pair]:
    both = collect(kube, git_server)
    try:
        if os.environ.get("FLUXPY_RECORD_FIXTURES") == "1":
            for name, outcome in sorted(record(both).items()):
                print(f"fixture {name}: {outcome}")
        print(f"both daemons installed and asked {len(COMPARED)} requests in {both.seconds:.0f}s")
        if report := os.environ.get("FLUXPY_DIFF_REPORT"):
            _write_report(both, Path(report))
        yield both
    finally:
        both.stop(kube)


# Fields of free text: each program words its errors its own way (and Flux v1
# quotes git's output); whether there is a text, and its JSON type, count.
TEXT_FIELDS = ("help", "error", "errors", "Err", "SyncError")


def _normalised(answer: Answer, side: Side, case: str) -> Any:
    body = normalise(answer.body, side)
    if case == "GET /v11/version" and isinstance(body, str):
        return "<version string>"
    if case == "GET /v6/export":
        return base64_yaml(body, side)
    return _texts(body)


def _texts(value: Any) -> Any:
    if isinstance(value, list):
        return [_texts(v) for v in value]
    if not isinstance(value, dict):
        return value
    return {
        k: "<text>" if k in TEXT_FIELDS and isinstance(v, str) and v else _texts(v)
        for k, v in value.items()
    }


def _differences(pair: Pair, case: str) -> list[str]:
    ours, theirs = pair.answers[case]
    return compare_answers(
        Answer(ours.status, ours.content_type, _normalised(ours, pair.ours, case)),
        Answer(theirs.status, theirs.content_type, _normalised(theirs, pair.theirs, case)),
    )


def _write_report(pair: Pair, path: Path) -> None:
    """Every case with both raw answers and the differences found, for reading."""
    report = {
        case: {
            "differences": _differences(pair, case),
            "ours": dataclasses.asdict(pair.answers[case][0]),
            "theirs": dataclasses.asdict(pair.answers[case][1]),
        }
        for case in COMPARED
    }
    path.write_text(json.dumps(report, indent=2))


def _matches(text: str, patterns: str) -> bool:
    return any(
        re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), text, re.DOTALL)
        for pattern in patterns.split("|")
    )


@pytest.mark.parametrize("case", COMPARED)
def test_answer_is_flux_v1s_field_by_field(pair: Pair, case: str) -> None:
    found = _differences(pair, case)
    known = [k for k in KNOWN_DIFFERENCES if _matches(case, k.case)]
    unexplained = [d for d in found if not any(_matches(d, k.difference) for k in known)]
    stale = [k.topic for k in known if not any(_matches(d, k.difference) for d in found)]
    ours, theirs = pair.answers[case]
    context = f"ours: {ours}\ntheirs: {theirs}"
    assert unexplained == [], f"differences from Flux v1 not fixed nor listed:\n{context}"
    assert stale == [], f"listed differences that no longer occur:\n{context}"


def test_every_kept_difference_is_documented() -> None:
    text = API_REFERENCE.read_text()
    assert DOC_HEADING in text
    section = text.split(DOC_HEADING, 1)[1].split("\n## ", 1)[0]
    missing = sorted({k.topic for k in KNOWN_DIFFERENCES if f"| {k.topic} |" not in section})
    assert missing == [], f"add these rows to '{DOC_HEADING}' in {API_REFERENCE.name}"
