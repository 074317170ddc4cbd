"""Part 2, warm latency through API Gateway v2 events, where its time goes, the scorer per row."""

from __future__ import annotations

import cProfile
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.common import (
    Context,
    Plan,
    TimedLog,
    invoke,
    percentiles,
    ratio,
    summary,
)

# --- 2. warm latency ---------------------------------------------------------------------------


def warm_latencies(
    variants: Mapping[str, tuple[ModuleType, TimedLog | None]],
    events: Sequence[dict[str, Any]],
    warmup: int,
    block: int = 100,
) -> dict[str, dict[str, Any]]:
    """Every variant serves every event, in turns of ``block`` requests (so that other load on
    the machine falls on each alike); per variant the request percentiles and, where its log
    adapter is timed, the log write's."""
    for handler, _ in variants.values():
        for event in events[:warmup]:
            invoke(handler, event)
    durations: dict[str, list[float]] = {name: [] for name in variants}
    log_durations: dict[str, list[float]] = {name: [] for name in variants}
    for start in range(0, len(events), block):
        chunk = events[start : start + block]
        for name, (handler, log) in variants.items():
            for event in chunk:
                before = log.seconds if log else 0.0
                started = time.perf_counter()
                handler.lambda_handler(event, Context())
                durations[name].append(time.perf_counter() - started)
                if log:
                    log_durations[name].append(log.seconds - before)
    results: dict[str, dict[str, Any]] = {}
    for name, (_, log) in variants.items():
        results[name] = {"request_ms": percentiles([d * 1000 for d in durations[name]])}
        if log and log.write:
            results[name]["log_write_ms"] = percentiles([d * 1000 for d in log_durations[name]])
    return results


# Packages a request's time is attributed to (by the file of each profiled function).
TIME_OWNERS = (
    ("propensity", ("/propensity/", "/functions/")),
    ("fastapi", ("/fastapi/",)),
    ("starlette", ("/starlette/",)),
    ("pydantic", ("/pydantic/", "/pydantic_core/")),
    ("mangum", ("/mangum/",)),
    ("powertools", ("/aws_lambda_powertools/",)),
    ("asyncio/anyio", ("/asyncio/", "/anyio/")),
)


def warm_profile(handler: ModuleType, events: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Where a warm request's time goes: cProfile's own time per function, summed by package
    (µs per request; profiling inflates every figure alike), and our top functions."""
    profiler = cProfile.Profile()
    profiler.enable()
    for event in events:
        handler.lambda_handler(event, Context())
    profiler.disable()
    owners: dict[str, float] = {}
    ours: list[tuple[float, str]] = []
    for entry in profiler.getstats():
        code = entry.code
        filename = code if isinstance(code, str) else code.co_filename
        owner = next(
            (name for name, marks in TIME_OWNERS if any(m in filename for m in marks)),
            "other (stdlib, builtins, json, uuid)",
        )
        owners[owner] = owners.get(owner, 0.0) + entry.inlinetime
        if owner == "propensity" and not isinstance(code, str):
            label = f"{Path(code.co_filename).name}:{code.co_firstlineno}({code.co_qualname})"
            ours.append((entry.inlinetime, label))
    per_request = {k: v / len(events) * 1e6 for k, v in owners.items()}
    return {
        "requests": len(events),
        "own_time_us_per_request": dict(sorted(per_request.items(), key=lambda kv: -kv[1])),
        "our_top_functions_us": [
            {"function": label, "us_per_request": t / len(events) * 1e6}
            for t, label in sorted(ours, reverse=True)[:8]
        ],
    }


def time_per_row(fn: Callable[[], None], rows: int, repeats: int) -> dict[str, float]:
    """Wall time per row (median/min/max over ``repeats``), and the process's CPU time per row
    (``cpu_median``: less sensitive to other load on the machine)."""
    seconds, cpu = [], []
    for _ in range(repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        fn()
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    return {k: v / rows * 1e6 for k, v in summary(seconds).items() if k != "n"} | {
        "cpu_median": statistics.median(cpu) / rows * 1e6,
        "rows": rows,
        "repeats": repeats,
    }


def profile_scorer(scorer: Any, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """cProfile's raw entries (per code object: pstats would merge the dataclass-generated
    ``__init__`` of ``Score`` and ``Contribution``, which share a ``<string>:2`` label)."""
    profiler = cProfile.Profile()
    profiler.enable()
    for row in rows:
        scorer.score(row)
    profiler.disable()
    top: list[dict[str, Any]] = []
    entries = sorted(profiler.getstats(), key=lambda e: e.inlinetime, reverse=True)
    for entry in entries[:12]:
        code = entry.code
        if isinstance(code, str):
            label = code
        else:
            label = f"{Path(code.co_filename).name}:{code.co_firstlineno}({code.co_qualname})"
        top.append(
            {
                "function": label,
                "calls": entry.callcount,
                "calls_per_row": entry.callcount / len(rows),
                "tottime_us_per_row": entry.inlinetime / len(rows) * 1e6,
                "cumtime_us_per_row": entry.totaltime / len(rows) * 1e6,
            }
        )
    return top


def scorer_per_row(
    plan: Plan,
    scorecard_bytes: bytes,
    rows: Sequence[Mapping[str, Any]],
    pipeline: Any,
    features: Sequence[str],
    *,
    smoke: bool,
) -> dict[str, Any]:
    import pandas as pd

    from propensity.scoring import Scorer

    scorer = Scorer.from_json(scorecard_bytes)
    score_rows = rows[: plan.scorer_rows]

    def score_all() -> None:
        score = scorer.score
        for row in score_rows:
            score(row)

    score_all()
    proba_rows = rows[: plan.proba_rows]
    columns = list(features)

    def proba_all() -> None:
        for row in proba_rows:
            pipeline.predict_proba(pd.DataFrame([row], columns=columns))

    scorer_stats = time_per_row(score_all, len(score_rows), plan.scorer_repeats)
    proba_stats = time_per_row(proba_all, len(proba_rows), 3 if not smoke else 1)
    per_row: dict[str, Any] = {
        "ours_scorer_us": scorer_stats,
        "baseline_predict_proba_one_row_df_us": proba_stats,
        "ratio_median": ratio(proba_stats["median"], scorer_stats["median"]),
    }
    if scorer_stats["median"] > 10.0:
        per_row["profile_top_by_tottime"] = profile_scorer(scorer, rows[:5000])
    return per_row
