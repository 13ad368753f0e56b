"""Retry waits double from 1 s up to a cap, with jitter that only shortens them."""

from __future__ import annotations

import pytest

from fluxd.sync.backoff import Backoff


def test_waits_double_from_one_second_up_to_the_cap() -> None:
    backoff = Backoff(first=1, cap=30, rand=lambda: 0.0)
    assert [backoff.next() for _ in range(8)] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_jitter_shortens_each_wait_by_at_most_its_share() -> None:
    most = Backoff(first=1, cap=30, jitter=0.2, rand=lambda: 1.0)
    assert [most.next() for _ in range(6)] == pytest.approx([0.8, 1.6, 3.2, 6.4, 12.8, 24.0])
    half = Backoff(first=1, cap=30, jitter=0.2, rand=lambda: 0.5)
    assert half.next() == pytest.approx(0.9)


def test_a_success_starts_the_schedule_again() -> None:
    backoff = Backoff(rand=lambda: 0.0)
    for _ in range(5):
        backoff.next()
    backoff.reset()
    assert (backoff.attempts, backoff.next()) == (0, 1)


def test_a_cap_below_the_first_wait_wins() -> None:
    backoff = Backoff(first=1, cap=0.01, rand=lambda: 0.0)
    assert [backoff.next(), backoff.next()] == [0.01, 0.01]


def test_a_days_long_outage_never_overflows() -> None:
    backoff = Backoff(cap=30, rand=lambda: 0.0)
    for _ in range(10_000):
        delay = backoff.next()
    assert delay == 30


@pytest.mark.parametrize(
    "kwargs", [{"first": 0}, {"cap": -1}, {"factor": 0.5}, {"jitter": 1.0}, {"jitter": -0.1}]
)
def test_nonsense_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="backoff needs"):
        Backoff(**kwargs)  # type: ignore[arg-type]
