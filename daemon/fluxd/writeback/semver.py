"""Semantic-version constraints for ``semver:`` tag filters (``~1.2``, ``^1``, ``>=1.2 <2``).

Only what tag filters need: versions are ``[v]MAJOR[.MINOR[.PATCH]][-pre][+build]``;
a constraint is comparisons joined by spaces or commas (and), alternatives
joined by ``||`` (or). A missing part of a version in a constraint is a
wildcard (``1.2`` means ``1.2.x``). Pre-releases match only a constraint
that names one, as in the Go library Flux v1 used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Version", "parse_version", "satisfies"]

_VERSION = re.compile(
    r"v?(\d+)(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?"
)
_TERM = re.compile(r"\s*(=|!=|>=|<=|>|<|~>?|\^)?\s*([^\s,]+)")
_ANY = ("*", "x", "X")


@dataclass(frozen=True, slots=True, order=True)
class Version:
    major: int
    minor: int
    patch: int
    #: Sorts after a pre-release: (1, "") > (0, "rc.1").
    release: tuple[int, str]


def parse_version(text: str) -> Version | None:
    match = _VERSION.fullmatch(text)
    if match is None or any(p and not p.isdigit() for p in match.groups()[1:3]):
        return None
    major, minor, patch, pre = match.groups()
    return Version(int(major), int(minor or 0), int(patch or 0), (0, pre) if pre else (1, ""))


def _bounds(op: str, text: str) -> list[tuple[str, Version]] | None:
    if text in _ANY:
        return [(">=", Version(0, 0, 0, (1, "")))]
    match = _VERSION.fullmatch(text)
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    wild = [p is None or not p.isdigit() for p in (minor, patch)]
    low = Version(
        int(major),
        int(minor) if not wild[0] else 0,
        int(patch) if not wild[1] else 0,
        (0, pre) if pre else (1, ""),
    )
    # The version just past the range a partial or ~/^ version stands for.
    if op == "^":
        up = (
            Version(low.major + 1, 0, 0, (0, ""))
            if low.major
            else (
                Version(0, low.minor + 1, 0, (0, "")) if not wild[0] else Version(1, 0, 0, (0, ""))
            )
        )
    elif op in ("~", "~>") or (op in ("", "=") and (wild[0] or wild[1])):
        up = (
            Version(low.major + 1, 0, 0, (0, ""))
            if wild[0]
            else Version(low.major, low.minor + 1, 0, (0, ""))
        )
    else:
        return [(op or "=", low)]
    return [(">=", low), ("<", up)]


_CMP = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
}


def _parse(constraint: str) -> list[list[tuple[str, Version]]] | None:
    alternatives: list[list[tuple[str, Version]]] = []
    for part in constraint.split("||"):
        terms: list[tuple[str, Version]] = []
        for op, text in _TERM.findall(part.replace(",", " ")):
            bounds = _bounds(op, text)
            if bounds is None:
                return None
            terms += bounds
        if not terms:
            return None
        alternatives.append(terms)
    return alternatives


class _Satisfies:
    def __call__(self, version: Version, constraint: str) -> bool:
        alternatives = _parse(constraint)
        if alternatives is None:
            return False
        for terms in alternatives:
            named_pre = any(v.release[0] == 0 and v.release[1] for _, v in terms)
            if version.release[0] == 0 and not named_pre:
                continue
            if all(_CMP[op](version, bound) for op, bound in terms):
                return True
        return False

    @staticmethod
    def check(constraint: str) -> bool:
        """Whether ``constraint`` can be read at all."""
        return _parse(constraint) is not None


satisfies = _Satisfies()
