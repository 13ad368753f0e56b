"""Why a git operation failed, in words that say what to do about it.

A failure reaches us as a dulwich exception plus whatever ssh or the remote
git wrote to stderr. ``explain`` turns both into a ``GitRemoteError`` whose
``cause`` drives the repo status (``unreachable`` for network trouble) and
whose help text names the fix. The texts matched are OpenSSH's, git's and the
big hosts' own messages; anything unrecognised keeps its original wording.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Callable
from enum import StrEnum

from dulwich.client import HTTPUnauthorized
from dulwich.errors import NotGitRepository, SendPackError

from fluxd.errors import GitError
from fluxd.git.urls import RemoteUrl


class Cause(StrEnum):
    HOST_KEY_UNKNOWN = "host key unknown"
    HOST_KEY_CHANGED = "host key changed"
    KEY_FILE_UNUSABLE = "key file unusable"
    NO_KEY = "no key"
    KEY_REJECTED = "key rejected"
    CREDENTIALS_REJECTED = "credentials rejected"
    HOST_UNRESOLVABLE = "host unresolvable"
    CONNECTION_FAILED = "connection failed"
    TIMEOUT = "timeout"
    REPO_NOT_FOUND = "repo not found"
    BRANCH_MISSING = "branch missing"
    PUSH_REFUSED = "push refused"
    DISK_FULL = "local disk full"
    OTHER = "other"


NETWORK_CAUSES = frozenset({Cause.HOST_UNRESOLVABLE, Cause.CONNECTION_FAILED, Cause.TIMEOUT})


class GitRemoteError(GitError):
    """A git operation against the remote failed for ``cause``."""

    def __init__(self, cause: Cause, message: str, *, help: str | None = None) -> None:
        super().__init__(message, help=help)
        self.cause = cause

    @property
    def unreachable(self) -> bool:
        return self.cause in NETWORK_CAUSES


def _rules(*pairs: tuple[Cause, str]) -> tuple[tuple[Cause, re.Pattern[str]], ...]:
    return tuple((cause, re.compile(pattern, re.IGNORECASE)) for cause, pattern in pairs)


# Checked in order: the first pattern found in the text decides. Host-key
# problems come first because ssh also says "Permission denied" after them.
_TRANSPORT_RULES = _rules(
    (Cause.HOST_KEY_CHANGED, r"host identification has changed|host key for .* has changed"),
    (Cause.HOST_KEY_UNKNOWN, r"host key is known for|host key verification failed"),
    (Cause.KEY_FILE_UNUSABLE, r"unprotected private key|load key .*:|no such identity"),
    (
        Cause.HOST_UNRESOLVABLE,
        r"could not resolve host|name or service not known|failed to resolve"
        r"|temporary failure in name resolution|nodename nor servname",
    ),
    (Cause.TIMEOUT, r"timed out|timeout"),
    (
        Cause.CONNECTION_FAILED,
        r"connection refused|no route to host|network is unreachable"
        r"|failed to establish a new connection|connection reset",
    ),
    (Cause.KEY_REJECTED, r"permission denied \(publickey"),
)
# Checked after the push-specific patterns: a refused push may also say "denied".
_SERVER_RULES = _rules(
    (
        Cause.REPO_NOT_FOUND,
        r"does not appear to be a git repository|repository not found|could not be found"
        r"|repository .*does not exist|no such repository|not a git repository",
    ),
    (Cause.CREDENTIALS_REJECTED, r"authentication failed|http resp 40[13]"),
)
# Only when pushing: how servers say "you may read but not write".
_PUSH_REFUSED = re.compile(
    r"read[- ]only|write access|permission to .* denied|denied to|unexpected http resp 403"
    r"|unpack|failed to lock|hook declined|insufficient permission|not allowed|forbidden",
    re.IGNORECASE,
)


def classify(text: str, *, pushing: bool = False) -> Cause:
    """The cause named by an error text (ssh/git stderr plus the exception)."""
    for cause, pattern in _TRANSPORT_RULES:
        if pattern.search(text):
            return cause
    if pushing and _PUSH_REFUSED.search(text):
        return Cause.PUSH_REFUSED
    for cause, pattern in _SERVER_RULES:
        if pattern.search(text):
            return cause
    return Cause.OTHER


def explain(
    exc: BaseException, remote: RemoteUrl, stderr: str = "", *, pushing: bool = False
) -> GitRemoteError:
    """Turn a transport failure into the error we show."""
    if isinstance(exc, GitRemoteError):
        return exc
    text = f"{stderr}\n{exc}"
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL_ERRNOS:
        # Our own disk, not the remote's: only a local write raises OSError.
        cause = Cause.DISK_FULL
    elif isinstance(exc, HTTPUnauthorized):
        cause = Cause.CREDENTIALS_REJECTED
    elif isinstance(exc, SendPackError):
        cause = Cause.PUSH_REFUSED
    elif isinstance(exc, NotGitRepository) and not stderr.strip():
        cause = Cause.REPO_NOT_FOUND
    else:
        cause = classify(text, pushing=pushing)
    return remote_error(cause, remote, detail=_detail(cause, stderr, exc, remote))


_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def remote_error(cause: Cause, remote: RemoteUrl, detail: str = "") -> GitRemoteError:
    """The error for ``cause`` with the message and help text for ``remote``."""
    message, help = _TEXTS[cause](remote)
    if detail:
        message = f"{message}: {detail}"
    return GitRemoteError(cause, message, help=help)


def branch_missing(branch: str, remote: RemoteUrl) -> GitRemoteError:
    return GitRemoteError(
        Cause.BRANCH_MISSING,
        f"configured branch '{branch}' does not exist in {remote.safe()}",
        help="Push the branch, or set --git-branch to a branch that exists.",
    )


def _detail(cause: Cause, stderr: str, exc: BaseException, remote: RemoteUrl) -> str:
    """The most telling line: the one that shows the cause, else the last words."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith(("@", "Warning: Permanently added"))]
    lines += [ln.strip() for ln in _exception_text(exc).splitlines() if ln.strip()]
    pattern = _PATTERNS.get(cause)
    matching = [ln for ln in lines if pattern is not None and pattern.search(ln)]
    text = (matching or lines or [""])[-1 if not matching else 0]
    if cause is Cause.HOST_KEY_CHANGED and (offered := _FINGERPRINT.search(stderr)):
        text += f" (the host offered {offered[0].rstrip('.')})"
    if remote.password:
        text = text.replace(remote.password, "***")
    return text.removeprefix("fatal: ").removeprefix("ERROR: ")


def _exception_text(exc: BaseException) -> str:
    # dulwich puts raw bytes from the server into some exceptions.
    parts = [a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a) for a in exc.args]
    return " ".join(p for p in parts if p)


_PATTERNS = {cause: pattern for cause, pattern in (*_TRANSPORT_RULES, *_SERVER_RULES)}
_PATTERNS[Cause.PUSH_REFUSED] = _PUSH_REFUSED
_FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/=]+")


def _host(remote: RemoteUrl) -> str:
    return remote.host_for_known_hosts


def _scan_command(remote: RemoteUrl) -> str:
    port = f"-p {remote.port} " if remote.port not in (None, 22) else ""
    return f"ssh-keyscan {port}{remote.host}"


_KEY_HELP = (
    "Run 'fluxctl identity' and add the key as a deploy key with write access "
    "to the repository (or to an account that can read and write it)."
)

_TEXTS: dict[Cause, Callable[[RemoteUrl], tuple[str, str]]] = {
    Cause.HOST_KEY_UNKNOWN: lambda r: (
        f"the SSH host key of {_host(r)} is not known, so fluxd will not connect",
        f"Add the host's public key to a known_hosts file passed with --ssh-known-hosts "
        f"(get it with '{_scan_command(r)}' and compare its fingerprint with the one "
        f"your git host publishes), or start fluxd with --ssh-known-hosts-scan to trust "
        f"it on first use.",
    ),
    Cause.HOST_KEY_CHANGED: lambda r: (
        f"the SSH host key of {_host(r)} has CHANGED: it does not match known_hosts",
        f"Either {r.host} replaced its key or someone is intercepting the connection. "
        f"Check the fingerprint your git host publishes; if it is the new key, replace the "
        f"old line for {_host(r)} in the --ssh-known-hosts file.",
    ),
    Cause.KEY_FILE_UNUSABLE: lambda r: (
        "ssh cannot use fluxd's private key file",
        "Check Secret flux-git-deploy: its 'identity' entry must hold an unencrypted "
        "OpenSSH or PEM private key.",
    ),
    Cause.NO_KEY: lambda r: (
        "fluxd has no SSH key to authenticate with yet",
        "fluxd makes or loads its key at start; check its logs for an identity error "
        "and Secret flux-git-deploy.",
    ),
    Cause.KEY_REJECTED: lambda r: (
        f"{r.host} refused fluxd's SSH key (permission denied)",
        _KEY_HELP,
    ),
    Cause.CREDENTIALS_REJECTED: lambda r: (
        f"{r.host} refused the HTTPS credentials for {r.safe()}",
        "Check GIT_AUTHUSER and GIT_AUTHKEY (a token with read and write access to the "
        "repository).",
    ),
    Cause.HOST_UNRESOLVABLE: lambda r: (
        f"could not resolve host {r.host}",
        "Check the host name in --git-url, and the DNS of the pod.",
    ),
    Cause.CONNECTION_FAILED: lambda r: (
        f"could not connect to {_host(r)}",
        "Check the host and port in --git-url, and that the network lets fluxd reach them.",
    ),
    Cause.TIMEOUT: lambda r: (
        f"timed out talking to {_host(r)}",
        "Check that the git host is reachable from the pod; raise --git-timeout if it is slow.",
    ),
    Cause.REPO_NOT_FOUND: lambda r: (
        f"repository {r.safe()} not found",
        "Check --git-url. Git hosts also answer 'not found' when the key or account may not "
        "read the repository: " + _KEY_HELP,
    ),
    Cause.PUSH_REFUSED: lambda r: (
        f"no write access to {r.safe()}: pushing was refused",
        "fluxd pushes its sync tag to the repository. " + _KEY_HELP + " If fluxd should "
        "never write, start it with --git-readonly.",
    ),
    Cause.DISK_FULL: lambda r: (
        f"no space left on the disk of fluxd's local mirror of {r.safe()}",
        "Free space on the volume of fluxd's temp dir (TMPDIR; in the pod, give its "
        "emptyDir or node disk more room). Nothing was applied or deleted; fluxd fetches "
        "again by itself once there is space.",
    ),
    Cause.OTHER: lambda r: (
        f"git operation on {r.safe()} failed",
        "Check --git-url, the deploy key ('fluxctl identity') and the fluxd logs.",
    ),
}
