"""The deletion guard's and the retries' flags: defaults, forms, clear refusals."""

from __future__ import annotations

import pytest

from fluxd.errors import SettingsError
from fluxd.flags import parse


def test_defaults_hold_half_the_inventory_from_ten_deletions_and_retry_up_to_30s() -> None:
    sync = parse([], env={})[0].sync
    assert (sync.gc_max_share, sync.gc_guard_min_count, sync.retry_max_delay) == (0.5, 10, 30.0)


@pytest.mark.parametrize(("text", "share"), [("25%", 0.25), ("25", 0.25), ("100%", 1.0)])
def test_the_share_is_a_percentage(text: str, share: float) -> None:
    settings, _ = parse([f"--sync-garbage-collection-max-share={text}"], env={})
    assert settings.sync.gc_max_share == share


def test_the_flags_come_from_the_environment_too() -> None:
    env = {
        "FLUXD_SYNC_GARBAGE_COLLECTION_GUARD_MIN": "0",
        "FLUXD_SYNC_RETRY_MAX_DELAY": "1m",
    }
    sync = parse([], env=env)[0].sync
    assert (sync.gc_guard_min_count, sync.retry_max_delay) == (0, 60.0)


@pytest.mark.parametrize(
    "bad",
    [
        "--sync-garbage-collection-max-share=0",
        "--sync-garbage-collection-max-share=150%",
        "--sync-garbage-collection-max-share=half",
        "--sync-garbage-collection-guard-min=-1",
        "--sync-retry-max-delay=100ms",
        "--sync-retry-max-delay=soon",
    ],
)
def test_nonsense_is_refused_naming_the_flag(bad: str) -> None:
    with pytest.raises(SettingsError) as err:
        parse([bad], env={})
    assert bad.split("=")[0] in str(err.value)
