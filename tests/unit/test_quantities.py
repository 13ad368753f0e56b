"""Byte sizes in flags: plain bytes or Kubernetes quantities, shown back exactly."""

from __future__ import annotations

import pytest

from fluxd.quantities import describe_byte_size, format_byte_size, parse_byte_size


@pytest.mark.parametrize(
    ("text", "size"),
    [("4Mi", 4 * 1024**2), ("512Ki", 512 * 1024), ("1Gi", 1024**3), ("1M", 10**6), ("77", 77)],
)
def test_sizes_are_read_with_their_unit(text: str, size: int) -> None:
    assert parse_byte_size(text) == size


@pytest.mark.parametrize("text", ["", "4MB", "1.5Mi", "-1", "Mi"])
def test_a_malformed_size_is_refused_with_examples(text: str) -> None:
    with pytest.raises(ValueError, match=r"e\.g\. 4Mi"):
        parse_byte_size(text)


def test_sizes_are_shown_in_the_unit_they_divide_exactly() -> None:
    assert [format_byte_size(n) for n in (4 * 1024**2, 3072, 1000)] == ["4Mi", "3Ki", "1000"]


def test_file_sizes_are_described_rounded() -> None:
    assert describe_byte_size(30 * 1024**2 + 1) == "30.0 MiB"
    assert describe_byte_size(812) == "812 bytes"
