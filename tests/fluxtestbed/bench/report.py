"""docs/benchmarks.md from the raw results: the side-by-side table, the ceiling, method."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from fluxtestbed.bench.methods import method_lines

NAMES = {
    "fluxd": "fluxd (ours)",
    "kubectl": "kubectl apply --server-side",
    "fluxv1": "Flux v1 fluxd 1.25.4",
    "fluxv2": "Flux v2 kustomize-controller 1.9.6",
}


def med(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets for ours, measured value beside each, met or not."""
    out: list[dict[str, Any]] = []

    def add(
        name: str, measured: float | None, limit: float, unit: str, at_least: bool = False
    ) -> None:
        if measured is None:
            return
        met = measured >= limit if at_least else measured <= limit
        sign = "≥" if at_least else "≤"
        out.append(
            {"target": f"{name} {sign} {limit:g}{unit}", "measured": round(measured, 3),
             "unit": unit, "met": met}
        )  # fmt: skip

    for case in results["cases"]:
        n, tools = case["n"], case["tools"]
        ours = tools.get("fluxd")
        if not ours:
            continue
        verdict = case.get("ceiling", {}).get("verdict") or {}
        add(f"N={n}: fluxd throughput / honest ceiling", verdict.get("fraction"), 0.85, "×", True)
        for peer, limit in (("fluxv2", 0.5), ("fluxv1", 0.2)):
            if peer in tools:
                ratio = ours["first_sync"]["wall_s"] / max(
                    tools[peer]["first_sync"]["wall_s"], 1e-6
                )
                add(f"N={n}: first sync fluxd / {NAMES[peer]}", ratio, limit, "×")
        add(f"N={n}: no-op writes (audit log)", ours["noop"]["writes"]["total"], 0, "")
        add(f"N={n}: no-op pass", ours["noop"]["took_s"], 0.5 if n <= 5000 else 1.5, "s")
        add(
            f"N={n}: push to live p50 (webhook)",
            ours["push_live"]["p50_s"],
            0.5 if n <= 5000 else 1.0,
            "s",
        )
        peers = [
            t["push_live"]["p50_s"] for k, t in tools.items() if k != "fluxd" and t.get("push_live")
        ]
        if peers:
            add(
                f"N={n}: push to live p50 / fastest peer's p50",
                ours["push_live"]["p50_s"] / min(peers),
                1.0,
                "×",
            )
        if "fluxv2" in tools:
            add(
                f"N={n}: peak RSS fluxd / kustomize-controller's",
                ours["peak_mib"] / max(tools["fluxv2"]["peak_mib"], 1e-6),
                1.0,
                "×",
            )
        if n >= 20000:
            add(f"N={n}: fluxd peak RSS", ours["peak_mib"], 200, " MiB")
    return out


def _per_k(cpu: float, objects: int) -> str:
    return f"{cpu / objects * 1000:.2f}" if objects else "-"


def _passes(first: dict[str, Any]) -> str:
    count = int(first.get("passes", 1))
    return f", {count} passes" if count > 1 else ""


def _settled(waited: dict[str, Any] | None) -> str:
    """How the wait for a settled cluster before a run went (absent in older results)."""
    if not waited:
        return "-"
    return f"{waited['waited_s']:.1f} s" + ("" if waited["settled"] else " (not settled)")


def _tool_row(name: str, row: dict[str, Any] | None) -> str:
    if row is None:
        return f"| {NAMES[name]} | did not complete (below) |" + " |" * 11
    first, noop, live = row["first_sync"], row["noop"], row.get("push_live")
    objects = int(first["expected"])
    cpu = first["cpu_s"]
    server = cpu.get("kube-apiserver", 0.0) + cpu.get("etcd", 0.0)
    rest = f"{cpu['machine'] - server - cpu['tool']:.1f}" if "machine" in cpu else "-"
    if "controllers" in cpu:
        rest += f" ({cpu['controllers']:.1f})"
    live_cell = (
        f"{live['p50_s']:.2f} / {live['p95_s']:.2f} s ({len(live['samples'])})" if live else "n/a"
    )
    return (
        f"| {NAMES[name]} | {first['wall_s']:.2f} s ({first['present']}/{objects}"
        f"{_passes(first)}) "
        f"| {objects / max(first['wall_s'], 1e-6):.0f} "
        f"| {noop['took_s']:.2f} s | {noop['writes']['total']}{_dry(noop['writes'])} "
        f"| {noop['writes'].get('lease_writes', '-')} "
        f"| {live_cell} | {row['peak_mib']:.0f} MiB "
        f"| {_per_k(cpu['tool'], objects)} | {_per_k(server, objects)} | {rest} "
        f"| {_settled(first.get('settling'))} | {first['load_avg'][0]:.1f} |"
    )


def _others(ceil: dict[str, Any]) -> str:
    """How busy the rest of the machine was during fluxd's first sync and the ceiling's runs."""
    found = ceil.get("others_cores") or {}
    if found.get("fluxd_first_sync") is None or found.get("ceiling_runs_median") is None:
        return ""
    low, high = found["ceiling_runs_range"]
    return (
        f" Every other process (the controllers and kwok included) kept "
        f"{found['fluxd_first_sync']:.2f} of the "
        f"{found['cores']} cores busy during fluxd's first sync, and "
        f"{found['ceiling_runs_median']:.2f} (median; {low:.2f} to {high:.2f}) "
        "during the ceiling's runs."
    )


def side_by_side(case: dict[str, Any]) -> list[str]:
    lines = [
        f"### N = {case['n']:,} ({case['objects_with_namespaces']:,} objects with "
        f"{case['namespaces']} namespaces)",
        "",
        "| tool | first sync (present/expected) | objects/s | no-op pass | no-op sync writes "
        "| no-op Lease renewals | push → live p50 / p95 (samples) | peak RSS "
        "| tool CPU s / 1,000 | apiserver+etcd CPU s / 1,000 "
        "| rest of the machine's CPU s (of it controllers+kwok) "
        "| wait to settle before | load avg (1 min) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    errors = case.get("errors", {})
    for name in NAMES:
        if name in case["tools"] or name in errors:
            lines.append(_tool_row(name, case["tools"].get(name)))
    ceil = case.get("ceiling")
    if ceil and ceil["best_per_second"] > 0:
        verdict = ceil.get("verdict") or {}
        ratio = verdict.get("why") or f"fluxd at {verdict.get('fraction', 0):.2f} × the ceiling"
        lines.append(
            "| honest ceiling (Go, fluxd's requests) "
            f"| {case['objects_with_namespaces'] / ceil['best_per_second']:.2f} s (at its rate) "
            f"| {ceil['best_per_second']:.0f} (c={ceil['best_concurrency']}) | | | | | | | | | "
            f"| {ceil['load_avg'][0]:.1f} |"
        )
        lines += ["", f"fluxd's throughput (objects / its pass's `took`): "
                  f"{case.get('fluxd_per_second', 0):.0f}/s; {ratio}.{_others(ceil)}"]  # fmt: skip
    for name, why in errors.items():
        lines += ["", f"{NAMES.get(name, name)} did not complete:", "", "```", why, "```"]
    return lines


def run_sources(meta: dict[str, Any]) -> list[str]:
    """For a joined report: which run each row comes from."""
    runs = meta.get("merged_from") or []
    if not runs:
        return []
    lines = [
        f"This page joins {len(runs)} runs of the bench on this machine, each on "
        "a fresh control plane; a tool measured by a later run takes its row from that run "
        "(the load of each row is in its last column):",
        "",
    ]
    for run in runs:
        commit = f", commit {run['commit']}" if run.get("commit") else ""
        lines.append(
            f"- `{run['command']}`, {run['started']} to {run['finished']}{commit}: "
            f"{', '.join(run['tools'])} ({run['file']})"
        )
    return [*lines, ""]


def _commit(meta: dict[str, Any]) -> str:
    """The code measured; a joined page names it per run instead."""
    if meta.get("merged_from") or not meta.get("commit"):
        return ""
    return f" at commit {meta['commit']}"


def _dry(writes: dict[str, Any]) -> str:
    """Dry runs are shown beside the writes: they store nothing, but cost the server."""
    return f" (+{writes['dry_runs']} dry runs)" if writes.get("dry_runs") else ""


def ceiling_sweep(case: dict[str, Any]) -> list[str]:
    ceil = case.get("ceiling")
    if not ceil:
        return []
    lines = [
        f"### N = {case['n']:,}: fluxd sent {ceil['recorded_requests']:,} apply requests; "
        f"each run replays {ceil['requests']:,} of them (the namespaces first)",
        "",
        "| concurrency | objects/s per repetition | median |",
        "|---|---|---|",
    ]
    for row in ceil["sweep"]:
        best = " **(best)**" if row["concurrency"] == ceil["best_concurrency"] else ""
        reps = ", ".join(f"{x:.0f}" for x in row["per_second"])
        lines.append(f"| {row['concurrency']} | {reps} | {row['median_per_second']:.0f}{best} |")
    return [*lines, "", *ceiling_runs(ceil.get("runs") or [])]


def ceiling_runs(runs: list[dict[str, Any]]) -> list[str]:
    """Each ceiling run in the order it ran, with the wait before it and whose CPU it used."""
    if not runs:
        return []
    lines = [
        "Each run in the order it ran (CPU in seconds over the run; the rest of the "
        "machine is every other process, the benchmark's own included):",
        "",
        "| # | concurrency | objects/s | s | errors | wait to settle before | client CPU "
        "| apiserver+etcd CPU | rest of the machine's CPU (of it controllers+kwok) "
        "| controller writes during | connections (protocol) | load avg (1 min) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(runs, 1):
        server = sum(r.get("server_cpu_s", {}).values())
        busy = r.get("machine_cpu_s", {}).get("busy")
        rest = f"{busy - server - r.get('cpu_s', 0):.1f}" if busy is not None else "-"
        if "controllers_cpu_s" in r:
            rest += f" ({r['controllers_cpu_s']:.1f})"
        lines.append(
            f"| {i} | {r['concurrency']} | {r['per_second']:.0f} | {r['seconds']:.1f} "
            f"| {r['errors']} | {_settled(r.get('settling'))} | {r.get('cpu_s', 0):.2f} "
            f"| {server:.1f} | {rest} | {r.get('controller_writes', '-')} "
            f"| {r.get('connections', '-')} ({r.get('proto', '?')}) | {r['load_avg'][0]:.1f} |"
        )
    return [*lines, ""]


def writes_detail(case: dict[str, Any]) -> list[str]:
    lines = [
        f"### N = {case['n']:,}",
        "",
        "| tool | first sync writes | no-op writes by verb and resource | no-op writes by name "
        "| Lease renewals (first sync / no-op) |",
        "|---|---|---|---|---|",
    ]
    for name, row in case["tools"].items():
        first = row["first_sync"]["writes"]["by_verb_resource"]
        noop = row["noop"]["writes"]
        lines.append(
            f"| {NAMES[name]} | {_pairs(first)} | {_pairs(noop['by_verb_resource']) or 'none'} "
            f"| {_pairs(noop['by_name']) or 'none'} "
            f"| {row['first_sync']['writes'].get('lease_writes', '-')} "
            f"/ {noop.get('lease_writes', '-')} |"
        )
    return [*lines, ""]


def _pairs(counts: dict[str, int]) -> str:
    return "; ".join(f"`{k}` {v}" for k, v in counts.items())


def fluxctl_detail(case: dict[str, Any]) -> list[str]:
    f = case["tools"].get("fluxd", {}).get("fluxctl")
    if not f:
        return []
    lines = [f"N = {case['n']:,}, {f['rows']} rows listed; form `{f['form']}`:", ""]
    lines += ["| fluxctl | command | median | runs |", "|---|---|---|---|"]
    for key, times in f.items():
        if isinstance(times, list):
            who, command = key.split(" ", 1)
            label = "ours" if who == "ours" else "Go fluxctl 1.25.4"
            runs = ", ".join(f"{t:.2f}" for t in times)
            lines.append(f"| {label} | `{command}` | {med(times):.2f} s | {runs} |")
    return [*lines, ""]


def render(results: dict[str, Any], command: str) -> str:
    meta, cases = results["meta"], results["cases"]
    rendered = (
        f" This page was rendered again from that JSON by `{meta['rendered_with']}`."
        if meta.get("rendered_with") else ""
    )  # fmt: skip
    lines = [
        "# Benchmarks",
        "",
        *run_sources(meta),
        f"Measured with `{command}`{_commit(meta)} on the local test bed (a real "
        "kube-apiserver, etcd, "
        "kube-controller-manager, kube-scheduler and kwok on 127.0.0.1), "
        f"{meta['started']} to {meta['finished']} ({meta['duration_s']:.0f} s). "
        f"Raw results: [benchmarks.json](benchmarks.json).{rendered}",
        "",
        "## 1. All tools side by side",
        "",
        "Same build of the API server (a fresh control plane for each tool), same "
        "machine, same object mix, each tool alone with its own repo through the same "
        "git server, one run each. Flux v2's figures start when "
        "its artifact is published: its git fetch (source-controller's work, played by "
        "the bench) is not in them. CPU per 1,000 objects is of the first sync.",
        "",
    ]
    for case in cases:
        lines += [*side_by_side(case), ""]
    lines += ["## 2. The honest ceiling", ""]
    for case in cases:
        lines += ceiling_sweep(case)
    lines += ["## 3. Writes, from the API server's audit log", ""]
    for case in cases:
        lines += writes_detail(case)
    lines += ["## 4. fluxctl through the port-forward, against our fluxd", ""]
    for case in cases:
        lines += fluxctl_detail(case)
    lines += ["## 5. Targets for ours", "", "| target | measured | met |", "|---|---|---|"]
    for t in results["targets"]:
        met = "yes" if t["met"] else "**no**"
        lines.append(f"| {t['target']} | {t['measured']:g}{t['unit']} | {met} |")
    lines += ["", *method_lines(meta), ""]
    return "\n".join(lines)
