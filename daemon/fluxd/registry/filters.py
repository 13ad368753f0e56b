"""Which tag automation releases: Flux v1's tag filters, as pure functions.

A container's filter comes from the workload's ``fluxcd.io/tag.<container>``
annotation: ``semver:<constraint>`` takes the highest version that satisfies
it; ``glob:<pattern>`` (also a bare pattern) and ``regex:``/``regexp:<re>``
take the newest matching tag by creation time. Without an annotation the
filter is ``glob:*``. Tags without a creation time are never chosen by time:
Flux v1 skipped such containers rather than guess.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from fluxd.errors import UserError
from fluxd.registry.semver import Constraint, Version, parse_constraint, parse_version

DEFAULT_FILTER = "glob:*"


@dataclass(frozen=True, slots=True)
class TagFilter:
    """A parsed filter: ``kind`` is semver, glob or regex."""

    kind: str
    pattern: str
    constraint: Constraint | None = None
    regex: re.Pattern[str] | None = None

    def matches(self, tag: str) -> bool:
        if self.constraint is not None:
            version = parse_version(tag)
            return version is not None and self.constraint.allows(version)
        if self.regex is not None:
            return self.regex.search(tag) is not None
        return fnmatch.fnmatchcase(tag, self.pattern)


def parse_filter(text: str) -> TagFilter:
    """A filter annotation's value; ``UserError`` naming it when it cannot be read."""
    kind, sep, pattern = text.partition(":")
    if not sep or kind not in ("semver", "glob", "regex", "regexp"):
        kind, pattern = "glob", text
    if kind == "semver":
        try:
            return TagFilter("semver", pattern, constraint=parse_constraint(pattern))
        except ValueError as exc:
            raise _bad_filter(text, str(exc)) from exc
    if kind in ("regex", "regexp"):
        try:
            return TagFilter("regex", pattern, regex=re.compile(pattern))
        except re.error as exc:
            raise _bad_filter(text, str(exc)) from exc
    return TagFilter("glob", pattern or "*")


def _bad_filter(text: str, why: str) -> UserError:
    return UserError(
        f"tag filter {text!r} cannot be read: {why}",
        help="Use semver:<constraint> (e.g. semver:~1.17), glob:<pattern> or regex:<re>.",
    )


def container_filter(policies: Mapping[str, str], container: str) -> TagFilter:
    """The filter a workload's policies (by name: ``tag.<container>``) set; ``glob:*`` if none."""
    return parse_filter(policies.get(f"tag.{container}") or DEFAULT_FILTER)


def select_tag(
    tag_filter: TagFilter, tags: Mapping[str, datetime | None], current: str
) -> str | None:
    """The tag to release, or None when ``current`` is already the one chosen.

    ``tags`` maps every tag the registry lists to its creation time (None when
    unknown). Semver filters order by version; the others by creation time,
    newest first, ties broken by tag so the choice is repeatable.
    """
    matching = [t for t in tags if tag_filter.matches(t)]
    best = _highest_version(matching) if tag_filter.kind == "semver" else _newest(matching, tags)
    if best is None or best == current:
        return None
    if tag_filter.kind == "semver":
        now, new = parse_version(current), parse_version(best)
        if now is not None and new is not None and not new > now:
            return None  # never move a container back to a lower version
    return best


def _highest_version(tags: Iterable[str]) -> str | None:
    versions: list[tuple[Version, str]] = []
    for tag in tags:
        version = parse_version(tag)
        if version is not None:
            versions.append((version, tag))
    return max(versions)[1] if versions else None


def _newest(tags: Iterable[str], times: Mapping[str, datetime | None]) -> str | None:
    # Undated tags (their metadata not fetched, or no `created`) are left out.
    dated = [(_stamp(times.get(t)), t) for t in tags if times.get(t) is not None]
    return max(dated)[1] if dated else None


def _stamp(moment: datetime | None) -> float:
    return moment.timestamp() if moment is not None else float("-inf")


def sort_newest_first(tags: Mapping[str, datetime | None]) -> list[str]:
    """Tags as list-images shows them: newest first, undated ones last."""
    return sorted(tags, key=lambda t: (_stamp(tags[t]), t), reverse=True)
