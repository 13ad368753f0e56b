"""The global options and the lazily built API client that commands share.

Building the client may mean finding a pod and opening a port-forward, so it
happens only when a command first asks for it: ``--help``, ``version`` and
``completion`` never touch the cluster.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from fluxctl.kubeconfig import context_namespace

if TYPE_CHECKING:
    from fluxctl.client import FluxClient

DEFAULT_FORWARD_NAMESPACE = "default"
DEFAULT_FORWARD_LABELS = "app=flux"
DEFAULT_TIMEOUT = 60.0


@dataclass
class Session:
    """What the global flags say, plus the client once it exists."""

    context: str = ""
    forward_namespace: str = DEFAULT_FORWARD_NAMESPACE
    forward_selector: str = DEFAULT_FORWARD_LABELS
    url: str = ""
    token: str = ""
    timeout: float = DEFAULT_TIMEOUT
    pod_name: str = ""  # set once a port-forward found the pod
    _client: FluxClient | None = field(default=None, repr=False)
    _cleanups: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def client(self) -> FluxClient:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def close(self) -> None:
        while self._cleanups:
            self._cleanups.pop()()

    def default_namespace(self) -> str:
        """The namespace workload commands use when ``-n`` is not given."""
        namespace, warning = context_namespace(self.context)
        if warning:
            click.echo(f"Warning: {warning} (pass --namespace to choose one).", err=True)
        return namespace

    def command_hint(self, command: str) -> str:
        """``fluxctl <command>`` with the connection flags the user gave, to quote in hints."""
        words = ["fluxctl", command]
        if self.url:
            words += ["--url", self.url]
        elif self.forward_namespace != DEFAULT_FORWARD_NAMESPACE:
            words += ["--k8s-fwd-ns", self.forward_namespace]
        if self.context:
            words += ["--context", self.context]
        return shlex.join(words)

    def logs_hint(self) -> str:
        """Where to read fluxd's logs, as precisely as this session knows."""
        if self.pod_name:
            return f"kubectl -n {self.forward_namespace} logs {self.pod_name}"
        return "the fluxd logs"

    def _connect(self) -> FluxClient:
        # Imported here, like the port-forward below: the HTTP client and the
        # answers' decoder are a large part of start-up, which --help and
        # shell completion (run on every TAB) should not pay for.
        from fluxctl.client import FluxClient

        if self.url:
            return self._register(FluxClient(self.url, token=self.token, timeout=self.timeout))
        from fluxctl.portforward import open_forward

        forward = open_forward(
            context=self.context,
            namespace=self.forward_namespace,
            selector=self.forward_selector,
            timeout=self.timeout,
        )
        self._cleanups.append(forward.close)
        self.pod_name = forward.pod.name
        client = FluxClient(
            forward.url,
            token=self.token,
            timeout=self.timeout,
            trust_env=False,  # a proxy must never see the local forward
            diagnose=forward.diagnose,
            unreachable_hint=(
                f"The pod was found, but nothing answered on its port 3030. "
                f"Check that fluxd is running in it: {self.logs_hint()}"
            ),
        )
        return self._register(client)

    def _register(self, client: FluxClient) -> FluxClient:
        self._cleanups.append(client.close)
        return client


pass_session = click.make_pass_decorator(Session)
