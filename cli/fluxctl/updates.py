"""What the commands that change manifests share: who asks, which workload, the job's outcome.

``release``, ``policy`` and its shortcuts (``automate``, ``lock``, ...) send
fluxd an update (``POST /v9/update-manifests``), follow the job it becomes
(``GET /v6/jobs?id=``), print its per-workload results as Flux v1's
``WORKLOAD STATUS UPDATES`` table, and, for a release, wait until the commit
is applied (``GET /v6/sync?ref=``). The lines and their streams are Flux
v1's: the table on stdout, progress on stderr.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from fluxctl.errors import CliError, WaitTimeout
from fluxctl.output import tabulate
from fluxctl.params import format_duration
from fluxctl.waiting import Deadline, backoff

if TYPE_CHECKING:
    from fluxctl.client import FluxClient
    from fluxctl.wire import JobResult

F = TypeVar("F", bound=Callable[..., Any])

FIRST_POLL = 0.05
POLL_CAP = 2.0
HEADING = ["WORKLOAD ", "STATUS ", "UPDATES"]
_ID = re.compile(r"^(<cluster>|[a-zA-Z0-9_-]+):([a-zA-Z0-9_-]+)/([a-zA-Z0-9_.:-]+)$")
_UNQUALIFIED_ID = re.compile(r"^([a-zA-Z0-9_-]+)/([a-zA-Z0-9_.:-]+)$")

JOB_TIMEOUT_TEXT = """
We timed out waiting for the result of the operation. This does not
necessarily mean it has failed. You can check the state of the
cluster, or commit logs, to see if there was a result. In general, it
is safe to retry operations."""

APPLY_TIMEOUT_TEXT = """
The operation succeeded, but we timed out waiting for the commit to be
applied. This does not necessarily mean there is a problem. Use

    fluxctl sync

to run a sync interactively."""


def progress(line: str) -> None:
    click.echo(line, err=True)


# --- flags ---------------------------------------------------------------------


def cause_options(command: F) -> F:
    """``-m/--message`` and ``--user``: what the commit message says about the change."""
    command = click.option(
        "--user",
        default=None,
        help="Who asks for the change, for the commit message "
        "(default: git config user.name <user.email>).",
    )(command)
    return click.option("-m", "--message", default="", help="A message to attach to the change.")(
        command
    )


def verbosity_option(command: F) -> F:
    return click.option(
        "-v",
        "--verbose",
        "verbosity",
        count=True,
        help="Include skipped workloads in the results (-vv: ignored ones too).",
    )(command)


def git_author() -> str:
    """``Name <email>`` from the user's git config, as Flux v1 took it; "" without git."""
    name, email = _git_config("user.name"), _git_config("user.email")
    if name and email:
        return f"{name} <{email}>"
    return email or name


def _git_config(key: str) -> str:
    # Imported here: only a command that sends a change runs git, and
    # start-up (--help, shell completion) should not pay for subprocess.
    import subprocess

    try:
        out = subprocess.run(
            ["git", "config", "--get", "--null", key],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip("\x00") if out.returncode == 0 else ""


def cause(message: str, user: str | None) -> dict[str, str]:
    return {"Message": message, "User": git_author() if user is None else user}


def parse_workload(text: str, namespace: str, option: str) -> str:
    """``ns:kind/name``; ``kind/name`` takes ``namespace``. A usage error names ``option``."""
    text = text.strip()
    match = _ID.match(text)
    if match is not None:
        ns, kind, name = match.groups()
        return f"{ns}:{kind.lower()}/{name}"
    match = _UNQUALIFIED_ID.match(text)
    if match is not None:
        kind, name = match.groups()
        return f"{namespace}:{kind.lower()}/{name}"
    raise click.BadParameter(
        f"parsing {text}: invalid service ID; give a workload as "
        "[<namespace>:]<kind>/<name>, e.g. default:deployment/nginx",
        param_hint=option,
    )


def split_list(values: tuple[str, ...]) -> list[str]:
    """A repeatable option whose values may also be comma-separated, as Flux v1's lists were."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


# --- results ---------------------------------------------------------------------


@dataclass(frozen=True)
class ContainerUpdate:
    container: str
    current: str
    target: str


@dataclass(frozen=True)
class WorkloadResult:
    status: str
    error: str
    updates: tuple[ContainerUpdate, ...]


def parse_results(raw: dict[str, Any] | None) -> dict[str, WorkloadResult]:
    """The job's ``result`` map, read leniently: a field of the wrong type counts as empty."""
    results: dict[str, WorkloadResult] = {}
    for workload_id, entry in (raw or {}).items():
        entry = entry if isinstance(entry, dict) else {}
        updates = tuple(
            ContainerUpdate(str(u.get("Container", "")), str(u.get("Current", "")),
                            str(u.get("Target", "")))
            for u in entry.get("PerContainer") or []
            if isinstance(u, dict)
        )  # fmt: skip
        results[workload_id] = WorkloadResult(
            str(entry.get("Status", "")), str(entry.get("Error", "") or ""), updates
        )
    return results


def image_tag(ref: str) -> str:
    """The tag of an image reference (``nginx:1.16`` -> ``1.16``); "" if it has none."""
    last = ref.rsplit("/", 1)[-1].split("@", 1)[0]
    return last.split(":", 1)[1] if ":" in last else ""


def result_rows(results: dict[str, WorkloadResult], verbosity: int) -> list[list[str]]:
    """Flux v1's table: skipped workloads only with -v, ignored ones only with -vv."""
    rows = [HEADING]
    for workload_id in sorted(results):
        result = results[workload_id]
        if (result.status == "ignored" and verbosity < 2) or (
            result.status == "skipped" and verbosity < 1
        ):
            continue
        cells = [f"{u.container}: {u.current} -> {image_tag(u.target)}" for u in result.updates]
        if result.error:
            cells.insert(0, result.error)
        for index, text in enumerate(cells or [""]):
            first = index == 0
            rows.append([workload_id if first else "", result.status if first else "", text])
    return rows


def print_results(results: dict[str, WorkloadResult], verbosity: int) -> None:
    click.echo(tabulate(result_rows(results, verbosity)), nl=False)


# --- waiting ---------------------------------------------------------------------


def await_job(client: FluxClient, job_id: str, deadline: Deadline) -> JobResult:
    """The result of job ``job_id`` once it succeeded; its error if it failed."""
    for delay in backoff(FIRST_POLL, POLL_CAP):
        status = client.job_status(job_id)
        if status.StatusString == "failed" or (status.StatusString == "succeeded" and status.Err):
            raise CliError(status.Err or f'job "{job_id}" failed without an error message')
        if status.StatusString == "succeeded":
            return status.Result
        if not deadline.sleep(delay):
            break
    progress(JOB_TIMEOUT_TEXT)
    raise WaitTimeout(
        f'timed out after {format_duration(deadline.seconds)} waiting for job "{job_id}"'
    )


def await_applied(client: FluxClient, revision: str, deadline: Deadline) -> bool:
    """True once fluxd has applied ``revision``; False if the deadline passed first."""
    for delay in backoff(FIRST_POLL, POLL_CAP):
        if not client.sync_status(revision):
            return True
        if not deadline.sleep(delay):
            return False
    return False  # pragma: no cover (backoff never ends)


def await_update(
    client: FluxClient, job_id: str, *, apply: bool, verbosity: int, deadline: Deadline
) -> JobResult:
    """Flux v1's ``await``: the job's results table, the commit, and (``apply``) its sync."""
    result = await_job(client, job_id, deadline)
    results = parse_results(result.result)
    if results:
        print_results(results, verbosity)
    if result.revision:
        progress(f"Commit pushed:\t{result.revision[:7]}")
    if not results:
        progress("Nothing to do")
        return result
    if apply and result.revision:
        if not await_applied(client, result.revision, deadline):
            # The commit is in git; only the wait for its sync ran out, so not a failure.
            progress(APPLY_TIMEOUT_TEXT)
            return result
        progress(f"Commit applied:\t{result.revision[:7]}")
    return result
