"""One measured retrain of ``bench/retrain_scale.py``, in its own process.

``python -m bench.retrain_scale_child MODE`` (``table`` or ``snapshot-…``) retrains bank
through the retrain function's wiring (with or without the training snapshot) against the
endpoints and names in the environment, counting what every boto3 client reads, and prints
one JSON line. ``BENCH_BASE_SOURCE`` and ``BENCH_BASE_SHA256``, when set, name the base
dataset (in the bucket's datasets prefix) the bank config reads instead of the shipped one (the
base-scaling points); a sampling profiler (``retrain_scale_sampler``) runs beside the retrain.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

MODEL = "bank"


def _peak_rss_mib() -> float:
    """VmHWM: this process's own peak (ru_maxrss would carry the parent's across fork+exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Tally:
    """What every boto3 client of the process read: items, capacity, S3 bytes."""

    def __init__(self, feedback_table: str) -> None:
        self.table = feedback_table
        self.items = 0
        self.capacity = 0.0
        self.s3_bytes = 0
        self.s3_gets = 0

    def ask_capacity(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in ("Query", "GetItem", "BatchGetItem", "Scan"):
            params["ReturnConsumedCapacity"] = "TOTAL"

    def dynamodb(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        consumed = parsed.get("ConsumedCapacity")
        for entry in consumed if isinstance(consumed, list) else [consumed] if consumed else []:
            if entry.get("TableName") == self.table:
                self.capacity += float(entry.get("CapacityUnits", 0.0))
        if model.name in ("Query", "Scan"):
            self.items += int(parsed.get("Count", 0)) if self._ours(parsed) else 0
        elif model.name == "BatchGetItem":
            self.items += len(parsed.get("Responses", {}).get(self.table, []))

    def _ours(self, parsed: dict[str, Any]) -> bool:
        consumed = parsed.get("ConsumedCapacity") or {}
        return not consumed or consumed.get("TableName") == self.table

    def s3(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "GetObject":
            self.s3_gets += 1
            self.s3_bytes += int(parsed.get("ContentLength", 0))


def child(mode: str) -> dict[str, Any]:
    import boto3

    boto3.setup_default_session()
    tally = Tally(os.environ["FEEDBACK_TABLE"])
    events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
    events.register("before-parameter-build.dynamodb", tally.ask_capacity)
    events.register("after-call.dynamodb", tally.dynamodb)
    events.register("after-call.s3", tally.s3)

    from bench.retrain_scale_sampler import Sampler
    from propensity.settings import RetrainSettings

    _scaled_base()

    settings = RetrainSettings()  # type: ignore[call-arg]
    orchestrator = (
        _snapshot_orchestrator(settings) if mode.startswith("snapshot") else _table(settings)
    )
    started = time.perf_counter()
    with Sampler() as sampler:
        outcome = orchestrator.retrain(MODEL, trigger="admin")
    wall = time.perf_counter() - started
    lineage = orchestrator._registry.get_version(MODEL, outcome.version).extra["lineage"]
    return {
        "mode": mode,
        "retrain_s": wall,
        "peak_rss_mib": _peak_rss_mib(),
        "dynamodb_feedback_items_read": tally.items,
        "dynamodb_read_units": tally.capacity,
        "s3_bytes_read": tally.s3_bytes,
        "s3_gets": tally.s3_gets,
        "feedback_items": lineage["feedback"]["items"],
        "snapshot": lineage["feedback"].get("snapshot"),
        "version": outcome.version,
        "promoted": outcome.promoted,
        "profile": sampler.report(),
    }


def _scaled_base() -> None:
    """Point bank's config at the scaled base dataset (its own SHA-256), when one is named."""
    source = os.environ.get("BENCH_BASE_SOURCE")
    if not source:
        return
    import propensity.roots

    packaged = propensity.roots.model_configs

    def scaled() -> dict[str, Any]:
        configs = packaged()
        bank = configs[MODEL]
        dataset = bank.dataset.model_copy(
            update={"source": source, "sha256": os.environ["BENCH_BASE_SHA256"]}
        )
        return {**configs, MODEL: bank.model_copy(update={"dataset": dataset})}

    propensity.roots.model_configs = scaled


def _snapshot_orchestrator(settings: Any) -> Any:
    from propensity.roots.retrain import retrain_orchestrator

    return retrain_orchestrator(settings)


def _table(settings: Any) -> Any:
    """The retrain function's wiring as it was before snapshots: feedback read in full."""
    from propensity.adapters.datasets import BucketDatasets
    from propensity.adapters.feedback import DynamoFeedbackStore
    from propensity.adapters.object_store import ObjectStore
    from propensity.adapters.registry import DynamoRegistry, DynamoRetrainLock
    from propensity.roots import model_configs
    from propensity.service.retraining import RetrainOrchestrator
    from propensity.training.candidate import SklearnTrainer

    artifacts = ObjectStore(settings.artifacts_bucket)
    feedback = DynamoFeedbackStore(settings.feedback_table)
    return RetrainOrchestrator(
        model_configs(),
        DynamoRegistry(settings.registry_table),
        artifacts,
        feedback,
        datasets=BucketDatasets(artifacts, settings.datasets_prefix),
        trainer=SklearnTrainer(),
        lock=DynamoRetrainLock(settings.registry_table),
        uploads=feedback,
        jobs=feedback,
    )


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1]), default=str))
