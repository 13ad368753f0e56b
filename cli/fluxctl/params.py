"""Option types that keep Flux v1's flag syntax (Go durations, label maps) and check URLs."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import click

from fluxids import NAMESPACE_HELP, is_dns_label

# Go's time.ParseDuration units, in seconds.
_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
#: Longest --timeout: a month is past any wait a user means, and beyond some
#: point the socket layer cannot represent the deadline at all.
MAX_DURATION = 720 * 3600.0


def parse_duration(text: str) -> float:
    """Seconds in a Go duration such as ``60s``, ``2m`` or ``1m30s``."""
    text = text.strip()
    if text in ("0", "+0", "-0"):
        return 0.0
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    if not body:
        raise ValueError(f"invalid duration {text!r}")
    total, pos = 0.0, 0
    while pos < len(body):
        match = _PART.match(body, pos)
        if match is None:
            raise ValueError(f"invalid duration {text!r} (use e.g. 60s, 2m, 1m30s)")
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    return sign * total


def format_duration(seconds: float) -> str:
    """The short Go-like spelling of a duration, for messages."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    minutes, secs = divmod(seconds, 60)
    if minutes < 1:
        return f"{secs:g}s"
    hours, minutes = divmod(int(minutes), 60)
    text = f"{hours}h" if hours else ""
    text += f"{minutes}m" if minutes or hours else ""
    return text + (f"{secs:g}s" if secs else "")


class Duration(click.ParamType[float]):
    """A Go duration string, converted to seconds (a positive float)."""

    name = "duration"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float | int):
            return float(value)
        try:
            seconds = parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if seconds <= 0:
            self.fail(f"must be positive, got {value!r}", param, ctx)
        if seconds > MAX_DURATION:
            self.fail(f"{value!r} is longer than the maximum of 720h", param, ctx)
        return seconds


def check_api_url(text: str) -> str:
    """``text`` if it is an absolute http(s) URL with a host; ``ValueError`` saying why not."""
    if any(c.isspace() for c in text):
        raise ValueError("it contains white space")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (read for its check: a bad port raises)
    except ValueError as exc:
        raise ValueError(str(exc)) from exc
    if parts.scheme not in ("http", "https"):
        raise ValueError("it must start with http:// or https://")
    if not parts.hostname:
        raise ValueError("it has no host")
    return text


class ApiUrl(click.ParamType[str]):
    """fluxd's base URL (``http://host:port/api/flux``); empty means port-forward."""

    name = "url"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        text = str(value).strip()
        if not text:
            return ""
        try:
            return check_api_url(text)
        except ValueError as exc:
            self.fail(
                f"{text[:200]!r} is not fluxd's URL: {exc}. "
                "Give it as http://HOST:PORT/api/flux, or leave --url out to port-forward.",
                param,
                ctx,
            )


def parse_labels(text: str) -> dict[str, str]:
    """``k=v,k2=v2`` as a map, the syntax of Go's string-to-string flags."""
    labels: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{item!r} is not of the form key=value")
        labels[key.strip()] = value.strip()
    return labels


def label_selector(labels: dict[str, str]) -> str:
    """The selector Kubernetes expects for an exact label match, keys sorted."""
    return ",".join(f"{key}={labels[key]}" for key in sorted(labels))


class LabelMap(click.ParamType[str]):
    """A ``k=v,k2=v2`` option, converted to a label selector string."""

    name = "key=value,..."

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        try:
            labels = parse_labels(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if not labels:
            self.fail("needs at least one key=value", param, ctx)
        return label_selector(labels)


class Namespace(click.ParamType[str]):
    """A Kubernetes namespace (a DNS label); empty means "the default"."""

    name = "namespace"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        text = str(value).strip()
        if text and not is_dns_label(text):
            self.fail(f"{text[:100]!r} is not a namespace. {NAMESPACE_HELP}", param, ctx)
        return text
