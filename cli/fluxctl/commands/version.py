"""``fluxctl version``: this build's version; never contacts the cluster."""

from __future__ import annotations

import click

from fluxctl import version as build_version


@click.command()
def version() -> None:
    """Print the version of fluxctl."""
    click.echo(build_version())
