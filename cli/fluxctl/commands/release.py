"""``fluxctl release``: ask fluxd to change workloads' images in git, then wait for the sync.

The flow and its lines are Flux v1's: ``Submitting release ...``, the
``WORKLOAD STATUS UPDATES`` table, ``Commit pushed:``, ``Commit applied:``;
with ``--watch`` the rollout table every two seconds until every released
workload is ready. ``--interactive`` asks for a plan first, shows it
numbered, and releases the updates the user picks (a plain prompt, where
Flux v1 drew a menu with the arrow keys).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from fluxctl.errors import WaitTimeout
from fluxctl.output import tabulate
from fluxctl.params import Namespace, format_duration
from fluxctl.session import Session, pass_session
from fluxctl.updates import (
    await_job,
    await_update,
    cause,
    cause_options,
    parse_results,
    parse_workload,
    print_results,
    progress,
    split_list,
    verbosity_option,
)
from fluxctl.waiting import Deadline

if TYPE_CHECKING:
    from fluxctl.client import FluxClient
    from fluxctl.wire import ControllerStatus, JobResult

ALL_WORKLOADS = "<all>"
ALL_LATEST = "<all latest>"
WATCH_INTERVAL = 2.0
_INVALID_IMAGE = "invalid image ID"
_MALFORMED = "expected image name as either <image>:<tag> or just <image>"


def image_spec(text: str) -> str:
    """``--update-image`` checked as Flux v1 checked it: a reference with a tag."""
    if text == ALL_LATEST:
        return text
    if not text:
        raise ValueError(f'parsing "": blank image name: {_INVALID_IMAGE}')
    if text.startswith("/") or text.endswith("/"):
        raise ValueError(f'parsing "{text}": {_MALFORMED}: {_INVALID_IMAGE}')
    parts = text.split("/")
    has_domain = len(parts) > 2 or (len(parts) == 2 and _is_domain(parts[0]))
    image = "/".join(parts[1:]) if has_domain else text
    image = image.split("@sha256:", 1)[0]
    pieces = image.split(":")
    if len(pieces) > 2 or (len(pieces) == 2 and "" in pieces):
        raise ValueError(f'parsing "{text}": {_MALFORMED}: {_INVALID_IMAGE}')
    if len(pieces) == 1:
        raise ValueError(
            "blank tag (if you want latest, explicitly state the tag :latest): " + _INVALID_IMAGE
        )
    return text


_DOMAIN = re.compile(
    r"localhost|([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])([.][a-zA-Z0-9-]+)+"
)


def _is_domain(first: str) -> bool:
    # Flux v1 searched (not matched) its domain pattern in the first element.
    return _DOMAIN.search(first) is not None


@dataclass
class ReleaseFlags:
    workloads: list[str] = field(default_factory=list)
    all_workloads: bool = False
    image: str = ""
    all_images: bool = False
    excludes: list[str] = field(default_factory=list)
    dry_run: bool = False
    interactive: bool = False
    force: bool = False
    watch: bool = False


def check_flags(flags: ReleaseFlags) -> None:
    """Flux v1's usage rules, in its order; two combinations only warn."""
    if bool(flags.image) == flags.all_images:
        raise click.UsageError(
            "please supply exactly one of --update-image=<image> or --update-all-images"
        )
    if not flags.workloads and not flags.all_workloads:
        raise click.UsageError("please supply either --all, or at least one --workload=<workload>")
    if flags.watch and flags.dry_run:
        raise click.UsageError("cannot use --watch with --dry-run")
    if flags.force and flags.all_workloads and flags.all_images:
        raise click.UsageError("--force has no effect when used with --all and --update-all-images")
    if flags.force and flags.all_workloads:
        progress("Warning: --force will not ignore locked workloads when used with --all")
    elif flags.force and flags.all_images:
        progress(
            "Warning: --force will not ignore container image tags when used with "
            "--update-all-images"
        )


def release_spec(flags: ReleaseFlags, namespace: str) -> dict[str, Any]:
    """The ``image`` update's spec: Flux v1's ``ReleaseImageSpec``."""
    if flags.all_workloads:
        services = [ALL_WORKLOADS]
    else:
        services = [parse_workload(w, namespace, "'--workload'") for w in flags.workloads]
    try:
        image = ALL_LATEST if flags.all_images else image_spec(flags.image)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'-i' / '--update-image'") from exc
    excludes = [parse_workload(e, namespace, "'--exclude'") for e in flags.excludes]
    plan = flags.dry_run or flags.interactive
    return {
        "ServiceSpecs": services,
        "ImageSpec": image,
        "Kind": "plan" if plan else "execute",
        "Excludes": excludes or None,
        "Force": flags.force,
    }


@click.command("release")
@click.option(
    "-n",
    "--namespace",
    type=Namespace(),
    default="",
    help="Namespace of workloads given as <kind>/<name> "
    "(default: the kube context's namespace, else default).",
)
@click.option(
    "--workload",
    "workloads",
    multiple=True,
    help="Workload to release, [<ns>:]<kind>/<name> (repeatable or comma-separated).",
)
@click.option(
    "-c",
    "--controller",
    "controllers",
    multiple=True,
    hidden=True,
    help="Deprecated: changed to --workload.",
)
@click.option("--all", "all_workloads", is_flag=True, help="Release all workloads.")
@click.option("-i", "--update-image", "image", default="", help="Update to this image (repo:tag).")
@click.option(
    "--update-all-images",
    "all_images",
    is_flag=True,
    help="Update all images to their latest versions.",
)
@click.option(
    "--exclude",
    "excludes",
    multiple=True,
    help="Workload to leave out (repeatable or comma-separated).",
)
@click.option("--dry-run", is_flag=True, help="Release nothing; report what would be done.")
@click.option("--interactive", is_flag=True, help="Pick the container updates to release.")
@click.option(
    "-f",
    "--force",
    is_flag=True,
    help="Disregard locks and tag filters (not with --all or --update-all-images).",
)
@click.option("-w", "--watch", is_flag=True, help="Watch the rollout after the release.")
@verbosity_option
@cause_options
@pass_session
def release(
    session: Session,
    /,
    namespace: str,
    workloads: tuple[str, ...],
    controllers: tuple[str, ...],
    message: str,
    user: str | None,
    verbosity: int,
    **flag_values: Any,
) -> None:
    """Release a new version of workloads: change their images in git.

    \b
    Examples:
      fluxctl release -n default --workload=deployment/foo --update-image=library/hello:v2
      fluxctl release --all --update-image=library/hello:v2
      fluxctl release --workload=default:deployment/foo --update-all-images
    """
    flags = ReleaseFlags(workloads=split_list(workloads + controllers), **flag_values)
    flags.excludes = split_list(flag_values["excludes"])
    check_flags(flags)
    spec = release_spec(flags, namespace or session.default_namespace())
    plan = spec["Kind"] == "plan"
    progress("Submitting dry-run release ..." if plan else "Submitting release ...")
    submit(session, flags, spec, cause(message, user), verbosity)


def submit(
    session: Session, flags: ReleaseFlags, spec: dict[str, Any], who: dict[str, str],
    verbosity: int,
) -> None:  # fmt: skip
    """Send the release (and, with --interactive, the picked updates); wait as Flux v1 did."""
    from fluxctl.wire import Cause, UpdateSpec  # with the client, not at start-up

    client = session.client()
    deadline = Deadline(session.timeout)
    job_id = client.update_manifests(UpdateSpec(type="image", cause=Cause(**who), spec=spec))
    apply = not flags.dry_run
    if flags.interactive:
        picked = choose_updates(await_job(client, job_id, deadline), verbosity, force=flags.force)
        if picked is None:
            return
        progress("Submitting selected release ...")
        selected = UpdateSpec(type="containers", cause=Cause(**who), spec=picked)
        job_id = client.update_manifests(selected)
        apply = True
    done = await_update(client, job_id, apply=apply, verbosity=verbosity, deadline=deadline)
    if flags.watch:
        watch_rollout(client, affected(done), verbosity, deadline)


def affected(result: JobResult) -> list[str]:
    """The workloads the release changed."""
    return [wid for wid, r in parse_results(result.result).items() if r.status == "success"]


# --- interactive ------------------------------------------------------------------


def choose_updates(plan: JobResult, verbosity: int, *, force: bool) -> dict[str, Any] | None:
    """The ``containers`` spec of the updates the user picks from ``plan``; None to stop."""
    results = parse_results(plan.result)
    choices = [(wid, u) for wid in sorted(results) for u in results[wid].updates if u.container]
    if not choices:
        progress("No changes found.")
        return None
    print_results(results, verbosity)
    click.echo("")
    for number, (wid, u) in enumerate(choices, start=1):
        click.echo(f"  {number}) {wid} {u.container}: {u.current} -> {u.target}")
    answer = click.prompt(
        "Release which updates? (numbers separated by commas, or 'all'; empty aborts)",
        default="",
        show_default=False,
    )
    picked = _picked(answer, len(choices))
    if not picked:
        progress("Aborted.")
        return None
    specs: dict[str, list[dict[str, str]]] = {}
    for index in picked:
        wid, u = choices[index]
        specs.setdefault(wid, []).append(
            {"Container": u.container, "Current": u.current, "Target": u.target}
        )
    return {"Kind": "execute", "ContainerSpecs": specs, "SkipMismatches": False, "Force": force}


def _picked(answer: str, count: int) -> list[int]:
    answer = answer.strip().lower()
    if answer == "all":
        return list(range(count))
    picked: list[int] = []
    for item in filter(None, (part.strip() for part in answer.split(","))):
        if not item.isdigit() or not 1 <= int(item) <= count:
            raise click.BadParameter(f"{item!r} is not one of the numbers 1 to {count}")
        if int(item) - 1 not in picked:
            picked.append(int(item) - 1)
    return picked


# --- watch ---------------------------------------------------------------------------


def watch_rollout(client: FluxClient, ids: list[str], verbosity: int, deadline: Deadline) -> None:
    """Print the rollout of ``ids`` every two seconds until all are ready or one has trouble."""
    progress("Monitoring rollout ...")
    while True:
        workloads = client.list_workloads_by_id(ids)
        ready = 0
        for workload in workloads:
            click.echo(tabulate(rollout_rows(workload, verbosity)), nl=False)
            ready += workload.Status == "ready"
            if workload.Rollout.Messages is not None:
                progress(f"There was a problem releasing {workload.ID}:")
                for line in workload.Rollout.Messages:
                    progress(line)
                return
        if ready == len(workloads):
            progress("All workloads ready.")
            return
        if not deadline.sleep(WATCH_INTERVAL):
            raise WaitTimeout(
                f"timed out after {format_duration(deadline.seconds)} watching the rollout",
                hint="The release is in git; kubectl rollout status shows how it goes on.",
            )


def rollout_rows(workload: ControllerStatus, verbosity: int) -> list[list[str]]:
    """Flux v1's rollout table of one workload, and the blank line after it."""
    rollout = workload.Rollout
    replicas = f"{rollout.Updated}/{rollout.Desired}"
    if verbosity > 0:
        replicas += f" ({rollout.Outdated} outdated, {rollout.Ready} ready)"
    rows = [["WORKLOAD", "CONTAINER", "IMAGE", "RELEASE", "REPLICAS"]]
    containers = workload.Containers or []
    if not containers:
        rows.append([workload.ID, "", "", workload.Status, replicas])
    for index, c in enumerate(containers):
        image = c.Current.ID if c.Current is not None else ""
        if index == 0:
            rows.append([workload.ID, c.Name, image, workload.Status, replicas])
        else:
            rows.append(["", c.Name, image, "", ""])
    return [*rows, []]
