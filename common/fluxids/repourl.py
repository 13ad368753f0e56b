"""Repository URLs in the forms git reads them.

``ssh://[user@]host[:port]/path``, the scp-like ``[user@]host:path`` that git
hosts print (``git@github.com:owner/repo.git``), ``http(s)://`` with or
without credentials, ``git://`` and ``file://``. fluxd reads ``--git-url``
and the URLs a webhook names with this one parser; fluxctl reads the host
of the URL fluxd reports. A password never shows in ``str()``, ``repr()``
or an error message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Self
from urllib.parse import quote, unquote, urlsplit


class Scheme(StrEnum):
    SSH = "ssh"
    HTTP = "http"
    HTTPS = "https"
    FILE = "file"
    GIT = "git"


# git's rule: "host:path" is scp-like only if no slash comes before the colon.
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/:]+)@)?(?P<host>[^@/:\[\]]+|\[[^\]]+\]):(?P<path>.*)$")
_SCHEMES = {scheme.value: scheme for scheme in Scheme}


@dataclass(frozen=True, slots=True)
class RepoUrl:
    """A parsed repository URL; ``scheme`` is a ``Scheme`` when it is one we know."""

    scheme: str
    host: str = ""
    port: int | None = None
    user: str = ""
    password: str = field(default="", repr=False)
    path: str = ""
    scp_like: bool = False

    @classmethod
    def parse(cls, text: str) -> Self:
        """Read ``text``; ``ValueError`` saying why not (with any password masked)."""
        text = text.strip()
        if "://" in text:
            return cls._parse_url(text)
        match = _SCP_LIKE.match(text)
        if match is None or not match["path"]:
            raise ValueError(f"{redact(text)[:200]!r} is not a repository URL")
        host = match["host"].strip("[]")
        return cls(Scheme.SSH, host, None, match["user"] or "", "", match["path"], True)

    @classmethod
    def _parse_url(cls, text: str) -> Self:
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"cannot read repository URL {redact(text)[:200]!r}: {exc}") from exc
        scheme = parts.scheme.lower()
        if scheme == Scheme.FILE:
            return cls(Scheme.FILE, path=unquote(parts.path))
        if not parts.hostname:
            raise ValueError(f"repository URL {redact(text)[:200]!r} has no host")
        user, password = unquote(parts.username or ""), unquote(parts.password or "")
        return cls(
            _SCHEMES.get(scheme, scheme), parts.hostname, port, user, password, parts.path or "/"
        )

    @property
    def key(self) -> str:
        """``host/path`` in lower case, under which every URL of one repository compares equal.

        scp form, ssh://, git://, http(s):// (with or without credentials,
        port or ``.git``) all give the same key: this is how a webhook's URLs
        are matched against ``--git-url``.
        """
        path = self.path.strip("/").removesuffix(".git").strip("/")
        # Bitbucket Server serves HTTP clones under /scm/ but SSH ones without it.
        path = path.removeprefix("scm/")
        return f"{self.host.lower()}/{path.lower()}"

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


def redact(url: str) -> str:
    """``url`` with the password part of ``user:password@`` masked."""
    return re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", url)
