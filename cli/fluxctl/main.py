"""The ``fluxctl`` command group: global flags (Flux v1 names and env vars)."""

from __future__ import annotations

import click

from fluxctl.commands.completion import completion
from fluxctl.commands.identity import identity
from fluxctl.commands.images import list_images
from fluxctl.commands.sync import sync
from fluxctl.commands.version import version
from fluxctl.commands.workloads import list_workloads
from fluxctl.params import Duration, LabelMap
from fluxctl.session import (
    DEFAULT_FORWARD_LABELS,
    DEFAULT_FORWARD_NAMESPACE,
    Session,
)

EPILOG = """\
\b
Without --url, fluxctl finds the fluxd pod in --k8s-fwd-ns by the labels of
--k8s-fwd-labels, then by name in (flux,fluxd,weave-flux-agent), and reaches
its port 3030 through the Kubernetes API (pods/portforward). It needs RBAC
permission to list pods and create pods/portforward in that namespace.

\b
Exit status:
  0  success
  1  failure: an error from fluxd, a sync whose resources failed, --timeout
     passed, or no access to the cluster (kubeconfig, credentials, RBAC)
  2  usage error
  3  fluxd not found or not reachable: no pod, several pods, pod not
     ready, or the connection failed
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
@click.option(
    "--context",
    default="",
    show_default=False,
    help="Kubernetes context to use (default: the current one).",
)
@click.option(
    "--k8s-fwd-ns",
    "forward_namespace",
    default=DEFAULT_FORWARD_NAMESPACE,
    envvar="FLUX_FORWARD_NAMESPACE",
    show_envvar=True,
    help="Namespace in which fluxd is running, for the port-forward.",
)
@click.option(
    "--k8s-fwd-labels",
    "forward_selector",
    type=LabelMap(),
    default=DEFAULT_FORWARD_LABELS,
    envvar="FLUX_FORWARD_LABELS",
    show_envvar=True,
    help="Labels of the fluxd pod (k=v,k2=v2), tried before name in (flux,fluxd,...).",
)
@click.option(
    "-u",
    "--url",
    default="",
    show_default=False,
    envvar="FLUX_URL",
    show_envvar=True,
    help="Base URL of the fluxd API, e.g. http://127.0.0.1:3030/api/flux; no port-forward.",
)
@click.option(
    "-t",
    "--token",
    default="",
    envvar="FLUX_SERVICE_TOKEN",
    show_envvar=True,
    show_default=False,
    help="Token sent as 'Authorization: Scope-Probe token=...'.",
)
@click.option(
    "--timeout",
    type=Duration(),
    default="60s",
    envvar="FLUX_TIMEOUT",
    show_envvar=True,
    help="How long to wait for a job or an apply (Go duration: 60s, 2m, 1m30s).",
)
@click.pass_context
def cli(
    ctx: click.Context,
    context: str,
    forward_namespace: str,
    forward_selector: str,
    url: str,
    token: str,
    timeout: float,
) -> None:
    """fluxctl talks to fluxd, the GitOps daemon, to sync and inspect a cluster."""
    session = Session(
        context=context,
        forward_namespace=forward_namespace or DEFAULT_FORWARD_NAMESPACE,
        forward_selector=forward_selector,
        url=url.strip(),
        token=token,
        timeout=timeout,
    )
    ctx.obj = session
    ctx.call_on_close(session.close)


for _command in (identity, sync, list_workloads, list_images, version, completion):
    cli.add_command(_command)


def main() -> None:
    """Console entry point."""
    cli(prog_name="fluxctl")
