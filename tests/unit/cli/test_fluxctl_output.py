"""Tables follow Go's tabwriter (padding 2): columns are aligned per block of rows."""

from __future__ import annotations

from fluxctl.output import tabulate, to_json


def test_cells_are_padded_to_the_widest_in_their_column_plus_two() -> None:
    text = tabulate([["A", "BB", "C"], ["aaaa", "b", "c"]])

    assert text == "A     BB  C\naaaa  b   c\n"


def test_the_last_cell_of_a_row_is_never_padded() -> None:
    text = tabulate([["x", "a long last cell"], ["y", "z"]])

    assert text.splitlines() == ["x  a long last cell", "y  z"]


def test_a_row_with_fewer_cells_ends_the_column_block() -> None:
    # As in Go: the third row has no second column cell, so rows after it
    # form a new block with its own width.
    text = tabulate([["a", "bbbbbb", "c"], ["a", "b", "c"], ["only"], ["a", "b", "c"]])

    assert text.splitlines() == ["a  bbbbbb  c", "a  b       c", "only", "a  b  c"]


def test_empty_cells_still_take_their_column_width() -> None:
    text = tabulate([["id", "name", "x"], ["", "n", ""]])

    assert text.splitlines() == ["id  name  x", "    n     "]


def test_no_rows_is_no_output() -> None:
    assert tabulate([]) == ""


def test_json_is_indented_and_ends_with_a_newline() -> None:
    assert to_json([{"ID": "a", "ü": 1}]) == '[\n  {\n    "ID": "a",\n    "ü": 1\n  }\n]\n'
