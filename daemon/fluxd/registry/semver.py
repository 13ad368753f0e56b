"""Semantic versions and constraints, as Flux v1's ``semver:`` filters read them.

Tags are read leniently, as image tags are written: an optional ``v``, one to
three numbers (``1.17`` is ``1.17.0``), then an optional ``-prerelease`` and
``+build``. Constraints: comparisons (``=``, ``!=``, ``>``, ``>=``, ``<``,
``<=``), tilde (``~1.17``: patch releases of 1.17), caret (``^1.2``: up to
the next major), wildcards (``1.x``, ``1.*``, ``*``), hyphen ranges
(``1.2 - 1.4``); space or comma joins conditions that must all hold, ``||``
joins alternatives. A prerelease tag satisfies a constraint only when one of
its conditions names a prerelease of the same version numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_VERSION = re.compile(
    r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$"
)
_CONDITION = re.compile(
    r"^(!=|>=|<=|=>|=<|>|<|=|~>|~|\^)?\s*(v?[0-9xX*]+(?:\.[0-9xX*]+){0,2}(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)$"
)
_WILD = ("x", "X", "*")


@dataclass(frozen=True, slots=True, order=False)
class Version:
    major: int
    minor: int
    patch: int
    pre: tuple[int | str, ...] = ()

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        # A release sorts above its prereleases; numeric identifiers below words.
        pre = tuple((0, p) if isinstance(p, int) else (1, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre)

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __le__(self, other: Version) -> bool:
        return self._key() <= other._key()

    def __gt__(self, other: Version) -> bool:
        return self._key() > other._key()

    def __ge__(self, other: Version) -> bool:
        return self._key() >= other._key()


def parse_version(text: str) -> Version | None:
    """The version a tag names, or None when it names none."""
    match = _VERSION.match(text)
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    ids = tuple(int(p) if p.isdigit() else p for p in pre.split(".")) if pre else ()
    return Version(int(major), int(minor or 0), int(patch or 0), ids)


Check = Callable[[Version], bool]


@dataclass(frozen=True, slots=True)
class Constraint:
    #: Alternatives (``||``), each a list of conditions that must all hold.
    alternatives: tuple[tuple[tuple[Check, Version | None], ...], ...]

    def allows(self, version: Version) -> bool:
        return any(_all_hold(conditions, version) for conditions in self.alternatives)


def _all_hold(conditions: tuple[tuple[Check, Version | None], ...], version: Version) -> bool:
    if version.pre and not any(
        base is not None and base.pre and _numbers(base) == _numbers(version)
        for _, base in conditions
    ):
        return False
    return all(check(version) for check, _ in conditions)


def _numbers(version: Version) -> tuple[int, int, int]:
    return (version.major, version.minor, version.patch)


def parse_constraint(text: str) -> Constraint:
    """``ValueError`` saying which part cannot be read."""
    alternatives = []
    for alternative in text.split("||"):
        alternative = re.sub(r"\s+-\s+", " - ", alternative.strip())
        alternatives.append(tuple(_conditions(alternative)))
    return Constraint(tuple(alternatives))


def _conditions(text: str) -> list[tuple[Check, Version | None]]:
    if " - " in text:
        low, high = text.split(" - ", 1)
        return _condition(">=" + low.strip()) + _condition("<=" + high.strip())
    text = re.sub(r"(!=|>=|<=|=>|=<|>|<|=|~>|~|\^)\s+", r"\1", text)
    parts = [p for p in re.split(r"[\s,]+", text) if p]
    if not parts:
        raise ValueError("empty constraint")
    return [c for part in parts for c in _condition(part)]


def _condition(text: str) -> list[tuple[Check, Version | None]]:
    match = _CONDITION.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a version condition")
    op, raw = match.group(1) or "=", match.group(2).lstrip("v")
    fields = raw.split("-", 1)[0].split("+", 1)[0].split(".")
    wild = next((i for i, f in enumerate(fields) if f in _WILD), len(fields))
    nums = [int(f) for f in fields[:wild]]
    base = parse_version(raw) if wild == len(fields) else None
    major, minor, patch = [*nums, 0, 0, 0][:3]
    low = Version(major, minor, patch, pre=base.pre if base else ())
    return _ranged(op, low, nums, base)


def _upper(nums: list[int], op: str) -> Version | None:
    """The first version past the range a partial or tilde/caret version spans."""
    if not nums:
        return None
    if op == "^":
        first = next((i for i, n in enumerate(nums) if n != 0), len(nums) - 1)
        bump = min(first, len(nums) - 1)
    elif op in ("~", "~>"):
        bump = min(1, len(nums) - 1) if len(nums) > 1 else 0
    else:
        bump = len(nums) - 1
    major, minor, patch = [*nums[:bump], nums[bump] + 1, 0, 0][:3]
    return Version(major, minor, patch)


def _ranged(
    op: str, low: Version, nums: list[int], base: Version | None
) -> list[tuple[Check, Version | None]]:
    partial = len(nums) < 3 or base is None
    if op in ("~", "~>", "^") or (op == "=" and partial):
        high = _upper(nums, op) if op != "=" or nums else None
        return [(lambda v: v >= low, low), (lambda v: high is None or v < high, base)]
    compare: dict[str, Check] = {
        "=": lambda v: _numbers(v) == _numbers(low) and v.pre == low.pre,
        "!=": lambda v: not (_numbers(v) == _numbers(low) and v.pre == low.pre),
        ">": lambda v: v > low if not partial else v >= (_upper(nums, "=") or low),
        ">=": lambda v: v >= low,
        "=>": lambda v: v >= low,
        "<": lambda v: v < low,
        "<=": lambda v: v <= low if not partial else v < (_upper(nums, "=") or low),
        "=<": lambda v: v <= low if not partial else v < (_upper(nums, "=") or low),
    }
    return [(compare[op], base)]
