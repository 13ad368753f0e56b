"""``fluxctl policy`` and its shortcuts ``automate``, ``deautomate``, ``lock``, ``unlock``.

Each asks fluxd to change a workload's policy annotations in git
(``fluxcd.io/automated``, ``fluxcd.io/locked``, ``fluxcd.io/tag.<container>``)
and prints the job's results. Like Flux v1, they do not wait for the commit
to be applied: a policy changes what fluxd does, not what runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click

from fluxctl.params import Namespace
from fluxctl.session import Session, pass_session
from fluxctl.updates import (
    await_update,
    cause,
    cause_options,
    parse_workload,
    split_list,
    verbosity_option,
)
from fluxctl.waiting import Deadline

WORKLOAD_HINT = "'-w' / '--workload'"
_PATTERN_PREFIXES = ("glob:", "semver:", "regexp:", "regex:")


@dataclass
class PolicyChange:
    """The ``add`` and ``remove`` sets of one workload's policy update."""

    add: dict[str, str] = field(default_factory=dict)
    remove: dict[str, str] = field(default_factory=dict)

    def wire(self) -> dict[str, dict[str, str]]:
        # Keys sorted, as Go's fluxctl encodes a map: fluxd adds new
        # annotations in the order it is given them.
        return {"add": dict(sorted(self.add.items())), "remove": dict(sorted(self.remove.items()))}


def pattern(text: str) -> str:
    """A tag filter with its kind spelt out: no prefix is ``glob:``, ``regex:`` is ``regexp:``."""
    if text.startswith(("semver:", "regexp:")):
        return text
    if text.startswith("regex:"):
        return "regexp:" + text.removeprefix("regex:")
    return "glob:" + text.removeprefix("glob:")


@dataclass
class PolicyFlags:
    automate: bool = False
    deautomate: bool = False
    lock: bool = False
    unlock: bool = False
    tag_all: str = ""
    tags: list[str] = field(default_factory=list)


def policy_change(flags: PolicyFlags, user: str, message: str) -> PolicyChange:
    """The update the flags ask for; ``--tag c=*`` removes the filter of container c."""
    change = PolicyChange()
    if flags.automate:
        change.add["automated"] = "true"
    if flags.deautomate:
        change.remove["automated"] = "true"
    if flags.lock:
        change.add["locked"] = "true"
        if user:
            change.add.update(locked_user=user, locked_msg=message)
    if flags.unlock:
        change.remove.update(locked="true", locked_msg="true", locked_user="true")
    if flags.tag_all:
        change.add["tag_all"] = pattern(flags.tag_all)
    for pair in flags.tags:
        parts = pair.split("=")
        if len(parts) != 2:
            raise click.BadParameter(
                f"invalid container/tag pair: {pair!r}. Expected format is 'container=filter'",
                param_hint="'--tag'",
            )
        container, tag = parts
        if tag == "*":
            change.remove[f"tag.{container}"] = "true"
        else:
            change.add[f"tag.{container}"] = pattern(tag)
    return change


def check_flags(flags: PolicyFlags) -> None:
    if flags.automate and flags.deautomate:
        raise click.UsageError("automate and deautomate both specified")
    if flags.lock and flags.unlock:
        raise click.UsageError("lock and unlock both specified")


def run_policy(
    session: Session, *, workload: str, namespace: str, flags: PolicyFlags, opts: dict[str, Any]
) -> None:
    """Send the policy update for ``workload`` and print the job's results."""
    if not workload:
        raise click.UsageError("-w, --workload is required")
    check_flags(flags)
    namespace = namespace or session.default_namespace()
    workload_id = parse_workload(workload, namespace, WORKLOAD_HINT)
    who = cause(opts["message"], opts["user"])
    change = policy_change(flags, who["User"], who["Message"])
    from fluxctl.wire import Cause, UpdateSpec  # with the client, not at start-up

    client = session.client()
    deadline = Deadline(session.timeout)
    spec = UpdateSpec(type="policy", cause=Cause(**who), spec={workload_id: change.wire()})
    job_id = client.update_manifests(spec)
    await_update(client, job_id, apply=False, verbosity=opts["verbosity"], deadline=deadline)


def workload_options(action: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        command = click.option(
            "-w", "--workload", default="", help=f"Workload to {action}: [<ns>:]<kind>/<name>."
        )(command)
        command = click.option(
            "-c",
            "--controller",
            default="",
            hidden=True,
            help="Deprecated: changed to --workload.",
        )(command)
        command = click.option(
            "-n",
            "--namespace",
            type=Namespace(),
            default="",
            help="Namespace of a workload given as <kind>/<name> "
            "(default: the kube context's namespace, else default).",
        )(command)
        return verbosity_option(cause_options(command))

    return decorate


def pick_workload(workload: str, controller: str) -> str:
    if workload and controller:
        raise click.UsageError("can't specify both the controller and workload")
    return workload or controller


def _shortcut(name: str, action: str, summary: str, flags: PolicyFlags) -> click.Command:
    @click.command(name, help=summary)
    @workload_options(action)
    @pass_session
    def command(
        session: Session, /, workload: str, controller: str, namespace: str, **opts: Any
    ) -> None:
        run_policy(
            session,
            workload=pick_workload(workload, controller),
            namespace=namespace,
            flags=flags,
            opts=opts,
        )

    return command


automate = _shortcut(
    "automate",
    "automate",
    "Turn on automatic deployment for a workload.",
    PolicyFlags(automate=True),
)
deautomate = _shortcut(
    "deautomate",
    "deautomate",
    "Turn off automatic deployment for a workload.",
    PolicyFlags(deautomate=True),
)
lock = _shortcut(
    "lock", "lock", "Lock a workload, so it cannot be deployed.", PolicyFlags(lock=True)
)
unlock = _shortcut(
    "unlock", "unlock", "Unlock a workload, so it can be deployed.", PolicyFlags(unlock=True)
)


@click.command("policy")
@workload_options("modify")
@click.option("--tag-all", default="", help="Tag filter pattern for all containers.")
@click.option(
    "--tag",
    "tags",
    multiple=True,
    help="Tag filter as container=pattern (repeatable or comma-separated; pattern * removes it).",
)
@click.option("--automate", is_flag=True, help="Automate the workload.")
@click.option("--deautomate", is_flag=True, help="Deautomate the workload.")
@click.option("--lock", is_flag=True, help="Lock the workload.")
@click.option("--unlock", is_flag=True, help="Unlock the workload.")
@pass_session
def policy(
    session: Session,
    /,
    workload: str,
    controller: str,
    namespace: str,
    tag_all: str,
    tags: tuple[str, ...],
    automate: bool,
    deautomate: bool,
    lock: bool,
    unlock: bool,
    **opts: Any,
) -> None:
    """Manage policies for a workload.

    Tag filter patterns are given as 'container=pattern', such as 'foo=1.*',
    where an asterisk matches anything; prefix a pattern with semver: or
    regexp: for those kinds of filter (glob: is the default). Quote them to
    keep the shell from expanding them. With both --tag-all and --tag,
    --tag-all applies to the containers --tag does not name.
    """
    flags = PolicyFlags(automate, deautomate, lock, unlock, tag_all, split_list(tags))
    run_policy(
        session,
        workload=pick_workload(workload, controller),
        namespace=namespace,
        flags=flags,
        opts=opts,
    )
