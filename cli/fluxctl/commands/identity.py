"""``fluxctl identity``: the public SSH key fluxd uses for git (a deploy key)."""

from __future__ import annotations

import click

from fluxctl.errors import CliError
from fluxctl.session import Session, pass_session


@click.command()
@click.option("-r", "--regenerate", is_flag=True, help="Generate a new identity first.")
@click.option(
    "-l", "--fingerprint", is_flag=True, help="Show the key's MD5 fingerprint, not the key."
)
@click.option("-v", "--visual", is_flag=True, help="Show the fingerprint's randomart (implies -l).")
@pass_session
def identity(session: Session, regenerate: bool, fingerprint: bool, visual: bool) -> None:
    """Print the public SSH key of fluxd, to add to the git host as a deploy key."""
    config = session.client().git_repo_config(regenerate=regenerate)
    key = config.publicSSHKey
    if not (fingerprint or visual):
        click.echo(key.key, nl=not key.key.endswith("\n"))
        return
    md5 = key.fingerprints.get("md5")
    if md5 is None:
        raise CliError("fluxd did not send an MD5 fingerprint for its key")
    click.echo(md5.hash.removeprefix("MD5:"))
    if visual and md5.randomart:
        click.echo(md5.randomart, nl=not md5.randomart.endswith("\n"))
