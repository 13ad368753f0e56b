"""``fluxctl diff``: what a sync would change, as unified diffs, without changing it.

fluxd does the work (server-side dry runs with its own field manager), so
the diff is what a sync would do, defaults and admission included. With
``--from-dir`` the manifest files of a local directory are sent in the
request: fluxd runs in the cluster and cannot read the user's disk.

Exit status as ``diff`` and ``kubectl diff``: 0 no changes, 1 changes,
2 an error (some objects could not be diffed, or fluxd could not be asked).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from fluxctl.errors import EXIT_FAILURE, CliError
from fluxctl.output import to_json
from fluxctl.session import Session, pass_session

if TYPE_CHECKING:
    from fluxctl.wire import DiffResult, ObjectDiff

EXIT_CHANGES = 1
EXIT_ERRORS = 2
SUFFIXES = (".yaml", ".yml", ".json")
#: Read no more than this from a directory; fluxd's own cap is usually lower.
MAX_DIR_BYTES = 256 * 1024 * 1024

_GROUPS = (
    ("create", "To create:"),
    ("change", "To change:"),
    ("delete", "To delete (garbage collection):"),
)


@click.command()
@click.option("--ref", default="", help="A commit of the branch to diff (default: its HEAD).")
@click.option(
    "--from-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Diff the manifests in this local directory (a checkout) instead of git.",
)
@click.option(
    "-o", "--output", type=click.Choice(("text", "json")), default="text", help="Text, or JSON."
)
@pass_session
def diff(session: Session, ref: str, from_dir: Path | None, output: str) -> None:
    """Show what a sync would change in the cluster, object by object.

    Diffs cover the fields fluxd manages; Secrets' values are masked. Exits 0
    when nothing would change, 1 when something would, 2 on errors.
    """
    from fluxctl.wire import DiffRequest

    try:
        files = read_manifests(from_dir) if from_dir is not None else None
        result = session.client().diff(DiffRequest(ref=ref, files=files))
    except CliError as exc:
        if exc.exit_code != EXIT_FAILURE:
            raise
        exc.show()  # and exit 2, since 1 means "changes" here
        click.get_current_context().exit(EXIT_ERRORS)
    if output == "json":
        click.echo(to_json(result.dump()), nl=False)
    else:
        show(result)
    click.get_current_context().exit(exit_code(result))


def exit_code(result: DiffResult) -> int:
    if result.failed:
        return EXIT_ERRORS
    return EXIT_CHANGES if result.create + result.change + result.delete else 0


def read_manifests(root: Path) -> dict[str, str]:
    """The manifest files under ``root`` by relative path (hidden directories skipped)."""
    paths = sorted(
        p
        for p in root.rglob("*")
        if p.suffix.lower() in SUFFIXES
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts[:-1])
    )
    total = sum(p.stat().st_size for p in paths)
    if total > MAX_DIR_BYTES:
        raise CliError(f"{root} holds {total} bytes of manifests, more than fluxctl sends")
    files: dict[str, str] = {}
    for path in paths:
        name = path.relative_to(root).as_posix()
        try:
            files[name] = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CliError(f"{path}: not UTF-8 text ({exc.reason})") from exc
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror}") from exc
    return files


def show(result: DiffResult) -> None:
    for action, title in _GROUPS:
        chosen = [o for o in result.objects if o.action == action]
        if chosen:
            click.echo(click.style(title, bold=True))
            for obj in chosen:
                click.echo(f"  {obj.id}" + (f"  ({obj.file})" if obj.file else ""))
    for obj in result.objects:
        if obj.diff:
            click.echo()
            _show_diff(obj)
    failed = [o for o in result.objects if o.action == "failed"]
    for obj in failed:
        click.echo(click.style(f"error: {obj.id or obj.file}: {obj.error}", fg="red"), err=True)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    click.echo()
    click.echo(summary(result))


def _show_diff(obj: ObjectDiff) -> None:
    for line in obj.diff.splitlines():
        if line.startswith(("---", "+++")):
            click.echo(click.style(line, bold=True))
        elif line.startswith("@@"):
            click.echo(click.style(line, fg="cyan"))
        elif line.startswith("+"):
            click.echo(click.style(line, fg="green"))
        elif line.startswith("-"):
            click.echo(click.style(line, fg="red"))
        else:
            click.echo(line)


def summary(result: DiffResult) -> str:
    text = (
        f"{result.create} to create, {result.change} to change, "
        f"{result.delete} to delete (garbage collection), {result.unchanged} unchanged"
    )
    return text + (f", {result.failed} failed" if result.failed else "")
