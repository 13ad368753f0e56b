"""The counting composer builds exactly what libyaml's own composer builds."""

from __future__ import annotations

import pytest
import yaml

from fluxd.manifests import yamlstream
from fluxd.manifests.limits import Budget
from fluxd.settings import ManifestSettings

SAMPLES = {
    "block": "a: 1\nb: [x, 'y', \"z\"]\nc:\n  - {d: null, e: ~, f: true}\n  - |\n    text\n",
    "tags": "a: !!str 1\nb: ! 2\nc: !!int '3'\nd: !!binary aGk=\ne: 2024-01-01\n",
    "anchors": "base: &b {x: 1, y: [1, 2]}\nuse: *b\nmerged: {<<: *b, y: 3}\n",
    "merge list": "a: &a {p: 1}\nb: &b {q: 2}\nc: {<<: [*a, *b], r: 3}\n",
    "explicit key": "? |\n  long key\n: pair\n? plain\n: value\n",
    "documents": "---\na: 1\n---\n- 2\n---\n...\n---\nplain\n",
    "empty values": "a:\nb: []\nc: {}\nd: ''\n",
}


def with_libyaml(text: str) -> list[tuple[int, object]]:
    class Plain(yaml.CSafeLoader):
        pass

    Plain.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
    }
    lines = [node.start_mark.line + 1 for node in yaml.compose_all(text, Loader=Plain)]
    return list(zip(lines, yaml.load_all(text, Loader=Plain), strict=True))


@pytest.mark.parametrize("text", SAMPLES.values(), ids=SAMPLES.keys())
def test_the_values_and_lines_are_those_of_libyaml(text: str) -> None:
    ours = list(yamlstream.documents(text.encode(), Budget(ManifestSettings())))
    assert ours == with_libyaml(text)


@pytest.mark.parametrize("text", SAMPLES.values(), ids=SAMPLES.keys())
def test_small_files_are_counted_as_the_counting_composer_counts(text: str) -> None:
    # A comment makes the file large enough for the counting composer
    # without adding a node.
    padded = text + "# " + "x" * yamlstream.SMALL_FILE + "\n"
    small, large = Budget(ManifestSettings()), Budget(ManifestSettings())
    assert list(yamlstream.documents(text.encode(), small)) == list(
        yamlstream.documents(padded.encode(), large)
    )
    assert (small.nodes, small.text, small.deepest) == (large.nodes, large.text, large.deepest)
    assert small.nodes > 0


def test_a_duplicate_anchor_is_malformed_yaml() -> None:
    with pytest.raises(yaml.MarkedYAMLError, match="duplicate anchor"):
        list(yamlstream.documents(b"a: &x 1\nb: &x 2\n", Budget(ManifestSettings())))


def test_an_undefined_alias_is_malformed_yaml() -> None:
    with pytest.raises(yaml.MarkedYAMLError, match="undefined alias"):
        list(yamlstream.documents(b"a: *nowhere\n", Budget(ManifestSettings())))


def test_anchors_do_not_carry_over_to_the_next_document() -> None:
    with pytest.raises(yaml.MarkedYAMLError, match="undefined alias"):
        list(yamlstream.documents(b"a: &x 1\n---\nb: *x\n", Budget(ManifestSettings())))
