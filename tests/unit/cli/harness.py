"""Running fluxctl in-process, as a test sees it."""

from __future__ import annotations

from dataclasses import dataclass

from click.testing import CliRunner, Result

from fluxctl.main import cli

# Every variable fluxctl reads, unset, so the caller's shell cannot leak in.
CLEAN_ENV: dict[str, str | None] = {
    "KUBERNETES_SERVICE_HOST": None,
    "FLUX_URL": None,
    "FLUX_FORWARD_NAMESPACE": None,
    "FLUX_FORWARD_LABELS": None,
    "FLUX_TIMEOUT": None,
    "FLUX_SERVICE_TOKEN": None,
}


@dataclass
class Fluxctl:
    """Runs ``fluxctl`` with ``env`` on top of the test process's environment."""

    env: dict[str, str | None]

    def __call__(
        self, *args: str, env: dict[str, str | None] | None = None, input: str | None = None
    ) -> Result:
        runner = CliRunner()
        merged = {**self.env, **(env or {})}
        return runner.invoke(cli, list(args), env=merged, prog_name="fluxctl", input=input)
