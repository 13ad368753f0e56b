"""`<all latest>` releases read the registry scan: newest tag through the container's filter."""

from __future__ import annotations

from datetime import UTC, datetime

from fluxd.registry import ImageCache, ImageMeta, RepoState
from fluxd.writeback.scanned import ScannedImages


def at(day: int) -> datetime:
    return datetime(2024, 1, day, tzinfo=UTC)


def scanned(repo: str, tags: dict[str, datetime]) -> ScannedImages:
    cache = ImageCache()
    metas = {t: ImageMeta(f"sha256:{t}", "", when, {}, at(20)) for t, when in tags.items()}
    cache.put(repo, RepoState(tags=metas, listed=at(20)))
    return ScannedImages(cache)


TAGS = {"1.17.7": at(1), "1.17.8": at(2), "1.18.0": at(3), "edge": at(9)}


def test_a_semver_filter_picks_the_highest_version_it_allows():
    images = scanned("127.0.0.1:5000/nginx", TAGS)
    assert images.latest_tag("127.0.0.1:5000/nginx", "semver:~1.17") == "1.17.8"


def test_glob_picks_the_newest_by_creation_time():
    images = scanned("127.0.0.1:5000/nginx", TAGS)
    assert images.latest_tag("127.0.0.1:5000/nginx", "glob:*") == "edge"
    assert images.latest_tag("127.0.0.1:5000/nginx", "glob:1.*") == "1.18.0"


def test_docker_hub_names_match_however_the_workload_spells_them():
    images = scanned("nginx", TAGS)
    assert images.latest_tag("docker.io/library/nginx", "semver:~1.17") == "1.17.8"
    assert images.exists("docker.io/library/nginx", "1.18.0") is True
    assert images.exists("docker.io/library/nginx", "9.9.9") is False


def test_a_repository_not_scanned_or_without_tags_is_unknown():
    cache = ImageCache()
    cache.put("127.0.0.1:5000/web", RepoState(error="unauthorized"))
    images = ScannedImages(cache)
    assert images.latest_tag("127.0.0.1:5000/web", "glob:*") is None
    assert images.latest_tag("127.0.0.1:5000/other", "glob:*") is None
    assert images.exists("127.0.0.1:5000/web", "1") is None


def test_a_filter_that_cannot_be_read_selects_nothing():
    images = scanned("127.0.0.1:5000/nginx", TAGS)
    assert images.latest_tag("127.0.0.1:5000/nginx", "semver:not a range") is None
