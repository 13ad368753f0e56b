"""``fluxctl status`` and ``fluxctl open``: fluxd's status, in the terminal or the browser.

Both read what the status page at fluxd's ``/`` shows: ``status`` prints it
from ``GET /v11/status``; ``open`` keeps the port-forward open and points a
browser at the page.
"""

from __future__ import annotations

import threading
import webbrowser
from typing import TYPE_CHECKING

import click

from fluxctl.output import tabulate, to_json
from fluxctl.session import Session, pass_session

if TYPE_CHECKING:
    from fluxctl.wire import PassReport, StatusReport


@click.command()
@click.option(
    "-o", "--output", type=click.Choice(("text", "json")), default="text", help="Text, or JSON."
)
@pass_session
def status(session: Session, output: str) -> None:
    """Print fluxd's status: git, the last sync passes, garbage collection, workloads."""
    report = session.client().status()
    if output == "json":
        click.echo(to_json(report.dump()), nl=False)
        return
    click.echo(render(report), nl=False)


def render(report: StatusReport) -> str:
    """The status page's summary as text."""
    paths = ", ".join(report.paths) or "(whole repository)"
    lines = [
        f"Repository:   {report.url or '(none)'}",
        f"Branch:       {report.branch}   paths: {paths}",
        f"Git:          {report.gitStatus}",
    ]
    if report.gitError:
        lines.append(f"  error:      {report.gitError}")
    if report.gitHelp:
        lines.append(f"  what to do: {report.gitHelp}")
    last = report.lastSync
    if last is None:
        lines.append("Last synced:  (no sync pass yet)")
    else:
        lines.append(f"Last synced:  {last.revision[:7]} by {last.author or 'unknown'}")
        lines.append(f"              committed {last.time or 'unknown'}: {last.subject}")
    lines.append(f"Garbage collection: {report.garbageCollection}")
    text = "\n".join(lines) + "\n"
    text += _passes(report.passes)
    return text + _workloads(report)


def _passes(passes: list[PassReport]) -> str:
    if not passes:
        return "\nNo sync pass has run yet.\n"
    rows = [["REVISION", "FINISHED", "APPLIED", "UNCHANGED", "DRIFTED", "DELETED", "FAILED"]]
    for p in passes:
        counts = [p.applied, p.unchanged, p.drifted, len(p.deleted), len(p.failures)]
        rows.append([p.revision[:7], p.finished, *(str(c) for c in counts)])
    text = "\nRecent sync passes (newest first):\n" + tabulate(rows)
    last = passes[0]
    if last.failures:
        failures = [["FILE", "LINE", "RESOURCE", "ERROR"]]
        failures += [
            [f.file or "-", str(f.line or "-"), f.id or "-", " ".join(f.error.split())]
            for f in last.failures
        ]
        text += f"\nFailures of {last.revision[:7]}:\n" + tabulate(failures)
    if last.gcHeld is not None:
        held = last.gcHeld
        text += f"\nDeletion guard: holding {len(held.deletions)}: {held.reason}\n{held.help}\n"
    else:
        text += "\nDeletion guard: nothing held back\n"
    return text


def _workloads(report: StatusReport) -> str:
    if report.workloadsError:
        return f"\nWorkloads: could not be listed: {report.workloadsError}\n"
    rows = [["WORKLOAD", "STATUS", "READY", "IMAGES"]]
    for w in report.workloads:
        ready = f"{w.Rollout.Ready}/{w.Rollout.Desired}" if w.Rollout else "-"
        images = ",".join(c.Current.ID if c.Current else c.Name for c in w.Containers or ())
        rows.append([w.ID, w.Status or "-", ready, images])
    return "\nWorkloads:\n" + tabulate(rows)


@click.command("open")
@click.option("--no-browser", is_flag=True, help="Only print the URL (and keep the forward open).")
@pass_session
def open_page(session: Session, no_browser: bool) -> None:
    """Open fluxd's status page in a browser, through a port-forward.

    Prints the page's URL. Without --url the port-forward stays open until
    Ctrl-C, since the page reloads itself through it.
    """
    client = session.client()
    client.version()  # fails here, with the usual hints, if fluxd cannot be reached
    url = client.page_url
    click.echo(url)
    if session.token:
        click.echo("The page asks for the API token (--token) once.", err=True)
    if not no_browser and not webbrowser.open(url):
        click.echo("No browser found: open the URL above yourself.", err=True)
    if session.url:
        return
    click.echo("Forwarding to fluxd; press Ctrl-C to stop.", err=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        click.echo("", err=True)
