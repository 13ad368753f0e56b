"""What a git repo status that is not ``ready`` means, and what the user should do.

Flux v1 printed ``not ready to sync (status: new)`` and left users guessing
(issues #2657, #2909, #724). The daemon's error text almost always names the
cause (an ssh or git message), so the hint is picked by matching that text;
the first rule that matches wins, which is why the more specific causes
(host key, write access) come before the generic ``Could not read from
remote repository`` that git appends to all of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fluxctl.errors import CliError
from fluxids import RepoUrl

if TYPE_CHECKING:
    from fluxctl.wire import GitConfig


@dataclass(frozen=True)
class HintContext:
    url: str
    identity_command: str
    logs_command: str

    @property
    def host(self) -> str:
        return repo_host(self.url)


Hint = Callable[[HintContext], str]


def _host_key(c: HintContext) -> str:
    return (
        f"fluxd does not know the SSH host key of {c.host}. Add that host's public key "
        f"(`ssh-keyscan {c.host}` prints it) to the known_hosts fluxd is given, "
        "then run fluxctl sync again."
    )


def _checking_write(c: HintContext) -> str:
    return (
        "fluxd has cloned the repository and is checking that it can push to it. "
        "Run fluxctl sync again in a few seconds; if this stays, the deploy key "
        f"probably lacks write access (see `{c.identity_command}`)."
    )


def _no_write(c: HintContext) -> str:
    return (
        "The deploy key can read the repository but not push to it. Give the key "
        f"from `{c.identity_command}` write access on {c.host} (fluxd pushes its "
        "sync tag), or run fluxd with --git-readonly."
    )


def _repo_missing(c: HintContext) -> str:
    return (
        f"{c.host} says there is no such repository. Check fluxd's --git-url ({c.url}). "
        "For a private repository this also means the deploy key is not added to it: "
        f"run `{c.identity_command}` and add the key with write access."
    )


def _key_refused(c: HintContext) -> str:
    return (
        f"{c.host} refused fluxd's SSH key. Run `{c.identity_command}` and add the "
        "key it prints to the repository as a deploy key with write access."
    )


def _bad_url(c: HintContext) -> str:
    return (
        f"Check the repository URL fluxd was started with (--git-url): {c.url}. It must "
        "be reachable from the fluxd pod, e.g. ssh://git@github.com/<owner>/<repo>.git."
    )


def _slow(c: HintContext) -> str:
    return (
        f"fluxd could not reach {c.host} in time. Check the network path from the "
        f"fluxd pod to {c.host} and the URL {c.url}; fluxd keeps retrying."
    )


def _fallback(c: HintContext) -> str:
    return f"See what fluxd reports: {c.logs_command}"


RULES: list[tuple[re.Pattern[str], Hint]] = [
    (re.compile(r"host key|known_hosts|hostkey", re.I), _host_key),
    (re.compile(r"not yet checked for write access", re.I), _checking_write),
    (
        re.compile(r"write access|read[- ]only|push.*(denied|rejected|forbidden)", re.I),
        _no_write,
    ),
    (re.compile(r"repository not found|does not exist|not a git repository", re.I), _repo_missing),
    (
        re.compile(
            r"permission denied|publickey|authenticat|access denied|unauthori[sz]ed"
            r"|could not read from remote",
            re.I,
        ),
        _key_refused,
    ),
    (
        re.compile(
            r"could not resolve|name or service not known|no such host|not found"
            r"|does not appear to be a git|connection refused|no route to host"
            r"|invalid url|unsupported (url|protocol|scheme)",
            re.I,
        ),
        _bad_url,
    ),
    (re.compile(r"timeout|timed out|deadline exceeded", re.I), _slow),
]


def repo_host(url: str) -> str:
    """The host of an ssh://, https:// or scp-like (git@host:path) git URL."""
    try:
        return RepoUrl.parse(url).host or url
    except ValueError:
        return url  # shown as fluxd reported it


def hint_for(config: GitConfig, context: HintContext) -> str:
    """The advice that fits the status and the daemon's error text."""
    for pattern, hint in RULES:
        if pattern.search(config.errors):
            return hint(context)
    if config.status == "new" and not config.errors:
        return (
            "fluxd has not cloned the repository yet. Make sure the key from "
            f"`{context.identity_command}` is a deploy key with write access, then "
            "run fluxctl sync again in a few seconds."
        )
    if config.status == "cloned" and not config.errors:
        return _checking_write(context)
    return _fallback(context)


def check_ready(config: GitConfig, context: HintContext) -> None:
    """Raise the error Flux v1 raised for a repo that cannot be synced, plus a hint."""
    if config.status == "ready":
        return
    url = config.remote.url
    if config.status == "unconfigured":
        raise CliError(
            "no git repository is configured",
            hint="Start fluxd with --git-url=<repository URL> (and --git-branch, --git-path).",
        )
    if config.status == "unreachable":
        message = f"can not connect to git repository with URL {url}"
    else:
        message = f"git repository {url} is not ready to sync"
    if config.errors:
        # git over ssh mixes in CRLF line ends; a terminal shows them as noise.
        full = config.errors.replace("\r\n", "\n").strip()
        message += f"\n\nFull error message: {full}"
    raise CliError(message, hint=hint_for(config, context))
