"""The ``fluxctl`` command group: global flags (Flux v1 names and env vars)."""

from __future__ import annotations

import importlib
from typing import Any

import click

from fluxctl.globalflags import command_options, group_options, session_from

EPILOG = """\
\b
The flags above may also follow the command (fluxctl sync --k8s-fwd-ns flux).

\b
Without --url, fluxctl finds the fluxd pod in --k8s-fwd-ns by the labels of
--k8s-fwd-labels, then by name in (flux,fluxd,weave-flux-agent), and reaches
its port 3030 through the Kubernetes API (pods/portforward). It needs RBAC
permission to list pods, and to get and create pods/portforward, in that
namespace. A pod that is Running is used even before it is Ready.

\b
Exit status:
  0  success
  1  failure: an error from fluxd, a sync whose resources failed, --timeout
     passed, or no access to the cluster (kubeconfig, credentials, RBAC)
  2  usage error
  3  fluxd not found or not reachable: no pod, several pods, pod not
     running yet, or the connection failed
"""

# Old names kept working, but not listed in --help.
ALIASES = {"list-controllers": "list-workloads"}


# Each command's module and attribute, imported only when the command is
# used (or listed by --help): importing every command's module cost a
# command more CPU than its own work through the port-forward.
COMMANDS = {
    "identity": ("identity", "identity"),
    "sync": ("sync", "sync"),
    "diff": ("diff", "diff"),
    "status": ("status", "status"),
    "open": ("status", "open_page"),
    "list-workloads": ("workloads", "list_workloads"),
    "list-images": ("images", "list_images"),
    "release": ("release", "release"),
    "automate": ("policy", "automate"),
    "deautomate": ("policy", "deautomate"),
    "lock": ("policy", "lock"),
    "unlock": ("policy", "unlock"),
    "policy": ("policy", "policy"),
    "save": ("save", "save"),
    "install": ("install", "install"),
    "version": ("version", "version"),
    "completion": ("completion", "completion"),
}


class FluxctlGroup(click.Group):
    """A group that loads its commands on first use and resolves hidden aliases."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        name = ALIASES.get(cmd_name, cmd_name)
        if name not in self.commands and name in COMMANDS:
            self.add_command(load_command(name))
        return super().get_command(ctx, name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        # Report the canonical name, so usage lines and errors agree with --help.
        _, command, rest = super().resolve_command(ctx, args)
        return (command.name if command else None), command, rest


@click.group(cls=FluxctlGroup, epilog=EPILOG, context_settings={"show_default": True})
@click.pass_context
def cli(ctx: click.Context, /, **flags: Any) -> None:
    """fluxctl talks to fluxd, the GitOps daemon, to sync and inspect a cluster."""
    session = session_from(flags)
    ctx.obj = session
    ctx.call_on_close(session.close)


cli.params.extend(group_options())


def load_command(name: str) -> click.Command:
    """The command ``name`` of ``COMMANDS``, with the global flags added to its own."""
    module, attribute = COMMANDS[name]
    command: click.Command = getattr(
        importlib.import_module(f"fluxctl.commands.{module}"), attribute
    )
    # version, completion and install never talk to fluxd, but take the flags as Flux
    # v1's did (`fluxctl version --k8s-fwd-ns flux` is not a usage error).
    command.params.extend(command_options())
    return command


def all_commands() -> dict[str, click.Command]:
    """Every command by name, loaded (for documentation checks and tools)."""
    with click.Context(cli) as ctx:
        loaded = {name: cli.get_command(ctx, name) for name in cli.list_commands(ctx)}
    return {name: command for name, command in loaded.items() if command is not None}


def main() -> None:
    """Console entry point."""
    cli(prog_name="fluxctl")
