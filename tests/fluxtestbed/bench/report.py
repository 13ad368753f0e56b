"""docs/benchmarks.md from the raw results: tables, targets, machine, command."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from fluxtestbed.bench.api import fluxd_mutations


def med(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def spread(values: Sequence[float], unit: str = "s", digits: int = 2) -> str:
    """``median (min-max)``."""
    if not values:
        return "-"
    f = f"{{:.{digits}f}}"
    return f"{f.format(med(values))}{unit} ({f.format(min(values))}-{f.format(max(values))})"


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target of the benchmark, measured value beside it, met or not."""
    by_n = {c["n"]: c for c in results["cases"]}
    out: list[dict[str, Any]] = []

    def add(name: str, measured: float, limit: float, unit: str, *, at_least: bool = False) -> None:
        met = measured >= limit if at_least else measured <= limit
        sign = "≥" if at_least else "≤"
        out.append(
            {
                "target": f"{name} {sign} {limit:g}{unit}",
                "measured": round(measured, 3),
                "unit": unit,
                "met": met,
            }
        )

    for n in (1000, 5000):
        if n in by_n:
            rows = by_n[n]["first_sync"]
            add(
                f"first sync N={n}: fluxd took / kubectl",
                med([r["ratio_took"] for r in rows]),
                0.6,
                "×",
            )
            add(
                f"first sync N={n}: fluxd wall / kubectl",
                med([r["ratio_wall"] for r in rows]),
                0.6,
                "×",
            )
            add(
                f"first sync N={n}: fluxd throughput / ceiling",
                med([r["fraction_of_ceiling"] for r in rows]),
                0.8,
                "×",
                at_least=True,
            )
    big = by_n.get(5000) or by_n[max(by_n)]
    n = big["n"]
    add(f"no-op resync N={n}: took", med([x["took_s"] for x in big["noop"]]), 1.0, "s")
    add(
        f"no-op resync N={n}: mutating requests",
        med([float(_fluxd_writes(x)) for x in big["noop"]]),
        0,
        "",
    )
    live = big["push_live"]
    add(f"push to live N={n}, webhook: p50", live["webhook"]["p50_s"], 1.0, "s")
    add(f"push to live N={n}, webhook: p95", live["webhook"]["p95_s"], 2.0, "s")
    add(f"push to live N={n}, 1 s polling: p50", live["poll_1s"]["p50_s"], 2.0, "s")
    add(f"fluxd peak RSS N={n}", max(m["peak_mib"] for m in big["memory"]), 150, " MiB")
    syncs = [s for c in results["cases"] for s in c["fluxctl"]["sync_s"]]
    add("fluxctl sync, nothing to do (all N)", med(syncs), 1.0, "s")
    return out


def _fluxd_writes(noop: dict[str, Any]) -> int:
    """Recomputed from the raw windows, so re-rendering applies the current rule."""
    return fluxd_mutations(noop["mutations_during"], noop["mutations_idle"])


def _cpu(run: dict[str, Any], names: tuple[str, ...]) -> str:
    cpu = run.get("cpu_s") or {}
    return " / ".join(f"{cpu[n]:.1f}" for n in names) if cpu else "-"


def render(results: dict[str, Any], command: str) -> str:
    meta = results["meta"]
    cases = results["cases"]
    lines = [
        "# Benchmarks",
        "",
        f"Measured with `{command}` on the local test bed (a real kube-apiserver, etcd, "
        "kube-controller-manager, kube-scheduler and kwok on 127.0.0.1), "
        f"{meta['started']} to {meta['finished']} ({meta['duration_s']:.0f} s). "
        "Raw results: [benchmarks.json](benchmarks.json)."
        + (
            f" This page was rendered again from that JSON by `{meta['rendered_with']}`."
            if meta.get("rendered_with")
            else ""
        ),
        "",
        "## Machine",
        "",
        f"- CPU: {meta['cpu']} ({meta['cores']} cores), {meta['memory_gib']} GiB RAM, "
        f"Linux {meta['kernel']}, Python {meta['python']}",
        f"- {meta['kubernetes']}; {meta['kubectl']}; {meta['etcd']} (data in /dev/shm)",
        f"- Load average at start: {', '.join(str(x) for x in meta['load_avg_at_start'])}. "
        "The machine is shared: other work ran beside the benchmark, and the load "
        "average of every run is in the JSON. Compare the ratios more than the absolute times.",
        "",
        "## Method",
        "",
        f"- N = {', '.join(str(c['n']) for c in cases)} objects, each case "
        f"{meta['repetitions']} times, fluxd and kubectl interleaved (A/B, then B/A). "
        "Mix per 20 objects: 6 ConfigMaps, 4 Secrets, 3 ServiceAccounts, 3 Services, "
        "4 Deployments (replicas 0, so the cluster starts no pods), one file per object, "
        "over 10-50 namespaces (also in the repo and counted as objects applied).",
        f"- Fresh cluster state: {meta['fresh_state']}.",
        "- fluxd runs as the `flux` pod of `deploy/` (host process behind a kwok port-forward), "
        "a fresh install per run, with deploy/'s args plus "
        f"`{' '.join(meta['fluxd_extra_flags'])}`. "
        f"Its client-side rate limit: qps={meta['fluxd_rate_limit']['qps']:g}, "
        f"burst={meta['fluxd_rate_limit']['burst']} (defaults; flags available: "
        f"{', '.join(meta['fluxd_rate_limit']['flags_available']) or 'none'}; none passed).",
        "- First sync, fluxd: `took` is fluxd's own `took=` of the pass that applied the push; "
        "`wall` runs from the webhook POST (right after `git push` returned) to the time "
        "stamp of that pass's log line (every object answered by the API server; a LIST "
        "afterwards confirms all are present). kubectl: wall time of "
        "`kubectl apply --server-side -R -f <dir>` of the same files.",
        "- Ceiling: httpx (one keep-alive `httpx.Client` shared by c threads, admin client "
        "certificate) sending the same "
        "server-side-apply PATCHes (`?fieldManager=bench&force=true`, "
        "`application/apply-patch+yaml`, JSON body), namespaces first, at concurrency "
        "1, 4, 8, 16, 32, once each, then once with httpx's asyncio client "
        "(`AsyncClient`, c tasks) at the best c; the faster counts. Above 1,000 objects "
        "the sweep sends the namespaces and the first 1,000 objects, and the best "
        "concurrency (and client) is run again over all N; that run "
        "is the ceiling. fluxd's fraction = (objects / fluxd took) / ceiling objects/s.",
        "- No-op resync: `fluxctl --url <fluxd on 127.0.0.1> sync` with nothing changed "
        "(no port-forward in the window). Mutating requests = `apiserver_request_total` "
        "(POST/PUT/PATCH/DELETE) from before the request to 1 s after the pass, minus an "
        "idle window of the same length right after, per verb and resource. Only "
        "resources fluxd writes count (namespaces, configmaps, secrets, serviceaccounts, "
        "services, deployments, events; no subresource): the controller-manager is still "
        "creating ReplicaSets and writing `deployments/status` for the runs before, and "
        "kwok and the controllers renew Leases. The metric has no user-agent label, so "
        "this is a difference of windows, not a per-client count; the table lists "
        "everything both windows saw.",
        "- Caveat for no-op and push to live: within an N the objects of earlier runs stay "
        "(fresh names per run), and fluxd's drift check lists every object that carries "
        "its GC-mark label cluster-wide, whichever install applied it. So the no-op pass "
        "of repetition r lists about r × N objects, and push to live (run with the last "
        "repetition's fluxd) lists about 3 × N; "
        "the no-op `took` per repetition shows the effect.",
        "- Push to live: commit + push of one ConfigMap value in the N-object repo; the "
        "clock starts when `git push` returns; the change is live when a GET of the "
        "ConfigMap (polled every 20 ms) shows it. Webhook: POST /hook/github "
        "right after the push. Polling: the same fluxd restarted with "
        "`--git-poll-interval=1s`, no webhook.",
        "- Memory: /proc/<pid>/status of fluxd: VmHWM (peak) right after the first sync, "
        "VmRSS 2 s later (at rest).",
        "- fluxctl: wall time of the command through the kwok port-forward.",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    for t in results["targets"]:
        lines.append(
            f"| {t['target']} | {t['measured']:g}{t['unit']} | {'yes' if t['met'] else '**no**'} |"
        )
    lines += [
        "",
        "## 1. First sync",
        "",
        "Median (min-max) over the repetitions; ratios are per run, then the median.",
        "",
        "| N | objects | fluxd took | fluxd wall | kubectl | took/kubectl | wall/kubectl | "
        "fluxd objects/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in cases:
        rows = c["first_sync"]
        lines.append(
            f"| {c['n']:,} | {c['objects_with_namespaces']:,} "
            f"| {spread([r['fluxd']['took_s'] for r in rows])} "
            f"| {spread([r['fluxd']['wall_s'] for r in rows])} "
            f"| {spread([r['kubectl']['wall_s'] for r in rows])} "
            f"| {spread([r['ratio_took'] for r in rows], '', 2)} "
            f"| {spread([r['ratio_wall'] for r in rows], '', 2)} "
            f"| {spread([r['fluxd_objects_per_s'] for r in rows], '', 0)} |"
        )
    lines += [
        "",
        "Per run:",
        "",
        "| N | rep | order | fluxd took | fluxd wall | kubectl | took/kubectl "
        "| load avg (fluxd, kubectl) | CPU s, fluxd run: fluxd / apiserver / etcd "
        "| CPU s, kubectl run: apiserver / etcd |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cases:
        for r in c["first_sync"]:
            lines.append(
                f"| {c['n']:,} | {r['rep']} | {r['order']} | {r['fluxd']['took_s']:.2f}s "
                f"| {r['fluxd']['wall_s']:.2f}s | {r['kubectl']['wall_s']:.2f}s "
                f"| {r['ratio_took']:.2f} "
                f"| {r['fluxd']['load_avg']:.1f}, {r['kubectl']['load_avg']:.1f} "
                f"| {_cpu(r['fluxd'], ('fluxd', 'kube-apiserver', 'etcd'))} "
                f"| {_cpu(r['kubectl'], ('kube-apiserver', 'etcd'))} |"
            )
    lines += [
        "",
        "## 2. Ceiling (raw concurrent server-side apply)",
        "",
        "| N | "
        + " | ".join(f"c={c}" for c in (1, 4, 8, 16, 32))
        + " | ceiling | client CPU s / wall s of the ceiling run | fluxd / ceiling |",
        "|---|" + "---|" * 8,
    ]
    for c in cases:
        ceil = c["ceiling"]
        cells = [f"{r['objects_per_s']:.0f}/s" for r in ceil["sweep"]]
        lines.append(
            f"| {c['n']:,} ({ceil['sweep_objects']:,} sent) | "
            + " | ".join(cells)
            + f" | {ceil['best_objects_per_s']:.0f}/s at c={ceil['best_concurrency']} "
            f"({ceil.get('best_client', 'async')}) "
            f"| {ceil.get('best_client_cpu_s', 0):.1f} / {ceil['best_took_s']:.1f} "
            f"| {spread([r['fraction_of_ceiling'] for r in c['first_sync']], '', 2)} |"
        )
    lines += [
        "",
        "## 3. No-op resync",
        "",
        "| N | took | took per repetition | mutating requests (pass − idle) "
        "| what the pass window wrote | idle window |",
        "|---|---|---|---|---|---|",
    ]
    for c in cases:
        noops = c["noop"]
        per_rep = ", ".join(f"{x['took_s']:.2f}s" for x in noops)
        during = "; ".join(
            ", ".join(f"{k} {v}" for k, v in x["mutations_during"].items()) or "nothing"
            for x in noops
        )
        idle = "; ".join(
            ", ".join(f"{k} {v}" for k, v in x["mutations_idle"].items()) or "nothing"
            for x in noops
        )
        lines.append(
            f"| {c['n']:,} | {spread([x['took_s'] for x in noops])} "
            f"| {per_rep} "
            f"| {spread([float(_fluxd_writes(x)) for x in noops], '', 0)} | {during} | {idle} |"
        )
    lines += [
        "",
        "## 4. Push to live",
        "",
        "| N | pushes per mode | webhook p50 | webhook p95 | webhook min-max | 1 s poll p50 | "
        "1 s poll p95 | 1 s poll min-max |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in cases:
        pl = c["push_live"]
        w, p = pl["webhook"], pl["poll_1s"]
        lines.append(
            f"| {c['n']:,} | {pl['pushes']} | {w['p50_s']:.2f}s | {w['p95_s']:.2f}s "
            f"| {w['min_s']:.2f}-{w['max_s']:.2f}s | {p['p50_s']:.2f}s | {p['p95_s']:.2f}s "
            f"| {p['min_s']:.2f}-{p['max_s']:.2f}s |"
        )
    lines += [
        "",
        "## 5. Memory (fluxd)",
        "",
        "| N | peak RSS (VmHWM) | RSS at rest (VmRSS) |",
        "|---|---|---|",
    ]
    for c in cases:
        mem = c["memory"]
        lines.append(
            f"| {c['n']:,} | {spread([m['peak_mib'] for m in mem], ' MiB', 0)} "
            f"| {spread([m['rest_mib'] for m in mem], ' MiB', 0)} |"
        )
    lines += [
        "",
        "## 6. fluxctl (through the port-forward)",
        "",
        "| N | `sync`, nothing to do | `list-workloads -a` | rows listed |",
        "|---|---|---|---|",
    ]
    for c in cases:
        f = c["fluxctl"]
        rows = sorted(set(f["list_workloads_rows"]))
        lines.append(
            f"| {c['n']:,} | {spread(f['sync_s'])} | {spread(f['list_workloads_s'])} "
            f"| {', '.join(str(r) for r in rows)} |"
        )
    if cases:
        lines += ["", f"Command form used: `{cases[0]['fluxctl']['form']}`."]
    lines.append("")
    return "\n".join(lines)
