"""The scanner against an in-memory registry: what it fetches, how it authenticates,
how it backs off. The real registry is in tests/integration/test_image_registry.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fluxd.errors import RegistryError
from fluxd.registry import Credentials, Scanner, ScanTarget, parse_image
from fluxd.settings import RegistrySettings
from unit.registry.fakeregistry import HOST, FakeRegistry, client
from unit.sync.fakeclock import FakeClock

IMAGE = parse_image(f"{HOST}/team/app:1.0.0").image


def scanner(registry: FakeRegistry, clock: FakeClock, **settings: object) -> Scanner:
    return Scanner(
        RegistrySettings(**settings),  # type: ignore[arg-type]
        clock=clock,
        client_factory=registry.client_factory,
    )


def test_first_scan_fetches_every_tag_and_later_scans_only_new_ones():
    registry = FakeRegistry()
    registry.push("team/app", "1.0.0", "2024-01-01T00:00:00Z")
    registry.push("team/app", "1.1.0", "2024-02-01T00:00:00.123456789Z")
    scan = scanner(registry, FakeClock())

    first = scan.scan([ScanTarget(IMAGE)])
    registry.push("team/app", "1.2.0", "2024-03-01T00:00:00Z")
    second = scan.scan([ScanTarget(IMAGE)])

    assert (first.new_tags, second.new_tags) == (2, 1)
    assert registry.asked["manifests"] == 3  # one per tag, never twice
    state = scan.cache.get(IMAGE.name)
    assert state is not None and state.error == ""
    assert state.times()["1.1.0"] == datetime(2024, 2, 1, 0, 0, 0, 123456, tzinfo=UTC)


def test_an_index_is_followed_to_the_linux_amd64_manifest():
    registry = FakeRegistry()
    registry.push("team/app", "multi", "2024-05-05T05:05:05Z", index=True)

    info = client(registry).tag_info("team/app", "multi")

    assert info.config.created == datetime(2024, 5, 5, 5, 5, 5, tzinfo=UTC)
    assert registry.asked["manifests"] == 2


def test_a_bearer_challenge_is_answered_with_a_token_fetched_once():
    registry = FakeRegistry(auth="bearer")
    registry.push("team/app", "1.0.0", "2024-01-01T00:00:00Z")
    registry.push("team/app", "1.1.0", "2024-01-02T00:00:00Z")
    registry_client = client(registry, Credentials("alice", "secret"))

    assert registry_client.tags("team/app") == ["1.0.0", "1.1.0"]
    registry_client.tag_info("team/app", "1.1.0")

    assert registry.asked["token"] == 1


def test_basic_auth_sends_the_credentials_and_refusal_names_the_fix():
    registry = FakeRegistry(auth="basic")
    registry.push("team/app", "1.0.0", "2024-01-01T00:00:00Z")

    assert client(registry, Credentials("alice", "secret")).tags("team/app") == ["1.0.0"]
    with pytest.raises(RegistryError, match="unauthorized") as refused:
        client(registry).tags("team/app")
    assert "imagePullSecret" in refused.value.help


def test_wrong_credentials_for_a_token_service_are_a_registry_error():
    registry = FakeRegistry(auth="bearer")
    with pytest.raises(RegistryError, match="token service: unauthorized"):
        client(registry, Credentials("alice", "wrong")).tags("team/app")


def test_a_throttling_registry_is_backed_off_and_scanned_again_later():
    registry = FakeRegistry(fail_with=429)
    registry.push("team/app", "1.0.0", "2024-01-01T00:00:00Z")
    clock = FakeClock()
    scan = scanner(registry, clock)

    scan.scan([ScanTarget(IMAGE)])
    state = scan.cache.get(IMAGE.name)
    assert state is not None and "HTTP 429" in state.error
    scan.scan([ScanTarget(IMAGE)])  # within the backoff: not asked
    assert registry.asked["failed"] == 1

    clock.now += 10
    scan.scan([ScanTarget(IMAGE)])  # asked again, still 429: the wait doubles
    second = scan.cache.get(IMAGE.name)
    assert second is not None and second.not_before - clock.now == 10

    registry.fail_with = 0
    clock.now += 10
    scan.scan([ScanTarget(IMAGE)])
    recovered = scan.cache.get(IMAGE.name)
    assert recovered is not None and recovered.error == "" and "1.0.0" in recovered.tags


def test_a_failing_repository_keeps_what_was_known_and_others_are_scanned():
    registry = FakeRegistry()
    registry.push("team/app", "1.0.0", "2024-01-01T00:00:00Z")
    other = parse_image(f"{HOST}/team/other:1").image
    registry.push("team/other", "1", "2024-01-01T00:00:00Z")
    clock = FakeClock()
    scan = scanner(registry, clock)
    scan.scan([ScanTarget(IMAGE), ScanTarget(other)])

    registry.fail_with = 500
    clock.now += 1000
    summary = scan.scan([ScanTarget(IMAGE), ScanTarget(other)])

    assert summary.failed == 2
    state = scan.cache.get(IMAGE.name)
    assert state is not None and "HTTP 500" in state.error and "1.0.0" in state.tags


def test_excluded_images_are_not_scanned():
    registry = FakeRegistry()
    scan = scanner(registry, FakeClock(), exclude_images=(f"{HOST}/team/*",))
    scan.scan([ScanTarget(IMAGE)])
    assert registry.asked["tags"] == 0 and scan.cache.get(IMAGE.name) is None
