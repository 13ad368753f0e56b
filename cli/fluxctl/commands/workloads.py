"""``fluxctl list-workloads`` (alias ``list-controllers``): workloads and their images."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from fluxctl.output import tabulate, to_json
from fluxctl.params import Namespace
from fluxctl.session import Session, pass_session

if TYPE_CHECKING:
    from fluxctl.wire import Container, ControllerStatus

HEADER = ["WORKLOAD", "CONTAINER", "IMAGE", "RELEASE", "POLICY"]
OUTPUT_FORMATS = ("tab", "json")


@click.command("list-workloads")
@click.option(
    "-n",
    "--namespace",
    type=Namespace(),
    default="",
    help="Namespace to list (default: the kube context's namespace, else default).",
)
@click.option("-a", "--all-namespaces", is_flag=True, help="List workloads of all namespaces.")
@click.option("-c", "--container", default="", help="Only workloads with a container of this name.")
@click.option("--no-headers", is_flag=True, help="Leave out the header row.")
@click.option(
    "-o",
    "--output-format",
    type=click.Choice(OUTPUT_FORMATS),
    default="tab",
    show_default=True,
    help="Table, or JSON.",
)
@pass_session
def list_workloads(
    session: Session,
    namespace: str,
    all_namespaces: bool,
    container: str,
    no_headers: bool,
    output_format: str,
) -> None:
    """List the workloads fluxd sees, one row per container.

    Sorted by workload ID (namespace:kind/name). With -o json, prints the list
    as the API returns it: objects with the keys ID, Containers, ReadOnly,
    Status, Rollout, SyncError, Antecedent, Labels, Automated, Locked, Ignore
    and Policies; each container has Name and Current.ID, and leaves out
    empty fields, as Flux v1 did.
    """
    if all_namespaces:
        namespace = ""
    elif not namespace:
        namespace = session.default_namespace()
    workloads = session.client().list_workloads(namespace)
    if container:
        workloads = [w for w in workloads if _has_container(w, container)]
    workloads.sort(key=lambda w: w.ID)
    if output_format == "json":
        click.echo(to_json([w.dump() for w in workloads]), nl=False)
        return
    rows = [] if no_headers else [HEADER]
    for workload in workloads:
        rows += workload_rows(workload)
    click.echo(tabulate(rows), nl=False)


def _has_container(workload: ControllerStatus, name: str) -> bool:
    return any(c.Name == name for c in workload.Containers or [])


def policies(workload: ControllerStatus) -> str:
    """The policy column: the set ones of automated, ignore, locked, sorted."""
    names = [
        name
        for name, on in (
            ("automated", workload.Automated),
            ("locked", workload.Locked),
            ("ignore", workload.Ignore),
        )
        if on
    ]
    return ",".join(sorted(names))


def workload_rows(workload: ControllerStatus) -> list[list[str]]:
    """The first container shares the workload's row; others get rows of their own."""
    containers = workload.Containers or []
    if not containers:
        return [[workload.ID, "", "", workload.Status, policies(workload)]]
    first, *rest = containers
    rows = [[workload.ID, first.Name, _image(first), workload.Status, policies(workload)]]
    rows += [["", c.Name, _image(c), "", ""] for c in rest]
    return rows


def _image(container: Container) -> str:
    return container.Current.ID if container.Current is not None else ""
