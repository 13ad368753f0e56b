"""The bench's ceiling arithmetic: the best median, and when a ceiling is no ceiling."""

from __future__ import annotations

from fluxtestbed.bench.ceiling import CONCURRENCIES, schedule, summarize, verdict


def _run(c: int, rate: float) -> dict[str, object]:
    return {"concurrency": c, "requests": 100, "per_second": rate}


def test_the_ceiling_is_the_best_median_not_the_best_single_run() -> None:
    runs = [_run(4, 100), _run(4, 900), _run(4, 110), _run(8, 300), _run(8, 310), _run(8, 290)]
    found = summarize(runs)
    assert [row["median_per_second"] for row in found["sweep"]] == [110, 300]
    assert (found["best_concurrency"], found["best_per_second"]) == (8, 300)


def test_fluxd_above_the_ceiling_by_more_than_five_percent_invalidates_it() -> None:
    assert verdict(104, 100) == {"valid": True, "fraction": 1.04, "why": ""}
    beyond = verdict(106, 100)
    assert beyond["valid"] is False and beyond["fraction"] is None
    assert beyond["why"].startswith("ceiling invalid")


def test_no_ceiling_measured_gives_no_fraction() -> None:
    assert verdict(50, 0)["fraction"] is None


def test_the_sweep_runs_every_concurrency_once_before_any_runs_again() -> None:
    fresh = [f"t{i:02d}" for i in range(len(CONCURRENCIES) * 2)]
    order = schedule(fresh, 2)
    assert [c for c, _ in order] == [*CONCURRENCIES, *CONCURRENCIES]
    assert [tag for _, tag in order] == fresh
