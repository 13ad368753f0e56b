"""Automation: which containers get a release, one hand-over per pass, Flux v1's message;
and what list-images reports from the same cache."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from fluxd.automation import AutomationLoop, ImageUpdate, compute_updates, release_message
from fluxd.cluster import Container, Rollout, Workload, WorkloadStatus
from fluxd.errors import GitError
from fluxd.image_views import NO_DATA, workload_images
from fluxd.registry import ImageCache, ImageMeta, RepoState
from fluxids import ObjectRef
from unit.sync.fakeclock import FakeClock

HOST = "127.0.0.1:5000"


def at(day: int) -> datetime:
    return datetime(2024, 1, day, tzinfo=UTC)


def cache_with(repo: str, tags: dict[str, datetime]) -> ImageCache:
    cache = ImageCache()
    metas = {t: ImageMeta(f"sha256:{t}", "", when, {}, at(20)) for t, when in tags.items()}
    cache.put(repo, RepoState(tags=metas, listed=at(20)))
    return cache


def workload(name: str, image: str, **annotations: str) -> Workload:
    return Workload(
        ref=ObjectRef("default", "Deployment", name, "apps/v1"),
        status=WorkloadStatus.READY,
        rollout=Rollout(),
        containers=(Container("nginx", image),),
        policies={f"fluxcd.io/{k.replace('_', '.')}": v for k, v in annotations.items()},
    )


NGINX = f"{HOST}/nginx"
TAGS = {"1.17": at(1), "1.17.8": at(3), "1.18.0": at(4)}


def test_an_automated_semver_workload_moves_to_the_highest_matching_version():
    web = workload("web", f"{NGINX}:1.17", automated="true", tag_nginx="semver:~1.17")
    updates = compute_updates([web], cache_with(NGINX, TAGS))
    assert updates == [
        ImageUpdate("default:deployment/web", "nginx", f"{NGINX}:1.17", f"{NGINX}:1.17.8")
    ]


def test_locked_ignored_and_unautomated_workloads_are_left_alone():
    workloads = [
        workload("locked", f"{NGINX}:1.17", automated="true", locked="true"),
        workload("ignored", f"{NGINX}:1.17", automated="true", ignore="true"),
        workload("manual", f"{NGINX}:1.17"),
    ]
    assert compute_updates(workloads, cache_with(NGINX, TAGS)) == []


def test_without_a_filter_the_newest_tag_by_creation_time_wins():
    web = workload("web", f"{NGINX}:1.17", automated="true")
    (update,) = compute_updates([web], cache_with(NGINX, TAGS))
    assert update.target == f"{NGINX}:1.18.0"


def test_one_image_gets_flux_v1s_message_and_several_get_a_list():
    one = ImageUpdate("default:deployment/web", "nginx", "a:1", "a:2")
    two = ImageUpdate("default:deployment/api", "api", "b:1", "b:3")
    assert release_message([one]) == "Auto-release a:2"
    assert release_message([one, two]) == "Auto-release multiple (2) images\n\n - a:2\n - b:3"


class RecordingRelease:
    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[tuple[tuple[ImageUpdate, ...], str]] = []
        self.error = error

    async def release_images(self, updates: Sequence[ImageUpdate], *, message: str) -> str:
        self.calls.append((tuple(updates), message))
        if self.error is not None:
            raise self.error
        return "abc1234"


def test_a_pass_hands_all_updates_to_the_release_port_at_once():
    release = RecordingRelease()
    workloads = [
        workload("web", f"{NGINX}:1.17", automated="true", tag_nginx="semver:~1.17"),
        workload("api", f"{NGINX}:1.17", automated="true", tag_nginx="glob:1.18*"),
    ]
    loop = AutomationLoop(
        workloads=lambda: workloads,
        cache=cache_with(NGINX, TAGS),
        release=release,
        interval=300,
        clock=FakeClock(),
    )

    asyncio.run(loop.run_once())

    ((updates, message),) = release.calls
    assert [u.target for u in updates] == [f"{NGINX}:1.17.8", f"{NGINX}:1.18.0"]
    assert message.startswith("Auto-release multiple (2) images")


def test_a_failed_release_is_logged_and_the_next_pass_tries_again():
    release = RecordingRelease(GitError("push refused"))
    web = workload("web", f"{NGINX}:1.17", automated="true", tag_nginx="semver:~1.17")
    loop = AutomationLoop(
        workloads=lambda: [web], cache=cache_with(NGINX, TAGS), release=release, interval=300
    )
    asyncio.run(loop.run_once())
    asyncio.run(loop.run_once())
    assert len(release.calls) == 2


def test_list_images_orders_tags_by_the_filter_and_counts_the_newer_ones():
    web = workload("web", f"{NGINX}:1.17", tag_nginx="semver:~1.17")
    (container,) = workload_images(web, cache_with(NGINX, TAGS)).containers

    assert container.available is not None
    assert [d.ref for d in container.available] == [
        f"{NGINX}:{t}" for t in ("1.18.0", "1.17.8", "1.17")
    ]
    assert container.latest_filtered is not None
    assert container.latest_filtered.ref == f"{NGINX}:1.17.8"
    assert container.current.digest == "sha256:1.17"
    assert (container.new_available, container.filtered, container.new_filtered) == (2, 2, 1)


def test_list_images_says_why_there_is_no_data():
    web = workload("web", f"{NGINX}:1.17")
    cache = ImageCache()
    cache.put(NGINX, RepoState(error="127.0.0.1:5000/nginx: unauthorized"))
    (scanned_off,) = workload_images(web, None).containers
    (not_yet,) = workload_images(web, ImageCache()).containers
    (refused,) = workload_images(web, cache).containers
    assert scanned_off.error == "" and scanned_off.available is None
    assert not_yet.error == NO_DATA and not_yet.available is None
    assert refused.error == "127.0.0.1:5000/nginx: unauthorized"
