"""Tables laid out the way Flux v1's Go tabwriter did (padding 2, spaces).

Users grep and diff fluxctl's tables, so the alignment follows Go's
``text/tabwriter`` rules rather than a prettier layout: a row is a list of
cells; every cell but the last is a column cell; a column's width is set per
*block* of consecutive rows that have that column, so a short row (like an
extra container row) ends the block of the columns it lacks. The last cell of
a row is never padded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

PADDING = 2

Row = Sequence[str]


def tabulate(rows: Sequence[Row]) -> str:
    """Rows aligned in columns, one line each, with a trailing newline."""
    widths: list[int] = []
    lines: list[str] = []
    _format_block(rows, 0, len(rows), widths, lines)
    return "".join(line + "\n" for line in lines)


def _column_count(row: Row) -> int:
    # The last cell is text after the final tab, not a column cell.
    return max(len(row) - 1, 0)


def _format_block(
    rows: Sequence[Row], start: int, end: int, widths: list[int], out: list[str]
) -> None:
    column = len(widths)
    line = start
    while line < end:
        if _column_count(rows[line]) <= column:
            line += 1
            continue
        _emit(rows, start, line, widths, out)
        block_start = line
        width = 0
        while line < end and _column_count(rows[line]) > column:
            width = max(width, len(rows[line][column]) + PADDING)
            line += 1
        widths.append(width)
        _format_block(rows, block_start, line, widths, out)
        widths.pop()
        start = line
    _emit(rows, start, end, widths, out)


def _emit(rows: Sequence[Row], start: int, end: int, widths: list[int], out: list[str]) -> None:
    for row in rows[start:end]:
        cells = [
            cell.ljust(widths[i]) if i < len(widths) and i < len(row) - 1 else cell
            for i, cell in enumerate(row)
        ]
        out.append("".join(cells))


def to_json(value: Any) -> str:
    """Stable JSON for ``-o json``: indented, keys in model order, newline-terminated."""
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"
