"""Git remote URLs: what fluxd accepts, and the form that is safe to show.

The forms are read by ``fluxids.RepoUrl``; here fluxd decides which of them
it can fetch from: ``ssh://``, scp-like, ``http(s)://`` with basic-auth
credentials either in the URL or from GIT_AUTHUSER/GIT_AUTHKEY, and
``file://``. A password never leaves the URL except to the transport.
"""

from __future__ import annotations

import dataclasses

from fluxd.errors import SettingsError, UserError
from fluxids.repourl import RepoUrl, redact
from fluxids.repourl import Scheme as Scheme

#: ``--git-url`` once ``parse_remote_url`` accepted it: a ``RepoUrl`` of one
#: of the schemes fluxd can fetch from.
RemoteUrl = RepoUrl

_REMOTE_SCHEMES = (Scheme.SSH, Scheme.HTTP, Scheme.HTTPS, Scheme.FILE)
_URL_HELP = (
    "Use ssh://git@host/owner/repo.git, git@host:owner/repo.git, "
    "https://host/owner/repo.git or file:///path/to/repo."
)


def parse_remote_url(url: str, *, auth_user: str = "", auth_key: str = "") -> RemoteUrl:
    """Parse ``url``; for http(s), ``auth_user``/``auth_key`` win over inline credentials."""
    url = url.strip()
    if not url:
        raise SettingsError("no git URL given", help="Set --git-url. " + _URL_HELP)
    try:
        parsed = RepoUrl.parse(url)
    except ValueError as exc:
        raise SettingsError(f"unsupported git URL: {exc}", help=_URL_HELP) from exc
    if parsed.scheme not in _REMOTE_SCHEMES:
        raise SettingsError(
            f"unsupported git URL {redact(url)!r}: fluxd fetches over "
            + ", ".join(_REMOTE_SCHEMES),
            help=_URL_HELP,
        )
    if parsed.scheme is Scheme.FILE and not parsed.path:
        raise SettingsError(f"git URL {url!r} has no path", help=_URL_HELP)
    if parsed.host.startswith("-"):
        # ssh would read such a "host" as an option (e.g. -oProxyCommand=...).
        raise SettingsError(f"git URL {redact(url)!r} has an invalid host", help=_URL_HELP)
    if parsed.scheme is Scheme.SSH:
        return dataclasses.replace(parsed, password="")  # ssh authenticates with the deploy key
    if parsed.scheme is not Scheme.FILE and (auth_user or auth_key):
        return dataclasses.replace(parsed, user=auth_user, password=auth_key)
    return parsed


class InvalidUrl(UserError):
    """A repository URL from a request (webhook, notification) cannot be read."""

    default_help = _URL_HELP


def repo_key(url: str) -> str:
    """``RepoUrl.key`` of ``url``; ``InvalidUrl`` for text that is not a repository URL."""
    try:
        return RepoUrl.parse(url).key
    except ValueError as exc:
        raise InvalidUrl(str(exc)) from exc
