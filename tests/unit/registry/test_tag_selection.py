"""Which tag automation picks: Flux v1's semver, glob and regex filters, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fluxd.errors import UserError
from fluxd.registry import container_filter, parse_filter, parse_image, select_tag
from fluxd.registry.semver import parse_constraint, parse_version


def at(day: int) -> datetime:
    return datetime(2024, 1, day, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "host", "path", "tag"),
    [
        ("nginx:1.17", "docker.io", "library/nginx", "1.17"),
        ("nginx", "docker.io", "library/nginx", ""),
        ("fluxcd/flux:1.25.4", "docker.io", "fluxcd/flux", "1.25.4"),
        ("index.docker.io/library/nginx:1", "docker.io", "library/nginx", "1"),
        ("127.0.0.1:5000/team/app:v2", "127.0.0.1:5000", "team/app", "v2"),
        ("localhost/app", "localhost", "app", ""),
        ("ghcr.io/org/app@sha256:" + "a" * 64, "ghcr.io", "org/app", ""),
    ],
)
def test_image_references_are_read_as_docker_reads_them(text, host, path, tag):
    ref = parse_image(text)
    assert (ref.image.host, ref.image.path, ref.tag) == (host, path, tag)


def test_a_malformed_image_reference_is_named_in_the_error():
    with pytest.raises(UserError, match="'Bad Image!' is not a valid image reference"):
        parse_image("Bad Image!")


@pytest.mark.parametrize(
    ("constraint", "allowed"),
    [
        ("~1.17", ["1.17", "1.17.8"]),
        ("^1.2", ["1.2.0", "1.16.0", "1.17", "1.17.8", "1.18.0"]),
        (">=1.16 <1.18", ["1.16.0", "1.17", "1.17.8"]),
        ("1.x", ["1.2.0", "1.16.0", "1.17", "1.17.8", "1.18.0"]),
        ("1.16 || 1.18", ["1.16.0", "1.18.0"]),
    ],
)
def test_semver_constraints_follow_the_usual_rules(constraint, allowed):
    tags = ["1.2.0", "1.16.0", "1.17", "1.17.8", "1.18.0", "2.0.0", "1.17.9-rc.1", "latest"]
    rule = parse_constraint(constraint)
    assert [t for t in tags if (v := parse_version(t)) and rule.allows(v)] == allowed


def test_a_prerelease_matches_only_a_constraint_that_names_one():
    assert not parse_constraint("~1.17").allows(parse_version("1.17.9-rc.1"))  # type: ignore[arg-type]
    assert parse_constraint(">=1.17.9-rc.0").allows(parse_version("1.17.9-rc.1"))  # type: ignore[arg-type]


def test_semver_picks_the_highest_version_inside_the_constraint():
    tags = {"1.17": at(1), "1.17.8": at(2), "1.18.0": at(3), "1.16.9": at(4)}
    assert select_tag(parse_filter("semver:~1.17"), tags, "1.17") == "1.17.8"


def test_semver_never_moves_a_container_to_a_lower_version():
    tags = {"1.17.8": at(1), "1.17.2": at(2)}
    assert select_tag(parse_filter("semver:~1.17"), tags, "1.17.9") is None


def test_nothing_is_selected_when_the_current_tag_is_the_best():
    tags = {"1.17.8": at(1), "1.17.2": at(2)}
    assert select_tag(parse_filter("semver:~1.17"), tags, "1.17.8") is None


def test_glob_picks_the_newest_matching_tag_by_creation_time_not_by_name():
    tags = {"prod-b": at(3), "prod-a": at(5), "dev-z": at(9)}
    assert select_tag(parse_filter("glob:prod-*"), tags, "prod-b") == "prod-a"


def test_regex_picks_the_newest_matching_tag():
    tags = {"v1": at(1), "v2": at(2), "v10x": at(9)}
    assert select_tag(parse_filter(r"regex:^v\d+$"), tags, "v1") == "v2"


def test_tags_without_a_creation_time_are_never_chosen_by_time():
    tags = {"a": None, "b": at(1)}
    assert select_tag(parse_filter("glob:*"), tags, "b") is None
    assert select_tag(parse_filter("glob:*"), {"a": None}, "x") is None


def test_a_container_without_a_filter_gets_glob_star():
    chosen = container_filter({"automated": "true"}, "web")
    assert (chosen.kind, chosen.pattern) == ("glob", "*")
    assert container_filter({"tag.web": "semver:~1"}, "web").kind == "semver"


@pytest.mark.parametrize("text", ["semver:not a version", "regex:(unclosed"])
def test_an_unreadable_filter_names_itself(text):
    with pytest.raises(UserError, match="cannot be read"):
        parse_filter(text)
