"""Parts 5 and 6: package sizes (from `make sam-check`) and cost per million predictions."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bench.common import (
    BASELINE_MEMORY_MB,
    DYNAMO_WRU_PER_MILLION,
    HTTP_API_PER_MILLION,
    LAMBDA_GB_SECOND,
    LAMBDA_PER_MILLION,
    OURS_MEMORY_MB,
    REPO,
    SIZES_FILE,
    ratio,
)

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
    built = datetime.fromtimestamp(SIZES_FILE.stat().st_mtime, UTC)
    return {
        "available": True,
        "source": str(SIZES_FILE.relative_to(REPO)),
        "built_at": built.isoformat(timespec="seconds"),
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


def cost_part(report: Mapping[str, Any]) -> dict[str, Any]:
    """Ours against the baseline per million predictions, from the cold-start and warm parts."""
    cold, warm = report["cold_start"], report["warm"]
    wru = warm["log_item_wru"]
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
    return cost
