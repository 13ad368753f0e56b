"""The one error hierarchy of fluxd.

Every error a user or operator can meet is a ``FluxError`` carrying a ``help``
text that says what to do. Errors are grouped by who has to act, as Flux v1
did (``user``, ``missing``, ``server``), because the HTTP API turns that kind
into a status code and fluxctl prints the help.

    FluxError
    ├── UserError          the request or the configuration is wrong (422)
    │   ├── SettingsError  a flag or environment variable is malformed
    │   ├── ManifestError  a file in the repo cannot be loaded
    │   └── LimitError     a file costs more to read than a --manifest-max-* flag allows
    ├── MissingError       the thing asked for does not exist (404)
    └── ServerError        something on our side or the cluster's failed (500)
        ├── GitError       cloning, fetching or pushing failed
        ├── IdentityError  the SSH key cannot be read, made or stored
        └── ClusterError   the Kubernetes API refused or failed a request

Foreign exceptions (dulwich, kubernetes, OSError) are translated into these at
the module that talks to the foreign library, with ``raise ... from exc``.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    """Who has to act; mapped to HTTP status codes by the API."""

    USER = "user"
    MISSING = "missing"
    SERVER = "server"


class FluxError(Exception):
    """Root of every error fluxd raises on purpose."""

    kind: ErrorKind = ErrorKind.SERVER
    default_help = (
        "We don't have a specific help message for the error above. "
        "Check the fluxd logs for more detail."
    )

    def __init__(self, message: str, *, help: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.help = help or self.default_help

    def __str__(self) -> str:
        return self.message


class UserError(FluxError):
    """The request or the configuration is wrong; the user has to change it."""

    kind = ErrorKind.USER
    default_help = "Correct the input named above and try again."


class SettingsError(UserError):
    """A flag or environment variable of fluxd is malformed."""

    default_help = "Run 'fluxd --help' for the list of flags and their formats."


class ManifestError(UserError):
    """A manifest file in the repository cannot be loaded."""

    def __init__(
        self,
        message: str,
        *,
        path: str,
        document: int | None = None,
        line: int | None = None,
        help: str | None = None,
    ) -> None:
        where = path
        if document is not None:
            where += f" (document {document}"
            where += f", line {line})" if line is not None else ")"
        elif line is not None:
            where += f" (line {line})"
        super().__init__(
            f"{where}: {message}",
            help=help or "Fix the file in git and push; other files are still applied.",
        )
        self.path = path
        self.document = document
        self.line = line
        self.cause = message


class LimitError(UserError):
    """Reading a manifest file would cost more than one of fluxd's limits allows.

    Raised before the cost is paid (or as soon as it passes the limit), so a
    hostile or mistaken file cannot take fluxd's memory; the file then fails
    alone, like a malformed one.
    """

    def __init__(self, message: str, *, flag: str) -> None:
        super().__init__(
            f"{message} ({flag})",
            help=f"Split or shrink the file, or raise {flag} on fluxd; "
            "the other files are still applied.",
        )
        self.flag = flag


class MissingError(FluxError):
    """What was asked for does not exist."""

    kind = ErrorKind.MISSING
    default_help = "Check the name or ID you asked for."


class ServerError(FluxError):
    """fluxd or a system it depends on failed."""

    kind = ErrorKind.SERVER


class GitError(ServerError):
    """A git operation (clone, fetch, push, read) failed."""

    default_help = (
        "Check --git-url, that the deploy key printed by 'fluxctl identity' is "
        "registered with write access, and that the host key is in known_hosts."
    )


class IdentityError(ServerError):
    """The SSH identity cannot be read, generated or stored."""

    default_help = (
        "Check Secret flux-git-deploy: its 'identity' entry must hold an unencrypted "
        "OpenSSH or PEM private key."
    )


class ClusterError(ServerError):
    """The Kubernetes API refused or failed a request."""

    default_help = "Check that fluxd's ServiceAccount has the RBAC rights it needs."

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        help: str | None = None,
        transient: bool = False,
    ):
        super().__init__(message, help=help)
        self.status = status
        #: The API server was unreachable, overloaded or failing: trying again soon may work.
        self.transient = transient


class RegistryError(ServerError):
    """An image registry refused, failed or did not answer; shown per image."""

    default_help = (
        "fluxd retries the registry later. Check the image name, that the registry "
        "is reachable from fluxd, and the imagePullSecrets of the workload (or "
        "--docker-config) for its credentials."
    )

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        help: str | None = None,
    ) -> None:
        super().__init__(message, help=help)
        #: The HTTP status the registry answered (None: no answer).
        self.status = status
        #: Seconds the registry asked us to wait (a 429's Retry-After).
        self.retry_after = retry_after

    @property
    def throttled(self) -> bool:
        """Worth backing off for: a 429, a 5xx, or no answer at all."""
        return self.status is None or self.status == 429 or self.status >= 500
