"""Git remote URLs: what fluxd accepts, and the form that is safe to show.

Accepted: ``ssh://[user@]host[:port]/path``, the scp-like ``[user@]host:path``
that git hosts print (``git@github.com:owner/repo.git``), ``http(s)://`` with
basic-auth credentials either in the URL or from GIT_AUTHUSER/GIT_AUTHKEY, and
``file://``. A password never leaves this object except to the transport.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import quote, unquote, urlsplit

from fluxd.errors import SettingsError, UserError


class Scheme(StrEnum):
    SSH = "ssh"
    HTTP = "http"
    HTTPS = "https"
    FILE = "file"


# git's rule: "host:path" is scp-like only if no slash comes before the colon.
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/:]+)@)?(?P<host>[^@/:\[\]]+|\[[^\]]+\]):(?P<path>.*)$")
_URL_HELP = (
    "Use ssh://git@host/owner/repo.git, git@host:owner/repo.git, "
    "https://host/owner/repo.git or file:///path/to/repo."
)


@dataclass(frozen=True, slots=True)
class RemoteUrl:
    """A parsed git remote; ``str()`` and ``safe()`` never show the password."""

    scheme: Scheme
    host: str = ""
    port: int | None = None
    user: str = ""
    password: str = field(default="", repr=False)
    path: str = ""
    scp_like: bool = False

    @property
    def is_ssh(self) -> bool:
        return self.scheme is Scheme.SSH

    @property
    def host_for_known_hosts(self) -> str:
        """How OpenSSH names this host in known_hosts: ``host`` or ``[host]:port``."""
        if self.port in (None, 22):
            return self.host
        return f"[{self.host}]:{self.port}"

    def safe(self) -> str:
        """The URL as the user wrote it, minus any password."""
        if self.scheme is Scheme.FILE:
            return f"file://{quote(self.path)}"
        login = f"{quote(self.user, safe='')}@" if self.user else ""
        if self.scp_like:
            return f"{login}{self.host}:{self.path}"
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.scheme}://{login}{self.host}{port}{self.path}"

    def transport_url(self) -> str:
        """The URL for the transport, without credentials (those go separately)."""
        if self.scheme in (Scheme.HTTP, Scheme.HTTPS):
            port = f":{self.port}" if self.port is not None else ""
            return f"{self.scheme}://{self.host}{port}{self.path}"
        return self.safe()

    def __str__(self) -> str:
        return self.safe()


def parse_remote_url(url: str, *, auth_user: str = "", auth_key: str = "") -> RemoteUrl:
    """Parse ``url``; for http(s), ``auth_user``/``auth_key`` win over inline credentials."""
    url = url.strip()
    if not url:
        raise SettingsError("no git URL given", help="Set --git-url. " + _URL_HELP)
    parsed = _parse_scp_like(url) if "://" not in url else _parse_url(url, auth_user, auth_key)
    if parsed.host.startswith("-"):
        # ssh would read such a "host" as an option (e.g. -oProxyCommand=...).
        raise SettingsError(f"git URL {_redact(url)!r} has an invalid host", help=_URL_HELP)
    return parsed


def _parse_url(url: str, auth_user: str, auth_key: str) -> RemoteUrl:
    try:
        parts = urlsplit(url)
        scheme = Scheme(parts.scheme.lower())
        port = parts.port
    except ValueError as exc:
        raise SettingsError(f"unsupported git URL {_redact(url)!r}: {exc}", help=_URL_HELP) from exc
    if scheme is Scheme.FILE:
        if not parts.path:
            raise SettingsError(f"git URL {url!r} has no path", help=_URL_HELP)
        return RemoteUrl(scheme, path=unquote(parts.path))
    if not parts.hostname:
        raise SettingsError(f"git URL {_redact(url)!r} has no host", help=_URL_HELP)
    user = unquote(parts.username or "")
    password = unquote(parts.password or "")
    if scheme is Scheme.SSH:
        password = ""  # ssh authenticates with the deploy key only
    elif auth_user or auth_key:
        user, password = auth_user, auth_key
    return RemoteUrl(scheme, parts.hostname, port, user, password, parts.path or "/")


def _parse_scp_like(url: str) -> RemoteUrl:
    match = _SCP_LIKE.match(url)
    if match is None or not match["path"]:
        raise SettingsError(f"cannot read git URL {url!r}", help=_URL_HELP)
    host = match["host"].strip("[]")
    return RemoteUrl(
        Scheme.SSH, host=host, user=match["user"] or "", path=match["path"], scp_like=True
    )


def _redact(url: str) -> str:
    """``url`` with the password part of ``user:password@`` masked."""
    return re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", url)


class InvalidUrl(UserError):
    """A repository URL from a request (webhook, notification) cannot be read."""

    default_help = _URL_HELP


def repo_key(url: str) -> str:
    """``host/path`` in lower case, under which every URL of one repository compares equal.

    scp form, ssh://, git://, http(s):// (with or without credentials, port or
    ``.git``) all give the same key; this is how a webhook's URLs are matched
    against ``--git-url``. Raises ``InvalidUrl`` for text that is not a URL.
    """
    url = url.strip()
    if "://" in url:
        host, path = _host_and_path(url)
    elif (match := _SCP_LIKE.match(url)) is not None and match["path"]:
        host, path = match["host"].strip("[]"), match["path"]
    else:
        raise InvalidUrl(f"{_redact(url)[:200]!r} is not a repository URL")
    path = path.strip("/").removesuffix(".git").strip("/")
    # Bitbucket Server serves HTTP clones under /scm/ but SSH ones without it.
    path = path.removeprefix("scm/")
    return f"{host.lower()}/{path.lower()}"


def _host_and_path(url: str) -> tuple[str, str]:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (read for its check: a port out of range raises)
    except ValueError as exc:
        raise InvalidUrl(f"cannot read repository URL {_redact(url)[:200]!r}: {exc}") from exc
    if not parts.hostname and parts.scheme.lower() != "file":
        raise InvalidUrl(f"repository URL {_redact(url)[:200]!r} has no host")
    return parts.hostname or "", parts.path
