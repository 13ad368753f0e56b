"""``fluxctl save``: write the cluster's workloads as manifests, to stdout or a directory.

fluxd's export (``GET /v6/export``) is cleaned of what the cluster adds
(status, uid, revision annotations, empty values) and written as Flux v1
wrote it: to stdout each document after a ``---`` line; to a directory one
file per object, ``<ns>/<name>-<kind>.yaml`` (``dep`` for a Deployment) and
``<name>-ns.yaml`` for a Namespace.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from fluxctl.errors import CliError
from fluxctl.session import Session, pass_session


@click.command("save")
@click.option(
    "-o",
    "--out",
    default="-",
    show_default=True,
    help="'-' for stdout, or an existing directory to write one file per object into.",
)
@pass_session
def save(session: Session, out: str) -> None:
    """Save workload definitions to local files in cluster-native format."""
    if out != "-":
        _check_directory(out)
    export = session.client().export()
    from fluxctl.savedyaml import saved_objects  # PyYAML only for this command

    for obj in saved_objects(export):
        if out == "-":
            click.echo("---")
            click.echo(obj.text, nl=False)
            continue
        path = object_path(out, obj.kind, obj.name, obj.namespace)
        click.echo(f"Saving {obj.kind} '{obj.name}' to {path}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # A leading document marker helps when files are concatenated.
            path.write_text("---\n" + obj.text, encoding="utf-8")
        except OSError as exc:
            raise CliError(f"saving yaml object: writing {path}: {exc.strerror or exc}") from exc


def _check_directory(out: str) -> None:
    if not os.path.exists(out):
        raise CliError(
            f"stat {out}: no such file or directory",
            hint="Create the directory first, or give --out - for stdout.",
        )
    if not os.path.isdir(out):
        raise CliError(f"path {out} is not a directory")


def object_path(out: str, kind: str, name: str, namespace: str) -> Path:
    """Flux v1's file name for an object: Namespaces at the top, the rest by namespace."""
    if kind == "Namespace":
        return Path(out) / f"{name}-ns.yaml"
    short = "dep" if kind == "Deployment" else kind
    return Path(out) / namespace / f"{name}-{short}.yaml"
