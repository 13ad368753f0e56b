"""``fluxctl sync``: make fluxd fetch git now and wait until HEAD is applied.

The flow and its stderr lines are Flux v1's, so scripts and habits keep
working. Two things differ on purpose: polling starts at 50 ms and its
interval is capped at 2 s (one cheap request; Flux v1's 1-10 s made a no-op
sync take a second or more and could print ``Done.`` 10 s late), the sync
job, which usually ends within a second, is polled every 50 ms for that
second, and after the
revision is applied fluxctl asks which resources failed, so ``Done.`` means
everything applied (Flux v1 issue #3304). It also says when fluxd's deletion
guard held garbage collection back (and how to approve it), and warns when
the revision rewrote the branch's history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from fluxctl.errors import CliError, DeletionsHeld, SyncFailed, WaitTimeout
from fluxctl.output import tabulate
from fluxctl.params import format_duration
from fluxctl.repostatus import HintContext, check_ready
from fluxctl.session import Session, pass_session
from fluxctl.waiting import Deadline, backoff

if TYPE_CHECKING:
    from fluxctl.client import FluxClient
    from fluxctl.wire import JobStatus, SyncErrors, UpdateSpec

FIRST_POLL = 0.05
POLL_CAP = 2.0
#: The job's git fetch usually ends within this: polled at FIRST_POLL until
#: then, a finished job is seen within 50 ms instead of up to a doubling step.
JOB_STEADY_POLL = 1.0
_GPG_UNVERIFIED = ("branch HEAD in the git repo is not verified", "last verified commit was")


def progress(line: str) -> None:
    click.echo(line, err=True)


@click.command()
@pass_session
def sync(session: Session) -> None:
    """Synchronize the cluster with the git repository, now.

    Prints progress to stderr and returns once the branch HEAD is applied.
    Exits 1 if any resource of that revision failed to apply (each is
    listed), if fluxd held back deletions that would empty the cluster (the
    reason and how to approve them are printed), or if --timeout passes first.
    """
    client = session.client()
    deadline = Deadline(session.timeout)
    config = client.git_repo_config(regenerate=False)
    check_ready(config, _hint_context(session, config.remote.url))
    progress(f"Synchronizing with {config.remote.url}")
    job_id = client.update_manifests(sync_spec())
    revision = await_job(client, job_id, deadline)
    short = revision[:7]
    progress(f"Revision of {config.remote.branch} to apply is {short}")
    progress(f"Waiting for {short} to be applied ...")
    await_applied(client, revision, deadline)
    report(await_settled(client, revision, deadline), short)
    progress("Done.")


def sync_spec() -> UpdateSpec:
    """The body Flux v1 sent: ``{"type":"sync","cause":{"Message":"","User":""},"spec":{}}``."""
    from fluxctl.wire import Cause, UpdateSpec  # the client has loaded them already

    return UpdateSpec(type="sync", cause=Cause(), spec={})


def _hint_context(session: Session, url: str) -> HintContext:
    return HintContext(
        url=url,
        identity_command=session.command_hint("identity"),
        logs_command=session.logs_hint(),
    )


def await_job(client: FluxClient, job_id: str, deadline: Deadline) -> str:
    """The revision the sync job fetched, once it has finished."""
    last = "unknown"
    for delay in backoff(FIRST_POLL, POLL_CAP, steady=JOB_STEADY_POLL):
        status = client.job_status(job_id)
        last = status.StatusString
        if last == "succeeded":
            return _job_revision(status, job_id)
        if last == "failed":
            return _failed_job(status, job_id)
        if not deadline.sleep(delay):
            break
    raise WaitTimeout(
        f"timed out after {format_duration(deadline.seconds)} waiting for the sync job "
        f'(ID "{job_id}") to finish; its last status was {last}',
        hint="fluxd may still finish it. Run fluxctl sync again, or raise --timeout.",
    )


def _job_revision(status: JobStatus, job_id: str) -> str:
    if not status.Result.revision:
        raise CliError(f'the sync job (ID "{job_id}") finished without a revision')
    return status.Result.revision


def _failed_job(status: JobStatus, job_id: str) -> str:
    # With GPG verification, fluxd fails the job but still applies up to the
    # last verified commit; Flux v1 warned and carried on in that case.
    if all(part in status.Err for part in _GPG_UNVERIFIED) and status.Result.revision:
        progress(f"Warning: {status.Err}")
        return status.Result.revision
    progress(f'Failed to complete sync job (ID "{job_id}")')
    raise CliError(status.Err or "the sync job failed without an error message")


def await_applied(client: FluxClient, revision: str, deadline: Deadline) -> None:
    """Return once fluxd reports no commit up to ``revision`` left to apply."""
    pending: list[str] = []
    for delay in backoff(FIRST_POLL, POLL_CAP):
        pending = client.sync_status(revision)
        if not pending:
            return
        if not deadline.sleep(delay):
            break
    raise WaitTimeout(
        f"timed out after {format_duration(deadline.seconds)} waiting for {revision[:7]} "
        f"to be applied; {len(pending)} commit(s) not applied yet",
        hint=(
            "fluxd may still apply it (a slow apply or a failing manifest). "
            "Run fluxctl sync again to check, or look at the fluxd logs."
        ),
    )


def await_settled(client: FluxClient, revision: str, deadline: Deadline) -> SyncErrors | None:
    """The last pass's report once fluxd no longer retries it (None from an old daemon)."""
    told = False
    for delay in backoff(FIRST_POLL, POLL_CAP):
        result = client.sync_errors(revision)
        if result is None or not result.retrying:
            return result
        if not told:
            progress(
                f"fluxd is retrying {revision[:7]}: the API server or git was briefly "
                "unavailable ..."
            )
            told = True
        if not deadline.sleep(delay):
            break
    raise WaitTimeout(
        f"timed out after {format_duration(deadline.seconds)}: fluxd is still retrying "
        f"{revision[:7]}",
        hint="fluxd keeps retrying on its own; look at the fluxd logs for the cause.",
    )


def report(result: SyncErrors | None, short: str) -> None:
    """Warn of a rewritten history, list failures and held deletions, then fail.

    None means an old daemon without the extension: nothing to report.
    """
    if result is None:
        return
    if result.historyRewrittenFrom:
        progress(
            f"Warning: {short} does not descend from {result.historyRewrittenFrom[:7]}, the "
            "revision applied before it: the branch history was rewritten (force-push or "
            "reset). It was synced."
        )
    if result.errors:
        _list_failures(result, short)
    if result.gcHeld is not None:
        held = result.gcHeld
        progress(
            f"Revision {short} was applied, but garbage collection was held back: {held.reason}."
        )
        progress(held.help)
        raise DeletionsHeld(f"{len(held.deletions)} deletion(s) of {short} wait for approval")
    if result.errors:
        raise SyncFailed(f"{len(result.errors)} resource(s) of {short} failed to apply")


def _list_failures(result: SyncErrors, short: str) -> None:
    rows = [["RESOURCE", "FILE", "ERROR"]]
    for error in sorted(result.errors, key=lambda e: e.ID):
        rows.append([error.ID, error.Path or "-", _one_line(error.Error)])
    progress(f"Revision {short} was applied, but {len(result.errors)} resource(s) failed:")
    click.echo(tabulate(rows), err=True, nl=False)


def _one_line(text: str) -> str:
    return " ".join(text.split())
