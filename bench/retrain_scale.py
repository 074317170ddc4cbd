"""``python -m bench.run --only retrain-scale``: a retrain's cost as the feedback and the base grow.

Feedback points: for each N (10k and 100k; 1M with ``--scale-1m``), fresh stores
(``retrain_scale_stack``: DynamoDB Local and a moto S3 server with the template's tables and
bucket, bank's v1 as champion, the shipped bank base of 45,211 rows) and N feedback rows
resampled from the bank dataset (with replacement, fixed seed), written as the feedback
function writes them (items numbered in commit order, with their ``SEQ#`` pointers). Then, each
retrain in its own process, through the retrain function's wiring:

1. ``table``: the feedback read in full from DynamoDB (the design before training snapshots);
2. ``snapshot-first``: the first retrain with a snapshot: reads every item once, writes parts;
3. ``snapshot-next``: after 1 % more feedback arrived: reads only those, plus the parts;
4. ``table-next``: the full read again, at the same N + 1 %.

At N ≥ 1M only 2 and 3 run (1 and 4 read the same items as 2, without the snapshot).

Base points: for each factor k (10 and 100), fresh stores whose base dataset is the bank
dataset resampled to k × 45,211 rows (with replacement, fixed seed), uploaded to the bucket's
datasets prefix and named in bank's config (its own SHA-256), 10,000 feedback rows, and one
``snapshot-first`` retrain.

Measured per retrain: wall time of ``retrain()``, peak resident memory (VmHWM of the child),
feedback-table items DynamoDB returned and the read capacity it reports consumed (every
Query/GetItem/BatchGetItem asks for ``ReturnConsumedCapacity``), S3 bytes read, and where the
time went (a sampling profiler in the child). A tool, not a test: it never asserts. Writes
``retrain_scale.{json,md,png}`` into the output directory after every point (so a long run
that is stopped keeps what it measured); ``--replot`` renders them again from the JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.retrain_scale_report import BASE_ROWS, markdown, plot
from bench.retrain_scale_stack import (
    MODEL,
    REPO,
    bank_rows,
    fill,
    run_child,
    say,
    scaled_base,
    stores,
)

SIZES = (10_000, 100_000)
BASE_FACTORS = (10, 100)
BASE_FEEDBACK = 10_000
MODES = ("table", "snapshot-first", "snapshot-next", "table-next")
LARGE_MODES = ("snapshot-first", "snapshot-next")
NEW_SHARE = 0.01
SEED = 17


def _log(sample: dict[str, Any]) -> None:
    say(
        f"N={sample['n']:,} base={sample['base_rows']:,} {sample['mode']}: "
        f"{sample['retrain_s']:.1f} s, {sample['peak_rss_mib']:.0f} MiB, "
        f"{sample['dynamodb_feedback_items_read']:,} items, "
        f"{sample['s3_bytes_read'] / 1e6:.1f} MB from S3"
    )


def measure_size(n: int, v1: Any, loads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    new = max(100, int(n * NEW_SHARE))
    rows, labels = bank_rows(n + new, SEED)
    samples = []
    with stores(v1) as point:
        started = time.perf_counter()
        fill(point.db, point.table, 1, rows[:n], labels[:n])
        seconds = time.perf_counter() - started
        loads.append({"rows": n, "items": 2 * n, "seconds": seconds})
        say(f"N={n:,}: {n:,} rows written in {seconds:.0f} s")
        for mode in MODES if n < 1_000_000 else LARGE_MODES:
            if mode == "snapshot-next":
                fill(point.db, point.table, n + 1, rows[n:], labels[n:])
            sample = run_child(mode, point.env)
            sample.update(
                n=n if mode in ("table", "snapshot-first") else n + new,
                size=n,
                base_rows=BASE_ROWS,
                base_factor=1,
            )
            _log(sample)
            samples.append(sample)
    return samples


def measure_base(factor: int, v1: Any, loads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    started = time.perf_counter()
    body, sha, base_rows = scaled_base(factor, SEED + factor)
    source = f"bank-x{factor}.csv.gz"
    say(
        f"base ×{factor}: {base_rows:,} rows, {len(body) / 1e6:.0f} MB gzipped, "
        f"{time.perf_counter() - started:.0f} s to make"
    )
    rows, labels = bank_rows(BASE_FEEDBACK, SEED)
    with stores(v1, (source, body)) as point:
        del body
        fill(point.db, point.table, 1, rows, labels)
        env = {**point.env, "BENCH_BASE_SOURCE": source, "BENCH_BASE_SHA256": sha}
        sample = run_child("snapshot-first", env)
    sample.update(n=BASE_FEEDBACK, size=BASE_FEEDBACK, base_rows=base_rows, base_factor=factor)
    _log(sample)
    return [sample]


def measure(
    sizes: Sequence[int], out: Path, base_factors: Sequence[int] = BASE_FACTORS
) -> dict[str, Any]:
    from propensity.config import load_model_config
    from propensity.training.dataset import load_dataset
    from propensity.training.train import train_model

    config = load_model_config(MODEL)
    frame, _ = load_dataset(config, REPO / "data")
    v1 = train_model(config, frame, version="v1")
    report: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m bench.run --only retrain-scale --scale-sizes "
        + " ".join(str(n) for n in sizes if n != 1_000_000)
        + (" --scale-1m" if 1_000_000 in sizes else "")
        + (" --scale-base " + " ".join(map(str, base_factors)) if base_factors else ""),
        "machine": f"{platform.processor() or platform.machine()}, {_cores()} cores, "
        "shared with other work",
        "how": __doc__.split("\n\n", 1)[1] if __doc__ else "",
        "new_share": NEW_SHARE,
        "seed": SEED,
        "loads": [],
        "samples": [],
    }
    # Cheapest first: the points already measured are written when a later one is stopped.
    points = [(n, "size") for n in sizes] + [(BASE_ROWS * k, f"base{k}") for k in base_factors]
    for rows, kind in sorted(points):
        if kind == "size":
            report["samples"] += measure_size(rows, v1, report["loads"])
        else:
            report["samples"] += measure_base(int(kind[4:]), v1, report["loads"])
        write(report, out)
    return report


def _cores() -> int:
    import os

    return os.cpu_count() or 0


def write(report: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "retrain_scale.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (out / "retrain_scale.md").write_text(markdown(report))
    plot(report, out / "retrain_scale.png")
    say(f"wrote {out / 'retrain_scale.md'}, .json and .png")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.retrain_scale", description=__doc__)
    parser.add_argument("--out", default=str(REPO / "bench"))
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--scale-1m", action="store_true", help="add N = 1,000,000 (slow)")
    parser.add_argument("--base", type=int, nargs="*", default=list(BASE_FACTORS))
    parser.add_argument("--replot", action="store_true", help="render .md/.png from the .json")
    parser.add_argument(
        "--add-to",
        metavar="LABEL",
        help="measure into a scratch directory and add the samples to --out's report as LABEL",
    )
    parser.add_argument("--note", default="", help="with --add-to: what this run changed")
    parser.add_argument(
        "--from",
        dest="source",
        help="with --add-to: the samples of a run already made (its retrain_scale.json)",
    )
    parser.add_argument("--command", help="with --from: the command that made that run")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.replot:
        write(json.loads((out / "retrain_scale.json").read_text()), out)
        return 0
    sizes = [*args.sizes, *([1_000_000] if args.scale_1m else [])]
    if not args.add_to:
        measure(sizes, out, args.base)
        return 0
    if args.source:
        extra = json.loads(Path(args.source).read_text())
    else:
        with tempfile.TemporaryDirectory() as scratch:
            extra = measure(sizes, Path(scratch), args.base)
    report = json.loads((out / "retrain_scale.json").read_text())
    report.setdefault("extra_runs", {})[args.add_to] = {
        "note": args.note,
        "generated_at": extra["generated_at"],
        "command": extra["command"]
        if args.source
        else "python -m bench.retrain_scale " + " ".join(argv or sys.argv[1:]),
        "samples": extra["samples"],
    }
    write(report, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
