"""What fluxd sends to and reads from the API server is the same JSON whichever encoder ran."""

from __future__ import annotations

import json

import pytest

from fluxd import wirejson


@pytest.mark.parametrize(
    "value",
    [
        {"metadata": {"name": "a", "labels": {"x": "y"}}, "data": {"k": "v"}},
        {"spec": {"replicas": 3, "ratio": 0.25, "on": True, "none": None, "list": [1, "two"]}},
        {"text": 'grüße ✓ \u2028 "quoted" \\ back'},
        {"big": 2**70, "negative": -(2**65)},  # beyond 64 bits: the standard library's turn
        {"lone": "\ud800"},  # a lone surrogate, likewise
        {7: "int key", None: "null key", 2.5: "float key"},
    ],
)
def test_dumps_means_what_the_standard_library_means(value: object) -> None:
    assert json.loads(wirejson.dumps(value)) == json.loads(json.dumps(value))


def test_loads_reads_what_the_standard_library_reads() -> None:
    text = '{"a": [1, 2.5, "x", null, true], "max": 9223372036854775807, "ü": "✓"}'.encode()

    assert wirejson.loads(text) == json.loads(text)


def test_invalid_json_raises_value_error() -> None:
    with pytest.raises(ValueError, match="Expecting"):
        wirejson.loads(b"{not json")
