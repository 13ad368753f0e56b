"""The bench's ceiling arithmetic: the best median, and when a ceiling is no ceiling."""

from __future__ import annotations

from fluxtestbed.bench.ceiling import (
    CONCURRENCIES,
    others_cores,
    schedule,
    summarize,
    verdict,
)


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


def test_the_rest_of_the_machine_is_what_neither_the_client_nor_the_cluster_used() -> None:
    # 14 s busy over 10 s, 9 of them the tool's and the cluster's: others kept half a core.
    cpu = {"tool": 3.0, "kube-apiserver": 5.0, "etcd": 1.0, "machine": 14.0}
    first: dict[str, object] = {"wall_s": 10.0, "cpu_s": cpu}
    runs = [
        {"seconds": 2.0, "cpu_s": 0.5, "server_cpu_s": {"kube-apiserver": 1.5},
         "machine_cpu_s": {"busy": 4.0, "steal": 0.0}},
        {"seconds": 4.0, "cpu_s": 0.5, "server_cpu_s": {"kube-apiserver": 1.5},
         "machine_cpu_s": {"busy": 2.0, "steal": 0.0}},
    ]  # fmt: skip
    found = others_cores(first, runs, 2)
    assert found["fluxd_first_sync"] == 0.5
    assert found["ceiling_runs_range"] == [0.0, 1.0]
    assert found["ceiling_runs_median"] == 0.5
