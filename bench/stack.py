"""The parts that need the local stack (moto server, resources, bootstrap): their driver."""

from __future__ import annotations

import io
import json
import os
import platform
import sys
from collections.abc import Sequence
from typing import Any

from bench.batch import batch_part
from bench.cold import cold_starts, import_profile
from bench.common import (
    BASELINE_HANDLER,
    BASELINE_KEY,
    COLD_KEYS,
    FLOOR_HANDLER,
    LAMBDA_RUNTIME_MODULES,
    MODEL,
    PREDICT_HANDLER,
    Plan,
    TimedLog,
    bank_rows,
    load_module,
    predict_event,
    ratio,
    say,
)
from bench.cost import item_wru
from bench.load import load_run
from bench.warm import scorer_per_row, warm_latencies, warm_profile


def run_with_stack(
    plan: Plan, report: dict[str, Any], parts: Sequence[str], *, smoke: bool
) -> None:
    """The parts that need the local stack: cold start, warm, scorer, batch, load."""
    import boto3
    import joblib

    from propensity.local.stack_run import LocalStack

    say("starting the local stack (moto server, resources, bootstrap training) …")
    with LocalStack(
        port=0,
        bootstrap=True,
        serve_http="load" in parts,
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
        # snapshot_restore_py, which Lambda's runtime provides, from the local run's stand-in
        # (for the spawned cold starts and the in-process handlers alike).
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (env.get("PYTHONPATH"), str(LAMBDA_RUNTIME_MODULES)) if p
        )
        os.environ.update(env)
        if str(LAMBDA_RUNTIME_MODULES) not in sys.path:
            sys.path.append(str(LAMBDA_RUNTIME_MODULES))
        report["model"] = {
            "name": MODEL,
            "version": "v1",
            "scorecard_bytes": len(scorecard_bytes),
            "model_joblib_bytes": len(pipeline_bytes),
            "baseline_key": BASELINE_KEY,
        }

        # 1b. the previous runtime (Python 3.11) against ours, same handlers (bench/runtimes.py)
        if "runtimes" in parts:
            from bench import runtimes

            say(f"Python {runtimes.PREVIOUS} against {platform.python_version()} …")
            report["runtimes"] = runtimes.measure(
                env, plan.cold_runs, min(plan.warm_requests, 2000)
            )

        # 1. cold start
        if "cold" in parts:
            say(f"cold start × {plan.cold_runs} each …")
            cold: dict[str, Any] = cold_starts(env, plan.cold_runs)
            for key in COLD_KEYS:
                cold.setdefault("ratio_median", {})[key] = ratio(
                    cold["baseline"][key]["median"], cold["ours"][key]["median"]
                )
            cold["import_profile"] = {
                "ours": import_profile("ours", env),
                "baseline": import_profile("baseline", env),
            }
            report["cold_start"] = cold

        if not set(parts) & {"warm", "shadow", "scorer", "batch", "load"}:
            return
        rows, frame, features = bank_rows()
        pipeline = joblib.load(io.BytesIO(pipeline_bytes))
        baseline = load_module(BASELINE_HANDLER, "bench_baseline_handler")

        # 2. warm latency
        if "warm" in parts:
            say(f"warm latency, {plan.warm_requests} requests per variant …")
            ours = load_module(PREDICT_HANDLER, "bench_predict_handler")
            stubbed = load_module(PREDICT_HANDLER, "bench_predict_handler_stubbed")
            # The frameworks' floor: one FastAPI + Mangum + powertools route answering the same
            # event without reading it (bench/floor_handler.py).
            floor = load_module(FLOOR_HANDLER, "bench_floor_handler")
            events = [predict_event(rows[i % len(rows)]) for i in range(plan.warm_requests)]
            timed = TimedLog(ours.services.predictions._log)
            ours.services.predictions._log = timed
            stub = TimedLog(stubbed.services.predictions._log, write=False)
            stubbed.services.predictions._log = stub
            measured = warm_latencies(
                {
                    "ours_with_log": (ours, timed),
                    "ours_log_stubbed": (stubbed, stub),
                    "baseline": (baseline, None),
                    "floor": (floor, None),
                },
                events,
                plan.warm_warmup,
            )
            with_log, without_log, base = (
                measured["ours_with_log"],
                measured["ours_log_stubbed"],
                measured["baseline"],
            )
            record_size, wru = item_wru(timed.last)
            floor_p50 = measured["floor"]["request_ms"]["p50"]
            report["warm"] = {
                "requests": plan.warm_requests,
                "ours_with_log": with_log,
                "ours_log_stubbed": without_log,
                "baseline": base,
                "floor": measured["floor"],
                "ours_over_floor_p50_ms": without_log["request_ms"]["p50"] - floor_p50,
                "where_the_time_goes": warm_profile(stubbed, events[: min(2000, len(events))]),
                "note": (
                    "ours_with_log is the real handler (each prediction is written to the "
                    "DynamoDB Predictions table on the local moto server before it is "
                    "answered); ours_log_stubbed (a second instance of the handler module) "
                    "replaces that write with a no-op, like for like with the baseline, which "
                    "writes no log. The three take turns every 100 requests, so that other "
                    "load on the machine falls on each alike."
                ),
                "ratio_p50_like_for_like": ratio(
                    base["request_ms"]["p50"], without_log["request_ms"]["p50"]
                ),
                "ratio_p50_with_log": ratio(
                    base["request_ms"]["p50"], with_log["request_ms"]["p50"]
                ),
                "log_item_bytes": record_size,
                "log_item_wru": wru,
            }

        # 2b. warm latency with a shadow challenger loaded, against none (bench/shadow.py)
        if "shadow" in parts:
            from bench import shadow

            say(f"warm latency with a shadow challenger, {plan.warm_requests} requests each …")
            report["shadow"] = shadow.measure(
                PREDICT_HANDLER,
                names["RegistryTable"],
                MODEL,
                rows,
                plan.warm_requests,
                plan.warm_warmup,
            )

        # scorer per row vs predict_proba on one-row DataFrames
        if "scorer" in parts:
            say("scorer per row …")
            report["per_row"] = scorer_per_row(
                plan, scorecard_bytes, rows, pipeline, features, smoke=smoke
            )

        # 3. batch
        if "batch" in parts:
            say("batch throughput …")
            report["batch"] = batch_part(
                plan, rows, frame, features, pipeline, baseline, scorecard_bytes
            )

        # 7. load run through the local HTTP API
        if "load" in parts:
            say(f"load run: {plan.load_clients} clients × {plan.load_seconds:g} s …")
            report["load"] = load_run(stack.url, rows, plan.load_seconds, plan.load_clients)
