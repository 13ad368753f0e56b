"""What describes a fluxd flag, how its values are read from text and how its
default reads in help. The flags themselves are in ``fluxd.flag_table``.

Each reader raises ``argparse.ArgumentTypeError`` with what was wrong, which
argparse turns into ``fluxd: argument --flag: ...``, naming the flag.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from fluxd.durations import format_duration, parse_duration
from fluxd.quantities import format_byte_size, parse_byte_size
from fluxd.settings import Settings

#: Deeper than this, Python's own stack (the YAML composer, the JSON encoder)
#: would give out before the limit does.
MAX_MANIFEST_DEPTH = 200

_TRUE = {"true", "1", "t", "yes", "y", "on"}
_FALSE = {"false", "0", "f", "no", "n", "off"}


def boolean(text: str) -> bool:
    """Go's boolean forms: true/false, 1/0, t/f, yes/no, y/n, on/off."""
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def retry_delay(text: str) -> float:
    """A duration of at least a second: retries sooner than that would hammer."""
    value = duration(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1s, got {text!r}")
    return value


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from exc


def count(text: str, *, least: int = 1, most: int | None = None) -> int:
    value = _whole(text)
    if value < least or (most is not None and value > most):
        wanted = f"from {least} to {most}" if most is not None else f"of at least {least}"
        raise argparse.ArgumentTypeError(f"expected a number {wanted}, got {value}")
    return value


def positive_int(text: str) -> int:
    return count(text)


def non_negative_int(text: str) -> int:
    return count(text, least=0)


def manifest_depth(text: str) -> int:
    return count(text, most=MAX_MANIFEST_DEPTH)


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from exc
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of at least 0, got {text}")
    return value


def percentage(text: str) -> float:
    """``50%`` or ``50`` -> 0.5; more than 0 and at most 100."""
    raw = text.strip().removesuffix("%").strip()
    try:
        value = float(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"expected a percentage such as 50%, got {text!r}"
        ) from exc
    if not 0 < value <= 100:
        raise argparse.ArgumentTypeError(
            f"expected a percentage above 0 and at most 100, got {text!r}"
        )
    return value / 100


def byte_size(text: str) -> int:
    try:
        value = parse_byte_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a size of at least 1 byte, got {text!r}")
    return value


def split(values: Sequence[str]) -> tuple[str, ...]:
    """Repeated and comma-separated list flags as one tuple, blanks dropped."""
    out: list[str] = []
    for value in values:
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return tuple(out)


def paths(values: Sequence[str]) -> tuple[Path, ...]:
    return tuple(Path(p) for p in split(values))


def optional_path(text: str) -> Path | None:
    return Path(text) if text else None


def file_text(path: str) -> str:
    """The stripped contents of a file named by a flag (a mounted Secret)."""
    if not path:
        return ""
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from exc


def show(value: Any) -> str:
    """A default as a person would type it on the command line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def show_duration(value: Any) -> str:
    return format_duration(float(value))


def show_byte_size(value: Any) -> str:
    return format_byte_size(int(value))


def show_list(value: Any) -> str:
    return ",".join(str(v) for v in value)


def show_percentage(value: Any) -> str:
    return f"{float(value) * 100:g}%"


@dataclass(frozen=True, slots=True)
class Flag:
    """One flag. ``fills`` names ``Settings`` fields (``group.field``); when
    several given flags fill one field, the one of higher ``rank`` wins."""

    name: str
    help: str
    fills: tuple[str, ...] = ()
    #: value: takes one value; bool: Go's forms, alone means true;
    #: list: repeatable; switch: no value at all.
    kind: Literal["value", "bool", "list", "switch"] = "value"
    read: Callable[[str], Any] | None = None
    choices: tuple[str, ...] | None = None
    #: What the parsed value becomes in the settings (a Path, an enum, ...).
    convert: Callable[[Any], Any] | None = None
    aliases: tuple[str, ...] = ()
    #: Another spelling accepted but not shown in the help (a deprecated one).
    hidden_alias: str | None = None
    #: Where the value comes from when the flag is not given (e.g. $KUBECONFIG).
    fallback: Callable[[Mapping[str, str]], str | None] | None = None
    show: Callable[[Any], str] = show
    #: How the default reads when it is not the whole story, ``{}`` being the value.
    default_text: str = "{}"
    #: Precedence among flags filling the same field: higher wins.
    rank: int = 0

    @property
    def dest(self) -> str:
        return self.name.removeprefix("--").replace("-", "_")

    @property
    def env(self) -> str:
        """The environment form, e.g. ``FLUXD_GIT_URL`` for ``--git-url``."""
        return "FLUXD_" + self.dest.upper()

    def default(self, settings: Settings) -> Any:
        """The value the daemon uses when neither flag nor environment sets it."""
        if not self.fills:
            return None
        value: Any = settings
        for part in self.fills[0].split("."):
            value = getattr(value, part)
        return value

    def help_text(self, settings: Settings) -> str:
        """The help with the default appended, escaped for argparse's %-formatting."""
        value = self.default(settings)
        text = self.help
        if value is not None and value not in ("", ()) and len(self.fills) == 1:
            text += f" (default {self.default_text.format(self.show(value))})"
        return text.replace("%", "%%")
