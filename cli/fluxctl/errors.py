"""Every error fluxctl reports on purpose, with the exit code a script can test.

Foreign exceptions (httpx, the Kubernetes client, sockets) are translated into
these where fluxctl talks to the foreign library (``client.py``,
``portforward.py``), so the rest of the CLI never sees them and a user never
sees a traceback for a problem they can fix.

    CliError (click.ClickException)            exit 1
    ├── ClusterAccessError    no kubeconfig, API server refused or unreachable
    │   ├── KubeconfigError   a kubeconfig file cannot be read or used
    │   └── ForbiddenError    RBAC denies a verb fluxctl needs
    ├── DaemonApiError        fluxd answered with a {type, help, error} body
    ├── WaitTimeout           --timeout passed while waiting for a job or an apply
    ├── SyncFailed            the revision was applied but resources failed
    │   └── DeletionsHeld     ... or the deletion guard held garbage collection back
    └── DaemonNotReached                       exit 3
        ├── PodNotFound       no running pod matches the selectors
        ├── AmbiguousPod      several running pods match
        ├── PodNotReady       matching pods exist, none is running yet
        └── DaemonUnreachable the connection to fluxd failed

Usage errors are click's own ``UsageError`` (exit 2).
"""

from __future__ import annotations

from typing import IO

import click

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


class CliError(click.ClickException):
    """An expected failure: print ``Error: <message>`` and an optional hint."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint

    def show(self, file: IO[str] | None = None) -> None:
        click.echo(self.render(), file=file, err=file is None)

    def render(self) -> str:
        text = f"Error: {self.message}"
        if self.hint:
            text += f"\n\n{self.hint}"
        return text


class ClusterAccessError(CliError):
    """The Kubernetes API could not be used to find or reach fluxd."""


class KubeconfigError(ClusterAccessError):
    """A kubeconfig file is unreadable, malformed, or lacks what the context needs."""


class ForbiddenError(ClusterAccessError):
    """RBAC denies a request fluxctl has to make."""


class DaemonApiError(CliError):
    """fluxd refused a request; it says why and what to do in ``help``."""

    def __init__(self, message: str, *, help: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.help = help
        self.status = status

    def render(self) -> str:
        # Flux v1 printed only the help, because its daemon put the message in
        # the help too; ours may not, so the message is added when missing.
        if not self.help:
            return f"Error: {self.message}"
        if self.message and self.message not in self.help:
            return f"== Error ==\n\n{self.message}\n\n{self.help}"
        return f"== Error ==\n\n{self.help}"


class WaitTimeout(CliError):
    """``--timeout`` passed before the awaited state was reached."""


class SyncFailed(CliError):
    """The revision was applied, but some resources failed."""


class DeletionsHeld(SyncFailed):
    """The revision was applied, but fluxd's deletion guard held its deletions back."""


class DaemonNotReached(CliError):
    """fluxctl could not find or connect to a fluxd."""

    exit_code = EXIT_UNREACHABLE


class PodNotFound(DaemonNotReached):
    """No running pod matched any selector."""


class AmbiguousPod(DaemonNotReached):
    """More than one running pod matched a selector."""


class PodNotReady(DaemonNotReached):
    """Pods matched, but none is running yet (Pending, or Terminating)."""


class DaemonUnreachable(DaemonNotReached):
    """The HTTP connection to fluxd failed."""
