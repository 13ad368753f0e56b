"""The documentation stays true to the code: every fluxd flag is described,
nothing described is gone, links resolve, and the walkthrough's commands are
the ones the user types."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fluxd.flags import FLAGS, build_parser
from fluxd.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
DAEMON_REFERENCE = DOCS / "references" / "daemon.md"


def _fluxd_options() -> set[str]:
    return {opt for action in build_parser()._actions for opt in action.option_strings}


def _mentions(text: str, option: str) -> bool:
    # `--listen` must not be found inside `--listen-metrics`.
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text) is not None


def test_every_fluxd_flag_is_in_the_daemon_reference() -> None:
    text = DAEMON_REFERENCE.read_text()
    missing = sorted(opt for opt in _fluxd_options() if not _mentions(text, opt))
    assert missing == [], f"describe these in {DAEMON_REFERENCE.relative_to(ROOT)}"


def test_the_daemon_reference_describes_no_flag_fluxd_lacks() -> None:
    options = _fluxd_options()
    rows = [line for line in DAEMON_REFERENCE.read_text().splitlines() if line.startswith("| `-")]
    assert rows
    for row in rows:
        first_cell = row.split("|")[1]
        for option in re.findall(r"`(-{1,2}[\w-]+)`", first_cell):
            assert option in options, f"{option} is documented but fluxd has no such flag"


def _markdown_files() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


@pytest.mark.parametrize("page", _markdown_files(), ids=lambda p: str(p.relative_to(DOCS)))
def test_relative_links_resolve(page: Path) -> None:
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = target.split("#", 1)[0]
        assert (page.parent / path).exists(), f"{page.name}: broken link {target}"


WALKTHROUGH_COMMANDS = [
    "kubectl apply -f deploy",
    "fluxctl identity --k8s-fwd-ns flux",
    "kubectl delete secret -n flux flux-git-deploy",
    "kubectl create secret -n flux generic flux-git-deploy --from-file=identity=./git_ssh_key",
    "fluxctl sync --k8s-fwd-ns flux",
    "kubectl get po,svc",
    "fluxctl list-workloads",
]


@pytest.mark.parametrize("page", ["getting-started.md", "getting-started.zh.md"])
def test_the_getting_started_pages_use_the_walkthroughs_commands(page: str) -> None:
    text = (DOCS / page).read_text()
    for command in WALKTHROUGH_COMMANDS:
        assert command in text, f"{page} lacks: {command}"
    for line in (
        "Synchronizing with ",
        "Revision of master to apply is ",
        "Waiting for ",
        "Done.",
    ):
        assert line in text, f"{page} lacks the sync output line {line!r}"


def test_the_troubleshooting_page_covers_every_git_status() -> None:
    text = (DOCS / "troubleshooting.md").read_text()
    for status in ("unconfigured", "new", "cloned", "unreachable", "not ready to sync"):
        assert f"`{status}`" in text or status in text, status


def _cli_reference() -> str:
    return (DOCS / "references" / "cli.md").read_text()


def test_every_fluxctl_command_and_option_is_in_the_cli_reference() -> None:
    import click

    from fluxctl.main import all_commands, cli

    reference = _cli_reference()
    missing: list[str] = []
    for param in cli.params:
        missing += [f"global {o}" for o in param.opts if f"`{o}`" not in reference]
    for name, command in all_commands().items():
        if f"fluxctl {name}" not in reference:
            missing.append(f"command {name}")
        for param in command.params:
            if isinstance(param, click.Option):
                missing += [f"{name} {o}" for o in param.opts if f"`{o}`" not in reference]
    assert missing == []


def test_every_api_route_is_in_the_api_reference() -> None:
    from prometheus_client import CollectorRegistry

    from fluxd.api.app import create_app
    from fluxd.settings import ApiSettings

    app = create_app(
        object(),  # type: ignore[arg-type]
        settings=ApiSettings(),
        registry=CollectorRegistry(),
        status=object(),  # type: ignore[arg-type]
    )
    reference = (DOCS / "references" / "api.md").read_text()
    routes = sorted({path.removeprefix("/api/flux") for path in app.openapi()["paths"]})
    assert {"/v9/git-repo-config", "/v11/diff"} <= set(routes) and len(routes) > 10
    missing = [path for path in routes if path not in reference]
    assert missing == []


def _reference_defaults() -> dict[str, str]:
    """The Default cell of each flag row of the daemon reference, by option."""
    cells: dict[str, str] = {}
    for row in DAEMON_REFERENCE.read_text().splitlines():
        if row.startswith("| `-"):
            parts = row.split("|")
            for option in re.findall(r"`(-{1,2}[\w-]+)`", parts[1]):
                cells[option] = parts[2].strip()
    return cells


def test_the_daemon_reference_shows_the_defaults_the_settings_use() -> None:
    documented = _reference_defaults()
    defaults = Settings()
    for flag in FLAGS:
        value = flag.default(defaults)
        if len(flag.fills) != 1 or value is None or value in ("", ()):
            continue
        shown = f"`{flag.show(value)}`"
        assert shown in documented[flag.name], f"{flag.name}: the reference should say {shown}"
