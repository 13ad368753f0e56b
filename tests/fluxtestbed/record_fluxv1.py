"""Writes Flux v1's own answers, gathered by the differential test, as the
wire fixtures of the unit tests (``tests/fixtures/fluxv1/``).

Run: ``FLUXPY_RECORD_FIXTURES=1 .venv/bin/python -m pytest
tests/conformance/test_differential.py``. A fixture is written only when
Flux v1 answered its case with the expected status; the files of the other
fixtures are left as they are (see the README there for which are recorded).
Bodies are written as Flux v1 sent them, except that lists of workloads are
sorted by ID (Flux v1 lists them in Go map order, which varies per call) and
the fresh namespace Flux v1 managed is renamed ``default`` (outside the
base64 of ``export.json``), the namespace the unit tests' IDs use.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fluxtestbed.apidiff import Answer
from fluxtestbed.differential import Pair

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fluxv1"

#: fixture file -> (case whose Flux v1 answer it holds, the status it must have)
FROM_CASES = {
    "version.json": ("GET /v11/version", 200),
    "git-repo-config.json": ("POST /v9/git-repo-config false", 200),
    "git-repo-config-new.json": ("before sync: POST /v9/git-repo-config false", 200),
    "git-repo-config-unconfigured.json": ("unconfigured: POST /v9/git-repo-config false", 200),
    "identity.pub.json": ("GET /v6/identity.pub", 200),
    "services.json": ("GET /v6/services?namespace={target}", 200),
    "images-no-data.json": ("GET /v10/images?namespace={target}", 200),
    "update-manifests.json": ("POST /v9/update-manifests sync", 200),
    "jobs-succeeded.json": ("GET /v6/jobs?id=<sync job>, finished", 200),
    "jobs-failed.json": ("before sync: GET /v6/jobs?id=<sync job>, finished", 200),
    "error-missing.json": ("GET /v6/jobs?id=no-such-job", 404),
    "sync-done.json": ("GET /v6/sync?ref={HEAD}", 200),
    "export.json": ("GET /v6/export", 200),
    "error-user.json": ("GET /v10/images?containerFields=Bogus", 422),
}

#: Fixtures that name a state hold only an answer in that state.
STATES = {
    "jobs-succeeded.json": "succeeded",
    "jobs-failed.json": "failed",
    "git-repo-config.json": "ready",
    "git-repo-config-new.json": "new",
    "git-repo-config-unconfigured.json": "unconfigured",
}

#: fixture file -> the job state Flux v1 must have reported while a sync job ran
FROM_JOB_STATES = {
    "jobs-queued.json": "queued",
    "jobs-running.json": "running",
}


def _sorted(body: Any) -> Any:
    if isinstance(body, list) and all(isinstance(i, dict) and "ID" in i for i in body):
        return sorted(body, key=lambda i: str(i["ID"]))
    return body


def _state(body: Any) -> Any:
    return body.get("StatusString", body.get("status")) if isinstance(body, dict) else None


def _write(directory: Path, name: str, answer: Answer, target: str) -> None:
    text = json.dumps(_sorted(answer.body), indent=2, ensure_ascii=False)
    text = text.replace(f'"{target}:', '"default:')
    (directory / name).write_text(text + "\n", encoding="utf-8")


def record(pair: Pair, directory: Path = FIXTURES) -> dict[str, str]:
    """Write what can be recorded; return fixture -> "recorded" or why it was not."""
    outcome: dict[str, str] = {}
    for name, (case, status) in FROM_CASES.items():
        theirs = pair.answers[case][1]
        if theirs.status != status or theirs.content_type != "application/json":
            outcome[name] = f"not recorded: Flux v1 answered {theirs.status} {theirs.content_type}"
            continue
        if name in STATES and _state(theirs.body) != STATES[name]:
            outcome[name] = f"not recorded: Flux v1 was {_state(theirs.body)!r}"
            continue
        _write(directory, name, theirs, pair.theirs.target)
        outcome[name] = "recorded"
    for name, state in FROM_JOB_STATES.items():
        answers = [a for key, a in pair.theirs_job_states.items() if key.endswith(state)]
        if not answers:
            outcome[name] = f"not recorded: no job was seen {state}"
            continue
        _write(directory, name, answers[0], pair.theirs.target)
        outcome[name] = "recorded"
    return outcome
