"""What every bench part shares: paths, the plan, statistics, events, the fake Lambda context."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EVENTS = REPO / "events"
PREDICT_HANDLER = REPO / "functions" / "predict" / "handler.py"
LAMBDA_RUNTIME_MODULES = REPO / "src" / "propensity" / "local" / "lambda_runtime"
BASELINE_HANDLER = REPO / "bench" / "baseline_handler.py"
FLOOR_HANDLER = REPO / "bench" / "floor_handler.py"
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
    "propensity.api.routes.dashboard",
    "propensity.api.routes.predict",
    "propensity.observability",
    "propensity.settings",
    "propensity.roots.predict",
]
BASELINE_IMPORTS = ["boto3", "joblib", "pandas", "sklearn", "fastapi", "mangum"]
FLOOR_IMPORTS = ["boto3", "fastapi", "mangum", "pydantic_settings", "aws_lambda_powertools"]
HANDLERS = {
    "ours": (PREDICT_HANDLER, OURS_IMPORTS),
    "baseline": (BASELINE_HANDLER, BASELINE_IMPORTS),
    "floor": (FLOOR_HANDLER, FLOOR_IMPORTS),
}
# Cold-start figures compared between the designs (the first is the one the targets use).
COLD_KEYS = (
    "to_first_response_s",
    "process_wall_s",
    "process_cpu_s",
    "in_process_s",
    "imports_s",
    "init_s",
    "first_request_s",
)


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
    load_seconds: float  # the load run against the local HTTP API
    load_clients: int


FULL = Plan(
    7, 5000, 300, 45_211, 5, 1000, ((1, 300), (100, 30), (1000, 5), (10_000, 3)), 3, 5, 3, 30.0, 32
)
SMOKE = Plan(1, 50, 5, 500, 1, 20, ((1, 3), (100, 1)), 1, 1, 1, 2.0, 4)
# What --only can select; a partial run writes partial.json, never the full reports.
PARTS = (
    "cold",
    "warm",
    "shadow",
    "scorer",
    "batch",
    "load",
    "retrain",
    "chat-parse",
    "runtimes",
)
# Parts run only when named with --only (minutes per size, DynamoDB Local and Java 17).
OPTIONAL_PARTS = ("retrain-scale",)


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
