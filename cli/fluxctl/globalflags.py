"""Flux v1's persistent flags, accepted before and after the command name.

Flux v1's cobra CLI took ``--k8s-fwd-ns`` and friends anywhere, and users
type ``fluxctl identity --k8s-fwd-ns flux``. click binds a group's options to
the group, so every command gets a copy of them too: the group's copy reads
the defaults and environment variables and builds the ``Session``; a
command's copy only overrides what was given after the command name.
"""

from __future__ import annotations

from typing import Any

import click

from fluxctl.params import ApiUrl, Duration, LabelMap, Namespace
from fluxctl.session import DEFAULT_FORWARD_LABELS, DEFAULT_FORWARD_NAMESPACE, Session

# (flags, Session field, group-only settings, help)
_FLAGS: list[tuple[tuple[str, ...], str, dict[str, Any], str]] = [
    (
        ("--context",),
        "context",
        {"default": "", "show_default": False},
        "Kubernetes context to use (default: the current one).",
    ),
    (
        ("--k8s-fwd-ns",),
        "forward_namespace",
        {
            "default": DEFAULT_FORWARD_NAMESPACE,
            "envvar": "FLUX_FORWARD_NAMESPACE",
            "type": Namespace(),
        },
        "Namespace in which fluxd is running, for the port-forward.",
    ),
    (
        ("--k8s-fwd-labels",),
        "forward_selector",
        {"default": DEFAULT_FORWARD_LABELS, "envvar": "FLUX_FORWARD_LABELS", "type": LabelMap()},
        "Labels of the fluxd pod (k=v,k2=v2), tried before name in (flux,fluxd,...).",
    ),
    (
        ("-u", "--url"),
        "url",
        {"default": "", "show_default": False, "envvar": "FLUX_URL", "type": ApiUrl()},
        "Base URL of the fluxd API, e.g. http://127.0.0.1:3030/api/flux; no port-forward.",
    ),
    (
        ("-t", "--token"),
        "token",
        {"default": "", "show_default": False, "envvar": "FLUX_SERVICE_TOKEN"},
        "Token sent as 'Authorization: Scope-Probe token=...'.",
    ),
    (
        ("--timeout",),
        "timeout",
        {"default": "60s", "envvar": "FLUX_TIMEOUT", "type": Duration()},
        "How long to wait for a job or an apply (Go duration: 60s, 2m, 1m30s).",
    ),
]


def group_options() -> list[click.Option]:
    """The flags as the group declares them: defaults and environment variables."""
    return [
        click.Option([*flags, field], help=text, show_envvar=True, **settings)
        for flags, field, settings, text in _FLAGS
    ]


def command_options() -> list[click.Option]:
    """The flags as a command declares them: given values override the group's."""
    return [
        click.Option(
            [*flags, field],
            type=settings.get("type"),
            default=None,
            show_default=False,
            expose_value=False,
            callback=_override,
            help=f"{text} (Global flag; see fluxctl --help.)",
        )
        for flags, field, settings, text in _FLAGS
    ]


def _override(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value is None or ctx.resilient_parsing:
        return
    session = ctx.find_object(Session)
    if session is not None and param.name:
        setattr(session, param.name, value.strip() if isinstance(value, str) else value)


def session_from(values: dict[str, Any]) -> Session:
    """The Session the group's flags describe."""
    return Session(
        context=values["context"],
        forward_namespace=values["forward_namespace"] or DEFAULT_FORWARD_NAMESPACE,
        forward_selector=values["forward_selector"],
        url=values["url"].strip(),
        token=values["token"],
        timeout=values["timeout"],
    )
