"""``fluxctl install``: print deploy/'s manifests, filled in for one repository and namespace.

The manifests are the ones in the repository's deploy/ directory (shipped
inside the package as ``fluxctl/deploy``), edited line by line so their
comments stay: the namespace, fluxd's git arguments, and optionally the
security contexts. Flux v1's flags are kept; the ones for features fluxd
does not have are refused or noted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import click

from fluxctl.errors import CliError
from fluxctl.kubeconfig import context_namespace
from fluxctl.params import Namespace

#: deploy/'s files in the order ``kubectl apply -f`` reads them; flux-ns.yaml's
#: Namespace is also the first object of flux-account.yaml.
FILES = ("flux-account.yaml", "flux-secret.yaml", "flux-deployment.yaml")
_PACKAGED = Path(__file__).resolve().parents[1] / "deploy"
_CHECKOUT = Path(__file__).resolve().parents[3] / "deploy"
_PLAIN = re.compile(r"^[A-Za-z0-9@._/+=,:~-][A-Za-z0-9@._/+=,:~ -]*$")


@dataclass
class InstallValues:
    git_url: str
    git_email: str
    namespace: str
    git_branch: str = "master"
    git_paths: list[str] = field(default_factory=list)
    git_label: str = "flux"
    git_user: str = "Flux"
    git_readonly: bool = False
    security_context: bool = True


def manifests_dir() -> Path:
    for candidate in (_PACKAGED, _CHECKOUT):
        if all((candidate / name).is_file() for name in FILES):
            return candidate
    raise CliError(
        "the deploy manifests are missing from this installation of fluxctl",
        hint=f"Reinstall fluxctl; it looks for {', '.join(FILES)} in {_PACKAGED}.",
    )


def _arg(flag: str, value: str) -> str:
    text = f"{flag}={value}"
    return text if _PLAIN.match(text) and not text.endswith(" ") else json.dumps(text)


def render(text: str, values: InstallValues) -> str:
    """One deploy/ file with ``values`` filled in."""
    args = {
        "--git-url": values.git_url,
        "--git-branch": values.git_branch,
        "--git-label": values.git_label,
        "--git-user": values.git_user,
        "--git-email": values.git_email,
    }
    lines: list[str] = []
    in_namespace_object = False
    for line in text.splitlines():
        if line.startswith("kind:"):
            in_namespace_object = line.strip() == "kind: Namespace"
        indent = line[: len(line) - len(line.lstrip())]
        body = line.strip()
        if body == "namespace: flux" or (in_namespace_object and line == "  name: flux"):
            line = f"{indent}{body.split(':')[0]}: {values.namespace}"
        flag = body.removeprefix("- ").split("=", 1)[0]
        if body.startswith("- --") and flag in args:
            line = f"{indent}- {_arg(flag, args[flag])}"
        elif body.startswith("# - --git-path=") and values.git_paths:
            line = f"{indent}- {_arg('--git-path', ','.join(values.git_paths))}"
        elif body == "# - --git-readonly" and values.git_readonly:
            line = f"{indent}- --git-readonly"
        lines.append(line)
    if not values.security_context:
        lines = list(_without_blocks(lines, "securityContext:"))
    return "\n".join(lines) + "\n"


def _without_blocks(lines: list[str], key: str) -> Iterator[str]:
    """``lines`` without each ``key`` and the lines indented below it."""
    skipping_below: int | None = None
    for line in lines:
        indent = len(line) - len(line.lstrip())
        if skipping_below is not None:
            if not line.strip() or indent > skipping_below or line.lstrip().startswith("#"):
                continue
            skipping_below = None
        if line.strip() == key:
            skipping_below = indent
            continue
        yield line


def rendered(values: InstallValues) -> list[tuple[str, str]]:
    source = manifests_dir()
    return [(name, render((source / name).read_text(encoding="utf-8"), values)) for name in FILES]


@click.command("install")
@click.option(
    "--git-url",
    default="",
    help="URL of the git repository fluxd syncs, e.g. "
    "git@github.com:<your username>/flux-get-started.",
)
@click.option("--git-branch", default="master", show_default=True, help="Branch to sync.")
@click.option(
    "--git-path",
    "git_paths",
    multiple=True,
    help="Directory in the repository holding the manifests (repeatable or "
    "comma-separated; default: the whole repository).",
)
@click.option(
    "--git-paths", "old_git_paths", multiple=True, hidden=True, help="Deprecated: use --git-path."
)
@click.option(
    "--git-label",
    default="flux",
    show_default=True,
    help="Tag that marks the revision fluxd applied.",
)
@click.option("--git-user", default="Flux", show_default=True, help="Committer name.")
@click.option("--git-email", default="", help="Committer email (required).")
@click.option("--git-readonly", is_flag=True, help="fluxd may only read the repository.")
@click.option(
    "--manifest-generation",
    is_flag=True,
    help="Not supported: fluxd does not run .flux.yaml generators.",
)
@click.option(
    "--namespace",
    type=Namespace(),
    default="",
    help="Namespace to install fluxd into (default: the kube context's namespace, else default).",
)
@click.option(
    "--registry-disable-scanning",
    is_flag=True,
    help="Accepted for Flux v1's scripts; fluxd does not scan registries anyway.",
)
@click.option(
    "-o",
    "--output-dir",
    default="",
    help="Write one file per manifest into this directory instead of stdout.",
)
@click.option(
    "--add-security-context",
    type=click.BOOL,
    default="true",
    show_default=True,
    is_flag=False,
    flag_value="true",
    help="Keep the pod's and container's security contexts (--add-security-context=false "
    "drops them).",
)
def install(
    git_url: str,
    git_branch: str,
    git_paths: tuple[str, ...],
    old_git_paths: tuple[str, ...],
    git_label: str,
    git_user: str,
    git_email: str,
    git_readonly: bool,
    manifest_generation: bool,
    namespace: str,
    registry_disable_scanning: bool,
    output_dir: str,
    add_security_context: bool,
) -> None:
    """Print the Kubernetes manifests that install fluxd, for one git repository.

    \b
    Example:
      fluxctl install --git-url 'git@github.com:<your username>/flux-get-started' \\
        --git-email=<your_git_email> --namespace=flux | kubectl apply -f -
    """
    _check(git_url, git_email, manifest_generation)
    paths = [p.strip() for v in git_paths + old_git_paths for p in v.split(",") if p.strip()]
    values = InstallValues(
        git_url=git_url.strip(), git_email=git_email.strip(),
        namespace=namespace or context_namespace("")[0], git_branch=git_branch,
        git_paths=paths, git_label=git_label, git_user=git_user, git_readonly=git_readonly,
        security_context=add_security_context,
    )  # fmt: skip
    write(rendered(values), output_dir)


def _check(git_url: str, git_email: str, manifest_generation: bool) -> None:
    if not git_url.strip():
        raise click.UsageError("please supply a valid --git-url argument")
    if not git_email.strip():
        raise click.UsageError("please supply a valid --git-email argument")
    if manifest_generation:
        raise click.UsageError(
            "--manifest-generation: fluxd does not support .flux.yaml manifest generation; "
            "render the manifests (e.g. kustomize build) in CI and commit the output"
        )


def write(manifests: list[tuple[str, str]], output_dir: str) -> None:
    if not output_dir:
        click.echo("---\n".join(text for _, text in manifests), nl=False)
        return
    directory = Path(output_dir)
    if not directory.is_dir():
        raise CliError(f"{output_dir} is not a directory")
    for name, text in manifests:
        path = directory / name
        click.echo(f"writing {path}", err=True)
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot output manifest file {name}: {exc.strerror or exc}") from exc
