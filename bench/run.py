"""``python -m bench.run [--smoke] [--out bench]``: ours vs the usual sklearn-on-Lambda design.

Starts the local emulator once (moto server + the template's resources + the bootstrap that
trains and publishes v1 of each model), then measures, for our predict handler and for
``bench/baseline_handler.py`` on the same model and inputs: cold start (fresh processes), warm
latency through API Gateway v2 events, the scorer per row, batch throughput, the CLI on the
full bank dataset, one retrain, package sizes and cost per million predictions. Writes
``report.json`` and ``report.md``. A tool, not a test: it never asserts timings.

This module is the command line and the order of the parts; each part lives in its own module
(``cold``, ``warm``, ``batch``, ``retrain``, ``cost``, ``load``, ``chat_parse``, ``runtimes``,
``retrain_scale``; ``stack`` drives those that need the local stack, ``targets`` and
``report_md`` turn the measurements into the report).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import (
    FULL,
    OPTIONAL_PARTS,
    PARTS,
    REPO,
    SMOKE,
    Plan,
    machine,
    say,
)
from bench.cost import cost_part, package_sizes
from bench.report_md import render_markdown
from bench.retrain import retrain
from bench.stack import run_with_stack
from bench.targets import targets


def run(
    plan: Plan,
    out: Path,
    *,
    smoke: bool,
    parts: Sequence[str] = PARTS,
    scale_sizes: Sequence[int] = (),
    scale_base: Sequence[int] = (),
) -> dict[str, Any]:
    """Every part (the reports) or, with ``parts`` a subset, those parts into partial.json."""
    t_start = time.perf_counter()
    partial = set(parts) != set(PARTS)
    report: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "smoke" if smoke else "full",
        "parts": list(parts),
        "machine": machine(),
        "targets": {},
    }
    if set(parts) & {"cold", "warm", "shadow", "scorer", "batch", "load", "runtimes"}:
        run_with_stack(plan, report, parts, smoke=smoke)

    if "retrain" in parts:
        # 4. retrain (its own process, reads the shipped dataset)
        say(f"retrain × {plan.retrain_runs} …")
        report["retrain"] = retrain(plan.retrain_runs)

    if "chat-parse" in parts:
        from bench import chat_parse  # its own module: a real file, not a program in a string

        say("chat parse time by message length …")
        report["chat_parse"] = chat_parse.measure(smoke=smoke)

    if "retrain-scale" in parts:
        from bench import retrain_scale  # its own module and report (retrain_scale.md/.png)

        say(
            f"retrain at scale: N = {', '.join(f'{n:,}' for n in scale_sizes)}, "
            f"base × {', '.join(map(str, scale_base)) or 'none'} …"
        )
        report["retrain_scale"] = retrain_scale.measure(scale_sizes, out, scale_base)

    if partial:
        report["bench_seconds"] = time.perf_counter() - t_start
        out.mkdir(parents=True, exist_ok=True)
        (out / "partial.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
        say(f"wrote {out / 'partial.json'} (parts: {', '.join(parts)})")
        return report

    # 5. sizes
    report["package_sizes"] = package_sizes()

    # 6. cost
    report["cost_per_million"] = cost_part(report)

    report["targets"] = targets(report)
    report["bench_seconds"] = time.perf_counter() - t_start
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (out / "report.md").write_text(render_markdown(report))
    say(f"wrote {out / 'report.json'} and {out / 'report.md'} in {report['bench_seconds']:.0f} s")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="a few iterations, seconds")
    parser.add_argument("--out", default=str(REPO / "bench"), help="directory for the reports")
    parser.add_argument(
        "--only",
        action="append",
        choices=(*PARTS, *OPTIONAL_PARTS),
        help="run only this part (repeatable); writes <out>/partial.json instead of the reports",
    )
    parser.add_argument(
        "--scale-sizes",
        type=int,
        nargs="+",
        default=[10_000, 100_000],
        help="retrain-scale: feedback rows per measurement",
    )
    parser.add_argument(
        "--scale-1m", action="store_true", help="retrain-scale: add N = 1,000,000 (slow)"
    )
    parser.add_argument(
        "--scale-base",
        type=int,
        nargs="*",
        default=[10, 100],
        help="retrain-scale: base dataset resampled to k × the bank rows (none: skip)",
    )
    parser.add_argument("--cold-runs", type=int, help="fresh processes per design (cold start)")
    args = parser.parse_args(argv)
    plan = SMOKE if args.smoke else FULL
    if args.cold_runs:
        plan = replace(plan, cold_runs=args.cold_runs)
    parts = tuple(p for p in (*PARTS, *OPTIONAL_PARTS) if p in args.only) if args.only else PARTS
    sizes = [*args.scale_sizes, *([1_000_000] if args.scale_1m else [])]
    run(
        plan,
        Path(args.out),
        smoke=args.smoke,
        parts=parts,
        scale_sizes=sizes,
        scale_base=args.scale_base,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
