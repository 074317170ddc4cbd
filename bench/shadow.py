"""The shadow part: warm predict latency with a shadow challenger loaded, against none.

Two instances of the predict handler on the same local stack: the first cold-starts while the
champion alias names no challenger; then the alias gains a shadow challenger (v1's own
scorecard under another version name: what it scores does not change the cost) and the second
cold-starts with both scorecards. The alias is not re-read during the measurement (refresh
interval an hour, the most the settings allow), so each instance keeps what it loaded; they
requests, as in the warm part, and both write the prediction log (the shadow's rows carry both
scores).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import load_module, predict_event, ratio
from bench.warm import warm_latencies

SHADOW_VERSION = "v2"


def measure(
    predict_handler: Path,
    registry_table: str,
    model: str,
    rows: Sequence[dict[str, Any]],
    requests: int,
    warmup: int,
) -> dict[str, Any]:
    import boto3

    os.environ["MODEL_REFRESH_SECONDS"] = "3600"  # neither instance re-reads the alias
    none = load_module(predict_handler, "bench_predict_no_challenger")
    db = boto3.client("dynamodb")
    key = {"model": {"S": model}, "record": {"S": "ALIAS#champion"}}
    alias = db.get_item(TableName=registry_table, Key=key, ConsistentRead=True)["Item"]
    pointer = {
        "version": {"S": SHADOW_VERSION},
        "scorecard_key": alias["scorecard_key"],
        "scorecard_sha256": alias["scorecard_sha256"],
        "mode": {"S": "shadow"},
        "fraction": {"N": "0"},
        "started_at": {"S": "2026-12-02T00:00:00.000+00:00"},
    }
    db.update_item(
        TableName=registry_table,
        Key=key,
        UpdateExpression="SET challenger = :c",
        ExpressionAttributeValues={":c": {"M": pointer}},
    )
    try:
        shadow = load_module(predict_handler, "bench_predict_shadow_challenger")
        _, _, challenger = shadow.services.predictions.champion_cache.serving(model)
        assert challenger is not None, "the shadow instance did not load its challenger"
        events = [predict_event(rows[i % len(rows)]) for i in range(requests)]
        measured = warm_latencies(
            {"no_challenger": (none, None), "shadow_challenger": (shadow, None)}, events, warmup
        )
    finally:
        db.update_item(TableName=registry_table, Key=key, UpdateExpression="REMOVE challenger")
        os.environ.pop("MODEL_REFRESH_SECONDS", None)
    base, with_shadow = measured["no_challenger"], measured["shadow_challenger"]
    return {
        "requests": requests,
        "no_challenger": base,
        "shadow_challenger": with_shadow,
        "shadow_over_none_p50_ms": with_shadow["request_ms"]["p50"] - base["request_ms"]["p50"],
        "ratio_p50": ratio(base["request_ms"]["p50"], with_shadow["request_ms"]["p50"]),
        "note": (
            "Both instances write every prediction to the Predictions table on the local moto "
            "server; the shadow instance also scores each request with the challenger and logs "
            "both scores. They take turns every 100 requests."
        ),
    }
