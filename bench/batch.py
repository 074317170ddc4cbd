"""Part 3, batch throughput through the handler, and the CLI on the full bank dataset."""

from __future__ import annotations

import copy
import gzip
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.common import (
    MODEL,
    PREDICT_HANDLER,
    REPO,
    Plan,
    TimedLog,
    batch_event,
    invoke,
    load_module,
    ratio,
    say,
    summary,
)

# --- 3. batch ------------------------------------------------------------------------------------


def batch_throughput(
    handler: ModuleType,
    rows: Sequence[Mapping[str, Any]],
    sizes: Sequence[tuple[int, int]],
    log: TimedLog | None,
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for size, repeats in sizes:
        event = batch_event(rows[:size])
        invoke(handler, copy.deepcopy(event))  # warm-up, and checks the answer is 200
        seconds, log_seconds = [], []
        for _ in range(repeats):
            before = log.seconds if log else 0.0
            started = time.perf_counter()
            invoke(handler, event)
            seconds.append(time.perf_counter() - started)
            if log:
                log_seconds.append(log.seconds - before)
        entry = {
            "request_s": summary(seconds),
            "rows_per_s": summary([size / s for s in seconds]),
        }
        if log:
            entry["log_write_s"] = summary(log_seconds)
            entry["rows_per_s_excl_log"] = summary(
                [size / (s - w) for s, w in zip(seconds, log_seconds, strict=True)]
            )
        result[str(size)] = entry
    return result


def cli_predict(scorecard: bytes, csv_path: Path, runs: int) -> dict[str, Any]:
    seconds, rates = [], []
    with tempfile.TemporaryDirectory() as scratch:
        version_dir = Path(scratch) / "bank"
        version_dir.mkdir()
        (version_dir / "scorecard.json").write_bytes(scorecard)
        rows = 0
        for _ in range(runs):
            started = time.perf_counter()
            done = subprocess.run(  # noqa: S603 (our interpreter, fixed arguments)
                [
                    str(Path(sys.executable).with_name("propensity")),
                    "predict",
                    "--model",
                    MODEL,
                    "--input",
                    str(csv_path),
                    "--output",
                    str(Path(scratch) / "scored.csv"),
                    "--dir",
                    str(version_dir),
                ],
                capture_output=True,
                text=True,
                check=False,
                cwd=REPO,
            )
            wall = time.perf_counter() - started
            if done.returncode != 0:
                raise RuntimeError(f"propensity predict failed:\n{done.stderr[-3000:]}")
            with open(Path(scratch) / "scored.csv", encoding="utf-8") as handle:
                rows = sum(1 for _ in handle) - 1
            seconds.append(wall)
            rates.append(rows / wall)
    return {"rows": rows, "process_wall_s": summary(seconds), "rows_per_s": summary(rates)}


def batch_part(
    plan: Plan,
    rows: Sequence[Mapping[str, Any]],
    frame: Any,
    features: Sequence[str],
    pipeline: Any,
    baseline: ModuleType,
    scorecard_bytes: bytes,
) -> dict[str, Any]:
    os.environ["BATCH_LIMIT"] = "10000"
    big = load_module(PREDICT_HANDLER, "bench_predict_handler_batch")
    big_log = TimedLog(big.services.predictions._log)
    big.services.predictions._log = big_log
    batch: dict[str, Any] = {
        "ours": batch_throughput(big, rows, plan.batch_sizes, big_log),
        "baseline": batch_throughput(baseline, rows, plan.batch_sizes, None),
        "note": "ours includes the prediction-log writes (log_write_s); BATCH_LIMIT=10000",
    }
    batch["ratio_rows_per_s_median"] = {
        size: ratio(
            batch["ours"][size]["rows_per_s"]["median"],
            batch["baseline"][size]["rows_per_s"]["median"],
        )
        for size in batch["ours"]
    }
    say("CLI predict on the full bank dataset …")
    with tempfile.TemporaryDirectory() as scratch:
        csv_path = Path(scratch) / "bank-full.csv"
        csv_path.write_bytes(gzip.decompress((REPO / "data" / "bank-full.csv.gz").read_bytes()))
        cli = cli_predict(scorecard_bytes, csv_path, plan.cli_runs)
    whole = frame[list(features)]
    seconds = []
    for _ in range(plan.whole_frame_repeats):
        started = time.perf_counter()
        pipeline.predict_proba(whole)
        seconds.append(time.perf_counter() - started)
    batch["cli_full_dataset"] = {
        "ours_cli": cli,
        "baseline_predict_proba_whole_frame": {
            "rows": len(whole),
            "seconds": summary(seconds),
            "rows_per_s": summary([len(whole) / s for s in seconds]),
            "note": "in-process, DataFrame already loaded: no start-up, no CSV read or write",
        },
    }
    return batch
