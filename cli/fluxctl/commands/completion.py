"""``fluxctl completion SHELL``: the shell script that completes fluxctl commands."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

SHELLS = ("bash", "zsh", "fish")


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print a completion script for SHELL (bash, zsh or fish).

    \b
    bash:  source <(fluxctl completion bash)
    zsh:   source <(fluxctl completion zsh)
    fish:  fluxctl completion fish | source
    """
    root = ctx.find_root()
    prog_name = root.info_name or "fluxctl"
    complete_var = "_{}_COMPLETE".format(prog_name.replace("-", "_").upper())
    cls = get_completion_class(shell)
    if cls is None:  # click knows all of SHELLS; this guards a future click
        raise click.UsageError(f"no completion support for {shell}")
    script = cls(root.command, {}, prog_name, complete_var).source()
    click.echo(script)
