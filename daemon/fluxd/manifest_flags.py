"""fluxd's ``--manifest-max-*`` flags: what reading one manifest file may cost.

Kept apart from ``fluxd.flags`` so the limits, their forms and their help
texts stay together; ``fluxd.flags`` adds them to its parser.
"""

from __future__ import annotations

import argparse

from fluxd.quantities import format_byte_size, parse_byte_size
from fluxd.settings import ManifestSettings

#: Deeper than this, Python's own stack (the YAML composer, the JSON encoder)
#: would give out before the limit does.
MAX_MANIFEST_DEPTH = 200


def _count(text: str, *, most: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from exc
    if value < 1 or (most is not None and value > most):
        wanted = f"from 1 to {most}" if most is not None else "of at least 1"
        raise argparse.ArgumentTypeError(f"expected a number {wanted}, got {value}")
    return value


def _byte_size(text: str) -> int:
    try:
        value = parse_byte_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a size of at least 1 byte, got {text!r}")
    return value


def _depth(text: str) -> int:
    return _count(text, most=MAX_MANIFEST_DEPTH)


def add_manifest_flags(parser: argparse.ArgumentParser) -> None:
    d = ManifestSettings()
    m = parser.add_argument_group(
        "manifests: what one file may cost; a file over a limit fails alone"
    )
    m.add_argument(
        "--manifest-max-file-size",
        type=_byte_size,
        default=None,
        help="bytes of one manifest file, checked in git before it is read; "
        f"e.g. 4Mi, 512Ki, 1000000 (default {format_byte_size(d.max_file_size)})",
    )
    m.add_argument(
        "--manifest-max-documents",
        type=_count,
        default=None,
        help=f"YAML documents in one file (default {d.max_documents})",
    )
    m.add_argument(
        "--manifest-max-nodes",
        type=_count,
        default=None,
        help="values in one file, each use of a YAML alias or merge key counted as all it "
        f"stands for (default {d.max_nodes})",
    )
    m.add_argument(
        "--manifest-max-depth",
        type=_depth,
        default=None,
        help=f"nesting of one document, at most {MAX_MANIFEST_DEPTH} (default {d.max_depth})",
    )


def manifest_settings(ns: argparse.Namespace) -> ManifestSettings:
    d = ManifestSettings()
    given = {
        "max_file_size": ns.manifest_max_file_size,
        "max_documents": ns.manifest_max_documents,
        "max_nodes": ns.manifest_max_nodes,
        "max_depth": ns.manifest_max_depth,
    }
    return ManifestSettings(
        **{name: getattr(d, name) if value is None else value for name, value in given.items()}
    )
