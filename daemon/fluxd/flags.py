"""fluxd's command line: Flux v1's flag names, parsed into one ``Settings``.

The flags are declared in ``fluxd.flag_table``; this module turns that table
into a parser and the parsed values into settings. Every flag can also come
from the environment as ``FLUXD_<NAME>`` (dashes to underscores, upper case),
e.g. ``FLUXD_GIT_URL``; a flag on the command line wins. Booleans take Go's
forms: ``--git-readonly``, ``--git-readonly=true``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from fluxd import __version__
from fluxd.errors import SettingsError
from fluxd.flag_table import FLAGS, GROUPS, IGNORED_FLAGS, UNSUPPORTED_FLAGS
from fluxd.flag_values import Flag, boolean
from fluxd.settings import (
    ApiSettings,
    ClusterSettings,
    GitSettings,
    LeaderSettings,
    ManifestSettings,
    RegistrySettings,
    Settings,
    SshSettings,
    SyncSettings,
    SyncState,
)

__all__ = ["FLAGS", "IGNORED_FLAGS", "UNSUPPORTED_FLAGS", "build_parser", "parse", "split_address"]

_GROUP_TYPES: Mapping[str, type[Any]] = {
    "git": GitSettings,
    "ssh": SshSettings,
    "sync": SyncSettings,
    "cluster": ClusterSettings,
    "api": ApiSettings,
    "manifests": ManifestSettings,
    "registry": RegistrySettings,
    "leader": LeaderSettings,
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise SettingsError(f"fluxd: {message}")


def _add(container: argparse._ActionsContainer, flag: Flag, defaults: Settings) -> None:
    short = [a for a in flag.aliases if not a.startswith("--")]
    names = [*short, flag.name, *(a for a in flag.aliases if a not in short)]
    text = flag.help_text(defaults)
    if flag.kind == "switch":
        container.add_argument(*names, action="store_true", help=text)
        return
    options: dict[str, Any] = {"default": None, "dest": flag.dest, "help": text}
    if flag.kind == "bool":
        options.update(type=boolean, nargs="?", const=True)
    elif flag.kind == "list":
        options.update(action="append")
    if flag.read is not None:
        options["type"] = flag.read
    if flag.choices is not None:
        options["choices"] = list(flag.choices)
    container.add_argument(*names, **options)
    if flag.hidden_alias:
        hidden = {k: v for k, v in options.items() if k != "help"}
        container.add_argument(flag.hidden_alias, **hidden, help=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="fluxd",
        description="Keep a Kubernetes cluster equal to a git branch.",
        epilog="Every flag may also be set as FLUXD_<FLAG> in the environment, "
        "e.g. FLUXD_GIT_URL. HTTPS git credentials come from GIT_AUTHUSER and GIT_AUTHKEY.",
        allow_abbrev=False,
    )
    defaults = Settings()
    for title, flags in GROUPS:
        container = p if title is None else p.add_argument_group(title)
        for flag in flags:
            _add(container, flag, defaults)
    for name in IGNORED_FLAGS:
        p.add_argument(
            f"--{name}", nargs="?", const="", default=None, action="append", help=argparse.SUPPRESS
        )
    for name in UNSUPPORTED_FLAGS:
        p.add_argument(f"--{name}", nargs="?", const="true", default=None, help=argparse.SUPPRESS)
    return p


def _from_env(
    parser: argparse.ArgumentParser, env: Mapping[str, str], argv: Sequence[str]
) -> list[str]:
    """Turn FLUXD_* variables into command-line words for flags not given in argv."""
    given = {word.split("=", 1)[0] for word in argv if word.startswith("--")}
    words: list[str] = []
    for action in parser._actions:
        for opt in action.option_strings:
            if not opt.startswith("--") or given & set(action.option_strings):
                continue
            key = "FLUXD_" + opt[2:].replace("-", "_").upper()
            if key in env:
                words.append(f"{opt}={env[key]}")
    return words


def parse(argv: Sequence[str], env: Mapping[str, str] | None = None) -> tuple[Settings, list[str]]:
    """Settings from flags and environment, plus warnings to log at start."""
    env = os.environ if env is None else env
    parser = build_parser()
    ns = parser.parse_args([*_from_env(parser, env, argv), *argv])
    if ns.version:
        print(__version__)
        raise SystemExit(0)
    for name, why in UNSUPPORTED_FLAGS.items():
        value = getattr(ns, name.replace("-", "_"))
        if value is not None and value.lower() not in ("false", "0", "", "none"):
            raise SettingsError(
                f"fluxd: --{name}: {why}", help="Remove the flag from fluxd's args."
            )
    warnings = [
        f"flag --{n} is accepted for compatibility and ignored"
        for n in IGNORED_FLAGS
        if getattr(ns, n.replace("-", "_")) is not None
    ]
    return _settings(ns, env, warnings), warnings


def _value(flag: Flag, ns: argparse.Namespace, env: Mapping[str, str]) -> Any:
    """What the flag sets, or None when neither it nor its fallback is given."""
    raw = getattr(ns, flag.dest)
    if raw is None and flag.fallback is not None:
        raw = flag.fallback(env) or None
    if raw is None or flag.convert is None:
        return raw
    try:
        return flag.convert(raw)
    except ValueError as exc:
        raise SettingsError(f"fluxd: {flag.name}: {exc}") from exc


def _given(ns: argparse.Namespace, env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Settings fields by group ("" for top-level ones), only those set."""
    fields: dict[str, dict[str, Any]] = {"": {}, **{group: {} for group in _GROUP_TYPES}}
    for flag in sorted(FLAGS, key=lambda f: f.rank):
        value = _value(flag, ns, env)
        if value is None:
            continue
        for target in flag.fills:
            group, _, name = target.rpartition(".")
            fields[group][name] = value
    return fields


def _settings(ns: argparse.Namespace, env: Mapping[str, str], warnings: list[str]) -> Settings:
    fields = _given(ns, env)
    fields["git"].update(auth_user=env.get("GIT_AUTHUSER", ""), auth_key=env.get("GIT_AUTHKEY", ""))
    groups = {group: cls(**fields[group]) for group, cls in _GROUP_TYPES.items()}
    settings = Settings(**groups, **fields[""])
    for address, flag in (
        (settings.api.listen, "--listen"),
        (settings.api.listen_metrics, "--listen-metrics"),
        (settings.api.listen_webhook, "--listen-webhook"),
    ):
        if address:
            split_address(address, flag)
    _check_leader(settings.leader)
    sync = _sync_rules(settings, "state" in fields["sync"], warnings)
    return dataclasses.replace(settings, sync=sync)


def _check_leader(leader: LeaderSettings) -> None:
    """The timings must nest, or two replicas could both believe they lead."""
    if not 0 < leader.retry_period < leader.renew_deadline < leader.lease_duration:
        raise SettingsError(
            "fluxd: leader election needs --leader-elect-retry-period < "
            "--leader-elect-renew-deadline < --leader-elect-lease-duration "
            f"(got {leader.retry_period:g}s, {leader.renew_deadline:g}s, "
            f"{leader.lease_duration:g}s)",
            help="A leader must give up before its Lease expires for another to take "
            "over safely; the defaults are 2s, 10s and 15s.",
        )


def _sync_rules(settings: Settings, state_given: bool, warnings: list[str]) -> SyncSettings:
    """What one flag implies for another sync setting."""
    sync = settings.sync
    if sync.garbage_collection_dry:
        sync = dataclasses.replace(sync, garbage_collection=True)
    if settings.git.readonly and sync.state is SyncState.GIT:
        if state_given:
            warnings.append("--git-readonly forces --sync-state=secret")
        sync = dataclasses.replace(sync, state=SyncState.SECRET)
    return sync


def split_address(address: str, flag: str = "--listen") -> tuple[str, int]:
    """``host:port`` or ``:port`` -> (host, port); an empty host means all interfaces."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(
            f"fluxd: {flag} {address!r} is not an address",
            help=f"Use host:port or :port, e.g. {flag}=:3030 or {flag}=127.0.0.1:3030.",
        )
    return (host.strip("[]") or "0.0.0.0"), int(port)
