"""``python -m fluxtestbed.bench [--smoke] [--out DIR]``: run, write JSON and Markdown."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from fluxtestbed.bench.harness import TOOLS, Plan, run
from fluxtestbed.bench.merge import merge
from fluxtestbed.bench.report import render, targets
from fluxtestbed.revision import code_revision

DOCS = Path(__file__).resolve().parents[3] / "docs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fluxtestbed.bench", description=__doc__)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="N=50, every tool once, 2 pushes of ours, 1 of each peer, 1 ceiling rep, "
        "0.5 s of quiet before each measured run",
    )
    parser.add_argument("--out", type=Path, default=DOCS, help="where to write the results")
    parser.add_argument("--sizes", default="", help="comma list of N (default 5000; 20000 too)")
    parser.add_argument("--tools", default="", help=f"comma list of {','.join(TOOLS)}")
    parser.add_argument(
        "--pushes",
        type=int,
        default=0,
        help="push-to-live samples of every tool (default: 20 ours, 3 Flux v1, 5 Flux v2)",
    )
    parser.add_argument(
        "--ceiling-reps",
        type=int,
        default=None,
        help="rounds of the ceiling sweep after fluxd (default 3; 0 skips the ceiling)",
    )
    parser.add_argument(
        "--render",
        type=Path,
        default=None,
        help="only re-render benchmarks.md (and the targets) from this benchmarks.json",
    )
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        default=None,
        help="join these benchmarks.json files (later ones win, tool by tool) into --out",
    )
    args = parser.parse_args(argv)
    if args.merge:
        results = merge(args.merge)
        results["targets"] = targets(results)
        write(results, args.out, invocation(argv))
        return 0
    if args.render is not None:
        results = json.loads(args.render.read_text())
        results["meta"]["rendered_with"] = invocation(argv)
        results["targets"] = targets(results)
        write(results, args.render.parent, results["meta"]["command"])
        return 0
    plan = Plan()
    if args.smoke:
        plan = replace(
            plan,
            sizes=(50,),
            pushes=2,
            fluxv1_pushes=1,
            fluxv2_pushes=1,
            ceiling_reps=1,
            quiet_s=0.5,
            smoke=True,
        )
    if args.sizes:
        plan = replace(plan, sizes=tuple(int(x) for x in args.sizes.split(",")))
    if args.tools:
        plan = replace(plan, tools=tuple(args.tools.split(",")))
    if args.pushes:
        plan = replace(
            plan, pushes=args.pushes, fluxv1_pushes=args.pushes, fluxv2_pushes=args.pushes
        )
    if args.ceiling_reps is not None:
        plan = replace(plan, ceiling_reps=args.ceiling_reps)
    command, commit = invocation(argv), code_revision()

    def progress(results: dict[str, Any]) -> None:
        results["meta"]["command"] = command
        results["meta"]["commit"] = commit
        results["targets"] = targets(results)
        write(results, args.out, command)

    run(plan, progress)
    return 0


def invocation(argv: list[str] | None) -> str:
    """How this run was started, to print in the report."""
    args = sys.argv[1:] if argv is None else argv
    if os.environ.get("MAKELEVEL") and not args:
        env = "PYTHONPATH=tests " if "tests" in os.environ.get("PYTHONPATH", "") else ""
        return f"{env}make bench"
    return "PYTHONPATH=tests .venv/bin/python -m fluxtestbed.bench " + shlex.join(args)


def write(results: dict[str, object], out: Path, command: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmarks.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "benchmarks.md").write_text(render(results, command))
    print(f"wrote {out / 'benchmarks.md'} and {out / 'benchmarks.json'}")


if __name__ == "__main__":
    sys.exit(main())
