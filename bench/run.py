"""``python -m bench.run [--smoke] [--out bench]``: ours vs the usual sklearn-on-Lambda design.

Starts the local emulator once (moto server + the template's resources + the bootstrap that
trains and publishes v1 of each model), then measures, for our predict handler and for
``bench/baseline_handler.py`` on the same model and inputs: cold start (fresh processes), warm
latency through API Gateway v2 events, the scorer per row, batch throughput, the CLI on the
full bank dataset, one retrain, package sizes and cost per million predictions. Writes
``report.json`` and ``report.md``. A tool, not a test: it never asserts timings.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import gzip
import io
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EVENTS = REPO / "events"
PREDICT_HANDLER = REPO / "functions" / "predict" / "handler.py"
BASELINE_HANDLER = REPO / "bench" / "baseline_handler.py"
SIZES_FILE = REPO / ".aws-sam" / "sizes.json"
MODEL = "bank"
BASELINE_KEY = "bench/baseline/bank/model.joblib"

# AWS list prices (us-east-1, x86): Lambda, HTTP API, DynamoDB on-demand writes.
LAMBDA_GB_SECOND = 0.0000166667
LAMBDA_PER_MILLION = 0.20
HTTP_API_PER_MILLION = 1.00
DYNAMO_WRU_PER_MILLION = 1.25
OURS_MEMORY_MB = 512
BASELINE_MEMORY_MB = 1024

OURS_IMPORTS = [
    "mangum",
    "propensity.api.app",
    "propensity.api.routes.predict",
    "propensity.observability",
    "propensity.settings",
    "propensity.wiring",
]
BASELINE_IMPORTS = ["boto3", "joblib", "pandas", "sklearn", "fastapi", "mangum"]


@dataclass(frozen=True)
class Plan:
    cold_runs: int
    warm_requests: int
    warm_warmup: int
    scorer_rows: int
    scorer_repeats: int
    proba_rows: int
    batch_sizes: tuple[tuple[int, int], ...]  # (rows, repeats)
    cli_runs: int
    whole_frame_repeats: int
    retrain_runs: int


FULL = Plan(7, 5000, 300, 45_211, 5, 1000, ((1, 300), (100, 30), (1000, 5), (10_000, 3)), 3, 5, 3)
SMOKE = Plan(1, 50, 5, 500, 1, 20, ((1, 3), (100, 1)), 1, 1, 1)


# --- small helpers ---------------------------------------------------------------------------


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median, min, max (and n) of repeated measurements."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def percentiles(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]

    return {
        "p50": statistics.median(ordered),
        "p95": pick(0.95),
        "p99": pick(0.99),
        "mean": statistics.fmean(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "n": len(ordered),
    }


def ratio(baseline: float, ours: float) -> float:
    return baseline / ours if ours > 0 else math.inf


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with open("/proc/meminfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    import pandas
    import sklearn

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "scikit_learn": sklearn.__version__,
        "pandas": pandas.__version__,
    }


class Context:
    """Enough of Lambda's context object for powertools and Mangum."""

    function_name = "bench"
    memory_limit_in_mb = OURS_MEMORY_MB
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench-request"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def load_module(path: Path, name: str) -> ModuleType:
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def predict_event(features: Mapping[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "predict-bank.json").read_text())
    event["body"] = json.dumps({"features": dict(features)})
    event["headers"].pop("content-length", None)
    return event


def batch_event(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    event = predict_event({})
    path = f"/dev/models/{MODEL}/predict/batch"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["routeKey"] = event["requestContext"]["routeKey"] = "POST /models/{model}/predict/batch"
    event["body"] = json.dumps({"rows": [dict(r) for r in rows]})
    return event


class TimedLog:
    """Wraps the prediction log: times each write, keeps the last records (for item sizes)."""

    def __init__(self, inner: Any, *, write: bool = True) -> None:
        self.inner = inner
        self.write = write
        self.seconds = 0.0
        self.last: Sequence[Any] = ()

    def put_many(self, records: Sequence[Any]) -> None:
        started = time.perf_counter()
        if self.write:
            self.inner.put_many(records)
        self.seconds += time.perf_counter() - started
        self.last = records

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def invoke(handler: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = handler.lambda_handler(event, Context())
    if response.get("statusCode") != 200:
        raise RuntimeError(f"handler answered {response.get('statusCode')}: {response.get('body')}")
    return response


# --- 1. cold start -----------------------------------------------------------------------------

COLD_CODE = r"""
import time
_T0 = time.perf_counter()
import importlib, importlib.util, json, sys
def _hwm():
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0
kind, path, event_path, modules = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
for name in modules:
    importlib.import_module(name)
t_imports = time.perf_counter()
fetch = [0.0]
if kind == "ours":
    from propensity.service.champions import ChampionCache
    _preload = ChampionCache.preload
    def _timed(self, models):
        started = time.perf_counter()
        _preload(self, models)
        fetch[0] += time.perf_counter() - started
    ChampionCache.preload = _timed
spec = importlib.util.spec_from_file_location("handler", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
t_init = time.perf_counter()
if kind == "baseline":
    fetch[0] = module.FETCH_SECONDS + module.LOAD_SECONDS
class Context:
    function_name = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench-cold"
    def get_remaining_time_in_millis(self):
        return 30000
with open(event_path) as handle:
    event = json.load(handle)
response = module.lambda_handler(event, Context())
t_first = time.perf_counter()
assert response["statusCode"] == 200, response
print(json.dumps({
    "imports_s": t_imports - _T0,
    "init_s": t_init - t_imports,
    "model_fetch_s": fetch[0],
    "first_request_s": t_first - t_init,
    "in_process_s": t_first - _T0,
    "max_rss_mib": _hwm(),
}))
"""


def cold_start(kind: str, env: Mapping[str, str], runs: int) -> dict[str, Any]:
    samples: list[dict[str, float]] = []
    for _ in range(runs):
        started = time.perf_counter()
        done = _cold_start_process(kind, env)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"cold start of {kind} failed:\n{done.stderr[-3000:]}")
        sample = json.loads(done.stdout.strip().splitlines()[-1])
        sample["process_wall_s"] = wall
        samples.append(sample)
    keys = list(samples[0])
    return {key: summary([s[key] for s in samples]) for key in keys}


def _cold_start_process(
    kind: str, env: Mapping[str, str], *interpreter_flags: str
) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter that imports the handler and serves the bank event (COLD_CODE)."""
    handler = PREDICT_HANDLER if kind == "ours" else BASELINE_HANDLER
    modules = OURS_IMPORTS if kind == "ours" else BASELINE_IMPORTS
    return subprocess.run(  # noqa: S603 (our interpreter, fixed arguments)
        [
            sys.executable,
            *interpreter_flags,
            "-c",
            COLD_CODE,
            kind,
            str(handler),
            str(EVENTS / "predict-bank.json"),
            json.dumps(modules),
        ],
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )


def import_profile(kind: str, env: Mapping[str, str], top: int = 12) -> list[dict[str, Any]]:
    """One cold start under ``-X importtime``: the costliest top-level imports (cumulative)."""
    done = _cold_start_process(kind, env, "-X", "importtime")
    entries = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        depth = (len(name) - len(name.lstrip())) // 2
        if depth <= 1:
            entries.append((int(cumulative), name.strip(), depth))
    entries.sort(reverse=True)
    return [{"module": n, "depth": d, "cumulative_ms": c / 1000} for c, n, d in entries[:top]]


# --- 2. warm latency ---------------------------------------------------------------------------


def warm_latency(
    handler: ModuleType, events: Sequence[dict[str, Any]], warmup: int, log: TimedLog | None
) -> dict[str, Any]:
    for event in events[:warmup]:
        invoke(handler, event)
    durations: list[float] = []
    log_durations: list[float] = []
    for event in events:
        before = log.seconds if log else 0.0
        started = time.perf_counter()
        handler.lambda_handler(event, Context())
        durations.append(time.perf_counter() - started)
        if log:
            log_durations.append(log.seconds - before)
    result: dict[str, Any] = {"request_ms": percentiles([d * 1000 for d in durations])}
    if log:
        result["log_write_ms"] = percentiles([d * 1000 for d in log_durations])
    return result


def time_per_row(fn: Callable[[], None], rows: int, repeats: int) -> dict[str, float]:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - started)
    return {k: v / rows * 1e6 for k, v in summary(seconds).items() if k != "n"} | {
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


# --- 4. retrain ----------------------------------------------------------------------------------

RETRAIN_CODE = r"""
import time
_T0 = time.perf_counter()
import json, sys
def _hwm():
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0
from propensity.config import load_model_config
from propensity.training.dataset import load_dataset
from propensity.training.train import render_artifacts, train_model
config = load_model_config(sys.argv[1])
frame, _ = load_dataset(config, sys.argv[2])
columns = [*config.features.all, config.target.column]
feedback = frame.sample(n=1000, random_state=7)[columns].reset_index(drop=True)
t_loaded = time.perf_counter()
trained = train_model(config, frame, version="v2", extra_training=feedback)
files = render_artifacts(trained, plots=False, profile=None)
t_done = time.perf_counter()
print(json.dumps({
    "wall_s": t_done - _T0,
    "train_and_render_s": t_done - t_loaded,
    "rows_train": int(trained.training["rows_train"]),
    "rows_extra": int(trained.training["rows_extra"]),
    "max_rss_mib": _hwm(),
}))
"""


def retrain(runs: int) -> dict[str, Any]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(  # noqa: S603 (our interpreter, fixed arguments)
            [sys.executable, "-c", RETRAIN_CODE, MODEL, str(REPO / "data")],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"retrain failed:\n{done.stderr[-3000:]}")
        sample = json.loads(done.stdout.strip().splitlines()[-1])
        sample["process_wall_s"] = wall
        samples.append(sample)
    return {
        "how": (
            "subprocess: load bank (45,211 rows) + 1,000 sampled rows as feedback, "
            "train_model(extra_training=...) + render_artifacts (no plots); "
            "peak memory = VmHWM of that process (its ru_maxrss would include the bench's, "
            "inherited across fork + exec)"
        ),
        "rows_train": samples[0]["rows_train"],
        "rows_extra": samples[0]["rows_extra"],
        **{
            key: summary([s[key] for s in samples])
            for key in ("process_wall_s", "wall_s", "train_and_render_s", "max_rss_mib")
        },
    }


# --- 5. sizes, 6. cost ---------------------------------------------------------------------------


def package_sizes() -> dict[str, Any]:
    if not SIZES_FILE.is_file():
        return {"available": False, "note": "run make sam-check first"}
    data = json.loads(SIZES_FILE.read_text())
    functions = data.get("functions", {})
    limit = float(data.get("limit_mib", 250.0))
    picked = {
        name: {
            "total_mib": spec.get("total_mib"),
            "layers": spec.get("layers", []),
            "headroom_mib": spec.get("headroom_mib"),
        }
        for name, spec in functions.items()
        if name in ("PredictFunction", "FeedbackFunction", "RetrainFunction")
    }
    return {
        "available": True,
        "source": str(SIZES_FILE.relative_to(REPO)),
        "limit_mib": limit,
        "layers_mib": {name: spec.get("mib") for name, spec in data.get("layers", {}).items()},
        "functions": picked,
    }


def cost_per_million(duration_ms: float, memory_mb: int, wru_per_request: int) -> dict[str, Any]:
    billed_ms = math.ceil(duration_ms)  # Lambda bills per 1 ms, rounded up
    compute = 1e6 * billed_ms / 1000 * memory_mb / 1024 * LAMBDA_GB_SECOND
    dynamo = wru_per_request * DYNAMO_WRU_PER_MILLION
    total = compute + LAMBDA_PER_MILLION + HTTP_API_PER_MILLION + dynamo
    return {
        "duration_ms": duration_ms,
        "billed_ms": billed_ms,
        "memory_mb": memory_mb,
        "lambda_compute_usd": compute,
        "lambda_requests_usd": LAMBDA_PER_MILLION,
        "http_api_usd": HTTP_API_PER_MILLION,
        "dynamodb_writes_usd": dynamo,
        "total_usd": total,
    }


def item_wru(records: Sequence[Any]) -> tuple[int, int]:
    """(bytes, WRU) of one logged prediction item, sized as its DynamoDB JSON (an upper bound)."""
    from propensity.adapters.predictions import _to_item

    size = max((len(json.dumps(_to_item(r)).encode()) for r in records), default=0)
    return size, max(1, math.ceil(size / 1024))


# --- the run -------------------------------------------------------------------------------------


def bank_rows() -> tuple[list[dict[str, Any]], Any, list[str]]:
    """Every bank row as a JSON-ready feature dict, the frame, and the feature columns."""
    from propensity.config import load_model_config
    from propensity.training.dataset import load_dataset

    config = load_model_config(MODEL)
    frame, _ = load_dataset(config, REPO / "data")
    features = list(config.features.all)
    plain = frame[features].astype(object).where(frame[features].notna(), None)
    rows = [
        {str(k): (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
        for r in plain.to_dict("records")
    ]
    return rows, frame, features


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def run(plan: Plan, out: Path, *, smoke: bool) -> dict[str, Any]:
    import boto3
    import joblib
    import pandas as pd

    from propensity.local.stack_run import LocalStack

    t_start = time.perf_counter()
    report: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "smoke" if smoke else "full",
        "machine": machine(),
        "targets": {},
    }
    say("starting the local stack (moto server, resources, bootstrap training) …")
    with LocalStack(
        port=0,
        bootstrap=True,
        serve_http=False,
        poll_streams=False,
        run_schedules=False,
        quiet=True,
    ) as stack:
        report["stack_startup_s"] = stack.startup_seconds
        names = stack.stack.names
        bucket = names["ArtifactsBucket"]
        predict_env = stack.stack.functions()["PredictFunction"].environment
        s3 = boto3.client("s3")
        model_prefix = f"models/{MODEL}/v1/"
        pipeline_bytes = s3.get_object(Bucket=bucket, Key=model_prefix + "model.joblib")[
            "Body"
        ].read()
        scorecard_bytes = s3.get_object(Bucket=bucket, Key=model_prefix + "scorecard.json")[
            "Body"
        ].read()
        s3.put_object(Bucket=bucket, Key=BASELINE_KEY, Body=pipeline_bytes)
        threshold = json.loads(scorecard_bytes)["threshold"]
        env = {
            **os.environ,
            **predict_env,
            "BASELINE_BUCKET": bucket,
            "BASELINE_MODEL_KEY": BASELINE_KEY,
            "BASELINE_THRESHOLD": str(threshold),
        }
        env.setdefault("API_BASE_PATH", "/dev")
        os.environ.update(env)
        report["model"] = {
            "name": MODEL,
            "version": "v1",
            "scorecard_bytes": len(scorecard_bytes),
            "model_joblib_bytes": len(pipeline_bytes),
            "baseline_key": BASELINE_KEY,
        }

        # 1. cold start
        say(f"cold start × {plan.cold_runs} each …")
        cold = {
            "ours": cold_start("ours", env, plan.cold_runs),
            "baseline": cold_start("baseline", env, plan.cold_runs),
        }
        for key in ("process_wall_s", "in_process_s", "imports_s", "init_s", "first_request_s"):
            cold.setdefault("ratio_median", {})[key] = ratio(
                cold["baseline"][key]["median"], cold["ours"][key]["median"]
            )
        cold["import_profile"] = {
            "ours": import_profile("ours", env),
            "baseline": import_profile("baseline", env),
        }
        report["cold_start"] = cold

        # 2. warm latency
        rows, frame, features = bank_rows()
        say(f"warm latency, {plan.warm_requests} requests per variant …")
        ours = load_module(PREDICT_HANDLER, "bench_predict_handler")
        baseline = load_module(BASELINE_HANDLER, "bench_baseline_handler")
        events = [predict_event(rows[i % len(rows)]) for i in range(plan.warm_requests)]
        predictions = ours.services.predictions
        real_log = predictions._log
        timed = TimedLog(real_log)
        predictions._log = timed
        with_log = warm_latency(ours, events, plan.warm_warmup, timed)
        record_size, wru = item_wru(timed.last)
        predictions._log = TimedLog(real_log, write=False)
        without_log = warm_latency(ours, events, plan.warm_warmup, None)
        predictions._log = timed
        base = warm_latency(baseline, events, plan.warm_warmup, None)
        warm: dict[str, Any] = {
            "requests": plan.warm_requests,
            "ours_with_log": with_log,
            "ours_log_stubbed": without_log,
            "baseline": base,
            "note": (
                "ours_with_log is the real handler (each prediction is written to the DynamoDB "
                "Predictions table on the local moto server before it is answered); "
                "ours_log_stubbed replaces that write with a no-op, like for like with the "
                "baseline, which writes no log."
            ),
            "ratio_p50_like_for_like": ratio(
                base["request_ms"]["p50"], without_log["request_ms"]["p50"]
            ),
            "ratio_p50_with_log": ratio(base["request_ms"]["p50"], with_log["request_ms"]["p50"]),
            "log_item_bytes": record_size,
            "log_item_wru": wru,
        }
        report["warm"] = warm

        # scorer per row vs predict_proba on one-row DataFrames
        say("scorer per row …")
        from propensity.scoring import Scorer

        scorer = Scorer.from_json(scorecard_bytes)
        score_rows = rows[: plan.scorer_rows]

        def score_all() -> None:
            score = scorer.score
            for row in score_rows:
                score(row)

        score_all()
        pipeline = joblib.load(io.BytesIO(pipeline_bytes))
        proba_rows = rows[: plan.proba_rows]

        def proba_all() -> None:
            for row in proba_rows:
                pipeline.predict_proba(pd.DataFrame([row], columns=features))

        scorer_stats = time_per_row(score_all, len(score_rows), plan.scorer_repeats)
        proba_stats = time_per_row(proba_all, len(proba_rows), 3 if not smoke else 1)
        per_row: dict[str, Any] = {
            "ours_scorer_us": scorer_stats,
            "baseline_predict_proba_one_row_df_us": proba_stats,
            "ratio_median": ratio(proba_stats["median"], scorer_stats["median"]),
        }
        if scorer_stats["median"] > 10.0:
            per_row["profile_top_by_tottime"] = profile_scorer(scorer, rows[:5000])
        report["per_row"] = per_row

        # 3. batch
        say("batch throughput …")
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
        whole = frame[features]
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
        report["batch"] = batch

    # 4. retrain (its own process, reads the shipped dataset)
    say(f"retrain × {plan.retrain_runs} …")
    report["retrain"] = retrain(plan.retrain_runs)

    # 5. sizes
    report["package_sizes"] = package_sizes()

    # 6. cost
    ours_cost = cost_per_million(warm["ours_with_log"]["request_ms"]["mean"], OURS_MEMORY_MB, wru)
    base_ms = warm["baseline"]["request_ms"]["mean"] + warm["ours_with_log"]["log_write_ms"]["mean"]
    base_cost = cost_per_million(base_ms, BASELINE_MEMORY_MB, wru)
    cost: dict[str, Any] = {
        "formula": (
            "1e6 × ceil(mean warm duration ms) / 1000 × memory GB × $0.0000166667/GB-s "
            "+ $0.20 (Lambda requests) + $1.00 (HTTP API requests) "
            "+ WRU per logged item × $1.25 (DynamoDB on-demand writes)"
        ),
        "ours": ours_cost,
        "baseline": base_cost,
        "assumptions": (
            f"ours at {OURS_MEMORY_MB} MB (the template). Baseline at {BASELINE_MEMORY_MB} MB: "
            "pandas + scikit-learn + the pipeline need ~"
            f"{cold['baseline']['max_rss_mib']['median']:.0f} MiB resident here "
            f"(ours {cold['ours']['max_rss_mib']['median']:.0f} MiB) and Lambda's CPU share "
            "grows with memory. The baseline is charged its measured warm mean plus our "
            "measured log-write mean, so both log every prediction (same item size). "
            "Durations are this machine's, against a local moto server, not Lambda's."
        ),
        "ratio_total": ratio(base_cost["total_usd"], ours_cost["total_usd"]),
    }
    report["cost_per_million"] = cost

    report["targets"] = targets(report)
    report["bench_seconds"] = time.perf_counter() - t_start
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (out / "report.md").write_text(render_markdown(report))
    say(f"wrote {out / 'report.json'} and {out / 'report.md'} in {report['bench_seconds']:.0f} s")
    return report


def targets(report: Mapping[str, Any]) -> dict[str, Any]:
    cold = report["cold_start"]
    warm = report["warm"]
    result: dict[str, Any] = {
        "cold_start_3x_faster": {
            "measured": cold["ratio_median"]["process_wall_s"],
            "target": ">= 3",
            "met": cold["ratio_median"]["process_wall_s"] >= 3,
        },
        "cold_start_under_1_5_s": {
            "measured": cold["ours"]["process_wall_s"]["median"],
            "target": "< 1.5 s (process wall, incl. interpreter start)",
            "met": cold["ours"]["process_wall_s"]["median"] < 1.5,
        },
        "warm_p50_5x_faster_like_for_like": {
            "measured": warm["ratio_p50_like_for_like"],
            "target": ">= 5",
            "met": warm["ratio_p50_like_for_like"] >= 5,
        },
        "warm_p50_5x_faster_with_log": {
            "measured": warm["ratio_p50_with_log"],
            "target": ">= 5 (ours with its DynamoDB log write, baseline without)",
            "met": warm["ratio_p50_with_log"] >= 5,
        },
        "scorer_10us_per_row": {
            "measured": report["per_row"]["ours_scorer_us"]["median"],
            "target": "<= 10 µs/row",
            "met": report["per_row"]["ours_scorer_us"]["median"] <= 10,
        },
    }
    sizes = report["package_sizes"]
    if sizes.get("available") and "RetrainFunction" in sizes["functions"]:
        retrain = sizes["functions"]["RetrainFunction"]
        spare = sizes["limit_mib"] - float(retrain["total_mib"])
        result["retrain_package_20mib_spare"] = {
            "measured": spare,
            "target": ">= 20 MiB under 250 MiB",
            "met": spare >= 20,
        }
    else:
        result["retrain_package_20mib_spare"] = {"met": None, "note": "run make sam-check first"}
    return result


# --- markdown ------------------------------------------------------------------------------------


def _f(value: Any, digits: int = 2) -> str:
    if isinstance(value, float):
        if math.isinf(value):
            return "∞"
        return f"{value:,.{digits}f}"
    return str(value)


def _mmm(stats: Mapping[str, float], scale: float = 1.0, digits: int = 2) -> str:
    return (
        f"{_f(stats['median'] * scale, digits)} "
        f"({_f(stats['min'] * scale, digits)}–{_f(stats['max'] * scale, digits)})"
    )


SCORER_PROPOSAL = """Where the time goes and what would cut it (proposed for
`src/propensity/scoring/scorecard.py`, not applied here):

- One frozen-dataclass `Contribution` per feature per row (the generated
  `<string>:…__init__` with 15 calls per row for bank; the one with 1 call per row is `Score`):
  a frozen dataclass `__init__` goes through `object.__setattr__` for each field and is the
  largest single cost after `score` itself. Keep the per-feature deltas in a plain tuple of
  floats (or `(name, value, delta)` tuples) and build `Contribution` objects only in `reasons()`
  for the top few, i.e. lazily.
- Per-feature branching and attribute lookups in the loop (`feat.encoding`, `feat.name`,
  `isinstance` chains, `math.isfinite`): precompile each feature into a small closure or a
  tuple dispatch at `Scorer.__init__` (bins → `bisect_right` + weight tuple; standard →
  precomputed `weight / scale` and `mean * weight / scale`; categorical → dict `get`), and check
  types with one `type(x) in (int, float)` test instead of `isinstance` + bool exclusion.
- `imputed`/`unknown` lists are allocated per row even when empty; allocate lazily.
- A `score_many(rows)` for the batch route and CLI would hoist the per-call set-up."""


def render_markdown(r: Mapping[str, Any]) -> str:
    m = r["machine"]
    cold, warm, per_row, batch = r["cold_start"], r["warm"], r["per_row"], r["batch"]
    lines = [
        "# propensity benchmark: our predict path vs the usual sklearn-on-Lambda design",
        "",
        f"Generated {r['generated_at']} by `python -m bench.run"
        f"{' --smoke' if r['mode'] == 'smoke' else ''}` (mode **{r['mode']}**, "
        f"{r['bench_seconds']:.0f} s). Medians with (min–max) over repeated runs. "
        "Baseline = `bench/baseline_handler.py` (FastAPI + Mangum, pandas + scikit-learn + "
        "joblib at module level, `model.joblib` from the same local S3, one-row DataFrame → "
        "`predict_proba`). Same model (bank v1), same inputs, same run.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}, "
        f"scikit-learn {m['scikit_learn']}, pandas {m['pandas']}. AWS is emulated by moto server "
        f"on 127.0.0.1 (stack start-up incl. bootstrap training: {r['stack_startup_s']:.1f} s).",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    for name, t in r["targets"].items():
        met = {True: "met", False: "**missed**", None: "n/a"}[t.get("met")]
        lines.append(f"| {name} ({t.get('target', '')}) | {_f(t.get('measured', '—'))} | {met} |")
    lines += [
        "",
        f"## 1. Cold start (fresh `python -c` process, × {cold['ours']['process_wall_s']['n']})",
        "",
        "Imports = the handler's dependencies; init = executing the handler module "
        "(settings, clients, model fetch + parse); model fetch = S3 get + parse (ours: the "
        "champion cache preload incl. the registry read; baseline: S3 get + `joblib.load`); "
        "first request = the `events/predict-bank.json` event. Process wall includes "
        "interpreter start-up and exit.",
        "",
        "| seconds | ours | baseline | baseline / ours |",
        "|---|---|---|---|",
    ]
    for key, label in (
        ("process_wall_s", "process wall"),
        ("in_process_s", "in process (imports + init + first request)"),
        ("imports_s", "imports"),
        ("init_s", "init"),
        ("model_fetch_s", "model fetch"),
        ("first_request_s", "first request"),
    ):
        ratio_value = ratio(cold["baseline"][key]["median"], cold["ours"][key]["median"])
        lines.append(
            f"| {label} | {_mmm(cold['ours'][key], 1, 3)} | {_mmm(cold['baseline'][key], 1, 3)} "
            f"| {_f(ratio_value, 1)}× |"
        )
    lines.append(
        f"| peak RSS (MiB) | {_mmm(cold['ours']['max_rss_mib'], 1, 0)} | "
        f"{_mmm(cold['baseline']['max_rss_mib'], 1, 0)} | |"
    )
    lines += [
        "",
        "Costliest imports (one run under `-X importtime`, cumulative ms; depth 0 = imported "
        "by the handler, 1 = by those; the tool's own overhead inflates them):",
        "",
        "| ours | ms | baseline | ms |",
        "|---|---|---|---|",
    ]
    profile = cold["import_profile"]
    for a, b in zip(profile["ours"], profile["baseline"], strict=False):
        lines.append(
            f"| {'  ' * a['depth']}`{a['module']}` | {_f(a['cumulative_ms'], 0)} "
            f"| {'  ' * b['depth']}`{b['module']}` | {_f(b['cumulative_ms'], 0)} |"
        )
    lines += [
        "",
        f"## 2. Warm latency per request ({warm['requests']:,} requests, bank rows, in process)",
        "",
        warm["note"],
        "",
        "| ms | p50 | p95 | p99 | mean |",
        "|---|---|---|---|---|",
    ]
    for key, label in (
        ("ours_with_log", "ours (real handler, with DynamoDB log write)"),
        ("ours_log_stubbed", "ours, log write stubbed"),
        ("baseline", "baseline"),
    ):
        s = warm[key]["request_ms"]
        lines.append(
            f"| {label} | {_f(s['p50'], 3)} | {_f(s['p95'], 3)} | {_f(s['p99'], 3)} "
            f"| {_f(s['mean'], 3)} |"
        )
    s = warm["ours_with_log"]["log_write_ms"]
    lines += [
        f"| of which the log write (ours, moto) | {_f(s['p50'], 3)} | {_f(s['p95'], 3)} "
        f"| {_f(s['p99'], 3)} | {_f(s['mean'], 3)} |",
        "",
        f"p50 ratio baseline / ours: **{_f(warm['ratio_p50_like_for_like'], 1)}×** like for like "
        f"(no log in either), {_f(warm['ratio_p50_with_log'], 1)}× with our log write included. "
        f"Logged item ≈ {warm['log_item_bytes']} bytes → {warm['log_item_wru']} WRU.",
        "",
        "### Per row, without HTTP",
        "",
        "| µs per row | median (min–max) | rows × repeats |",
        "|---|---|---|",
        f"| ours: `Scorer.score` | {_mmm(per_row['ours_scorer_us'])} | "
        f"{per_row['ours_scorer_us']['rows']:,} × {per_row['ours_scorer_us']['repeats']} |",
        f"| baseline: `predict_proba(DataFrame([row]))` | "
        f"{_mmm(per_row['baseline_predict_proba_one_row_df_us'], 1, 1)} | "
        f"{per_row['baseline_predict_proba_one_row_df_us']['rows']:,} × "
        f"{per_row['baseline_predict_proba_one_row_df_us']['repeats']} |",
        "",
        f"Ratio: {_f(per_row['ratio_median'], 0)}×.",
    ]
    if "profile_top_by_tottime" in per_row:
        lines += [
            "",
            "The scorer misses 10 µs/row; cProfile over 5,000 rows (profiler overhead inflates "
            "the absolute numbers):",
            "",
            "| function | calls per row | tottime µs/row | cumtime µs/row |",
            "|---|---|---|---|",
        ]
        for p in per_row["profile_top_by_tottime"]:
            lines.append(
                f"| `{p['function']}` | {_f(p['calls_per_row'], 0)} "
                f"| {_f(p['tottime_us_per_row'])} | {_f(p['cumtime_us_per_row'])} |"
            )
        lines += ["", SCORER_PROPOSAL]
    lines += [
        "",
        "## 3. Batch throughput (`POST /models/bank/predict/batch` through the handler)",
        "",
        batch["note"] + ".",
        "",
        "| rows | ours rows/s | of which log write (s) | ours rows/s excl. log "
        "| baseline rows/s | ours / baseline |",
        "|---|---|---|---|---|---|",
    ]
    for size, entry in batch["ours"].items():
        lines.append(
            f"| {int(size):,} | {_mmm(entry['rows_per_s'], 1, 0)} | "
            f"{_mmm(entry['log_write_s'], 1, 3)} | "
            f"{_mmm(entry['rows_per_s_excl_log'], 1, 0)} | "
            f"{_mmm(batch['baseline'][size]['rows_per_s'], 1, 0)} | "
            f"{_f(batch['ratio_rows_per_s_median'][size], 2)}× |"
        )
    cli = batch["cli_full_dataset"]
    whole = cli["baseline_predict_proba_whole_frame"]
    lines += [
        "",
        f"Full bank dataset ({cli['ours_cli']['rows']:,} rows): `propensity predict` (a fresh "
        "process: start-up, CSV read, scoring with reasons, CSV write) "
        f"{_mmm(cli['ours_cli']['rows_per_s'], 1, 0)} rows/s, "
        f"{_mmm(cli['ours_cli']['process_wall_s'])} s; "
        f"`pipeline.predict_proba` on the whole DataFrame ({whole['note']}) "
        f"{_mmm(whole['rows_per_s'], 1, 0)} rows/s.",
    ]
    rt = r["retrain"]
    lines += [
        "",
        "## 4. Retrain (bank + 1,000 feedback rows)",
        "",
        f"{rt['how']}. Training rows {rt['rows_train']:,} (of which extra {rt['rows_extra']:,}).",
        "",
        f"- process wall: {_mmm(rt['process_wall_s'])} s "
        f"(train + render: {_mmm(rt['train_and_render_s'])} s)",
        f"- peak memory: {_mmm(rt['max_rss_mib'], 1, 0)} MiB (RetrainFunction has 3,008 MB)",
        "",
        "## 5. Package sizes (unzipped, from `make sam-check`)",
        "",
    ]
    sizes = r["package_sizes"]
    if not sizes.get("available"):
        lines.append("run make sam-check first")
    else:
        lines += ["| package | MiB | headroom under 250 MiB |", "|---|---|---|"]
        for name, mib in sizes["layers_mib"].items():
            lines.append(f"| layer {name} | {_f(mib)} | |")
        for name, spec in sizes["functions"].items():
            lines.append(
                f"| {name} + {' + '.join(spec['layers'])} | {_f(spec['total_mib'])} "
                f"| {_f(spec['headroom_mib'])} |"
            )
    cost = r["cost_per_million"]
    lines += [
        "",
        "## 6. Cost per million predictions",
        "",
        f"Formula: {cost['formula']}.",
        "",
        cost["assumptions"],
        "",
        "| USD per 1M | ours | baseline |",
        "|---|---|---|",
    ]
    for key, label in (
        ("duration_ms", "mean duration (ms)"),
        ("billed_ms", "billed ms"),
        ("memory_mb", "memory (MB)"),
        ("lambda_compute_usd", "Lambda compute"),
        ("lambda_requests_usd", "Lambda requests"),
        ("http_api_usd", "HTTP API"),
        ("dynamodb_writes_usd", "DynamoDB log writes"),
        ("total_usd", "**total**"),
    ):
        lines.append(f"| {label} | {_f(cost['ours'][key], 3)} | {_f(cost['baseline'][key], 3)} |")
    lines += ["", f"Baseline / ours: {_f(cost['ratio_total'], 2)}×.", ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="a few iterations, seconds")
    parser.add_argument("--out", default=str(REPO / "bench"), help="directory for the reports")
    args = parser.parse_args(argv)
    run(SMOKE if args.smoke else FULL, Path(args.out), smoke=args.smoke)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
