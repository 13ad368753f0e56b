"""The ``fluxctl`` command group: global flags (Flux v1 names and env vars)."""

from __future__ import annotations

from typing import Any

import click

from fluxctl.commands.completion import completion
from fluxctl.commands.diff import diff
from fluxctl.commands.identity import identity
from fluxctl.commands.images import list_images
from fluxctl.commands.install import install
from fluxctl.commands.policy import automate, deautomate, lock, policy, unlock
from fluxctl.commands.release import release
from fluxctl.commands.save import save
from fluxctl.commands.status import open_page, status
from fluxctl.commands.sync import sync
from fluxctl.commands.version import version
from fluxctl.commands.workloads import list_workloads
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


class FluxctlGroup(click.Group):
    """A group that resolves hidden command aliases."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, ALIASES.get(cmd_name, cmd_name))

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

_COMMANDS = (
    identity,
    sync,
    diff,
    status,
    open_page,
    list_workloads,
    list_images,
    release,
    automate,
    deautomate,
    lock,
    unlock,
    policy,
    save,
    install,
    version,
    completion,
)

for _command in _COMMANDS:
    # version, completion and install never talk to fluxd, but take the flags as Flux
    # v1's did (`fluxctl version --k8s-fwd-ns flux` is not a usage error).
    _command.params.extend(command_options())
    cli.add_command(_command)


def main() -> None:
    """Console entry point."""
    cli(prog_name="fluxctl")
