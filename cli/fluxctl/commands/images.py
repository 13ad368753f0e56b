"""``fluxctl list-images``: the images each workload runs, and the tags available.

The table is Flux v1's: per container a row with the image name, then one row
per available tag (newest first, as fluxd sorts them) with ``'->`` marking
the running tag, ``|`` the newer tags above it and blanks the older ones.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from fluxctl.output import tabulate, to_json
from fluxctl.params import Namespace
from fluxctl.session import Session, pass_session
from fluxids import parse_workload_id

if TYPE_CHECKING:
    from fluxctl.wire import Container, ImageStatus

HEADER = ["WORKLOAD", "CONTAINER", "IMAGE", "CREATED"]
ALL = "<all>"
NO_IMAGE_DATA = "image data not available"


@click.command("list-images")
@click.option(
    "-n",
    "--namespace",
    type=Namespace(),
    default="",
    help="Namespace to list (default: the kube context's namespace, else default).",
)
@click.option("-w", "--workload", default="", help="Only this workload: [<ns>:]<kind>/<name>.")
@click.option(
    "-l",
    "--limit",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Show at most this many tags per image (0: all).",
)
@click.option("--no-headers", is_flag=True, help="Leave out the header row.")
@click.option(
    "-o",
    "--output-format",
    type=click.Choice(("tab", "json")),
    default="tab",
    show_default=True,
    help="Table, or JSON.",
)
@pass_session
def list_images(
    session: Session,
    namespace: str,
    workload: str,
    limit: int,
    no_headers: bool,
    output_format: str,
) -> None:
    """List the images of workloads, and the tags available for each.

    With -o json, prints the list as the API returns it: objects with the
    keys ID and Containers; each container has Name, Current, LatestFiltered,
    Available, AvailableError and the image counts, leaving out empty ones.
    """
    namespace = namespace or session.default_namespace()
    service = ALL
    if workload:
        service, namespace = workload_id(workload, namespace), ""
    images = sorted(session.client().list_images(service, namespace), key=lambda i: i.ID)
    if output_format == "json":
        click.echo(to_json([i.dump() for i in images]), nl=False)
        return
    rows = [] if no_headers else [HEADER]
    for image in images:
        rows += image_rows(image, limit)
    click.echo(tabulate(rows), nl=False)


def workload_id(text: str, namespace: str) -> str:
    """``ns:kind/name``, taking the namespace from ``-n`` when it is not given."""
    qualified = text if ":" in text.split("/", 1)[0] else f"{namespace}:{text}"
    try:
        return str(parse_workload_id(qualified))
    except ValueError as exc:
        raise click.BadParameter(
            f"{text!r} is not a workload ID ([<namespace>:]<kind>/<name>): {exc}",
            param_hint="'-w' / '--workload'",
        ) from exc


def image_rows(image: ImageStatus, limit: int) -> list[list[str]]:
    if not image.Containers:
        return [[image.ID, "", "", ""]]
    rows: list[list[str]] = []
    workload = image.ID
    for container in image.Containers:
        rows += container_rows(workload, container, limit)
        workload = ""  # the ID is shown on the first container's row only
    return rows


def container_rows(workload: str, container: Container, limit: int) -> list[list[str]]:
    current = container.Current.ID if container.Current else ""
    name, running_tag = split_ref(current)
    available = container.Available or []
    status = "" if available else (container.AvailableError or NO_IMAGE_DATA)
    rows = [[workload, container.Name, name, status]]
    seen_running = False
    for count, info in enumerate(available, start=1):
        tag = split_ref(info.ID)[1]
        is_running = tag == running_tag
        marker = "'->" if is_running else ("   " if seen_running else "|  ")
        seen_running = seen_running or is_running
        if limit and count > limit:
            if not is_running:
                continue
            if count > limit + 1:  # say how many rows were skipped to reach it
                rows.append(["", "", f": ({count - limit - 1} image(s) omitted)", ""])
        rows.append(["", "", f"{marker} {tag}", rfc822(info.CreatedAt)])
    if not seen_running:
        rows.append(["", "", f"'-> {running_tag or '(untagged)'}", "?"])
    return rows


def split_ref(ref: str) -> tuple[str, str]:
    """``(name, tag)`` of an image reference; the tag is after the last ``:`` past any ``/``."""
    ref = ref.split("@", 1)[0]
    colon = ref.rfind(":")
    if colon > ref.rfind("/"):
        return ref[:colon], ref[colon + 1 :]
    return ref, ""


def rfc822(timestamp: str | None) -> str:
    """Go's RFC822 layout (``02 Jan 06 15:04 UTC``); empty for a missing or zero time."""
    if not timestamp or timestamp.startswith("0001-01-01"):
        return ""
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return timestamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%d %b %y %H:%M UTC")
