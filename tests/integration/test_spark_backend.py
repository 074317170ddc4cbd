"""The Spark backend end to end: bank ×10 trained by Spark (local mode), compiled, checked on
every row, and published through the gate by the job run completion event.

One Spark session and one training run for the whole module (session start alone is ~20-30 s):
the orchestrator submits the retrain (a fake ``SparkJobs`` records it), the job runs in-process
on ``local[2]`` against moto's S3, then the sample EventBridge event reaches the real retrain
handler, which publishes the stored candidate through the same gate and registry.
"""

from __future__ import annotations

import copy
import gzip
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import numpy as np
import pandas as pd
import pytest
from moto import mock_aws
from pyspark.sql import SparkSession

from propensity.adapters.datasets import BucketDatasets
from propensity.adapters.feedback import DynamoFeedbackStore
from propensity.adapters.object_store import ObjectStore
from propensity.adapters.registry import DynamoRegistry
from propensity.clock import iso, utc_now
from propensity.config import ModelConfig, TrainingConfig
from propensity.local.template import Stack
from propensity.records import Candidate, RetrainOutcome
from propensity.scoring import Scorer
from propensity.service.retraining import RetrainOrchestrator
from propensity.service.spark_requests import run_key
from propensity.service.spark_retrains import SparkRetrains
from propensity.training.candidate import SklearnTrainer, candidate_from
from propensity.training.dataset import parse_dataset
from propensity.training.pipeline import build_encoder
from propensity.training.spark.fit import PARITY_TOLERANCE
from propensity.training.spark.trainer import spark_session
from propensity.training.train import TrainedModel, split_frame
from tests.functions.conftest import SMALL_BATCHES, apply_environment, invoke, load_handler
from tests.reliability import figures

pytestmark = pytest.mark.slow

EVENTS = Path(__file__).resolve().parents[2] / "events"
SCALE = 10
DATASET = "bank-x10.csv.gz"


class RecordingJobs:
    """``SparkJobs`` that records the submission; the test runs the job itself."""

    def __init__(self) -> None:
        self.submitted: list[tuple[str, str, str]] = []

    def submit(self, model: str, version: str, request_prefix: str) -> str:
        self.submitted.append((model, version, request_prefix))
        return f"00spark{len(self.submitted):09d}"


@dataclass
class Run:
    config: ModelConfig
    base: bytes
    submitted: RetrainOutcome
    jobs: RecordingJobs
    candidate: Candidate
    train_seconds: float
    handler: ModuleType
    response: dict[str, Any]
    registry: DynamoRegistry
    store: ObjectStore


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    session = spark_session("local[2]", app="propensity-tests")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def resampled_bank(data_root: Path, scale: int) -> bytes:
    """bank-full ×``scale``: its rows drawn with replacement (seed 0), same columns."""
    frame = pd.read_csv(data_root / "bank-full.csv.gz", sep=";")
    bigger = frame.sample(n=len(frame) * scale, replace=True, random_state=0)
    text = bigger.to_csv(sep=";", index=False)
    return gzip.compress(text.encode(), compresslevel=1, mtime=0)


def completion_event(job_run_id: str, **detail: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "spark-job-run-success.json").read_text())
    event = copy.deepcopy(event)
    event["detail"].update(jobRunId=job_run_id, **detail)
    return event


@pytest.fixture(scope="module")
def run(
    spark: SparkSession, data_root: Path, bank_config: ModelConfig, trained: dict[str, TrainedModel]
) -> Iterator[Run]:
    from propensity.roots.spark_job import run_job

    config = bank_config.model_copy(
        update={
            "dataset": bank_config.dataset.model_copy(update={"source": DATASET, "sha256": None}),
            "training": TrainingConfig(backend="spark"),
        }
    )
    base = resampled_bank(data_root, SCALE)
    with pytest.MonkeyPatch.context() as env, mock_aws():
        apply_environment(env)
        stack = Stack(parameters=SMALL_BATCHES)
        stack.create_resources(boto3.client("dynamodb"), boto3.client("s3"))
        apply_environment(env, stack)
        bucket = stack.names["ArtifactsBucket"]
        store = ObjectStore(bucket)
        store.put_bytes(f"datasets/{DATASET}", base)
        registry = DynamoRegistry(stack.names["RegistryTable"])
        feedback = DynamoFeedbackStore(stack.names["FeedbackTable"])
        jobs = RecordingJobs()
        service = RetrainOrchestrator(
            {"bank": config},
            registry,
            store,
            feedback,
            datasets=BucketDatasets(store),
            trainer=SklearnTrainer(),
            spark=SparkRetrains(jobs, store, registry, clock=lambda: iso(utc_now())),
        )
        # Given a champion trained by scikit-learn (bank ×1): the candidate must beat it
        service.publish(candidate_from(trained["bank"]), trigger="bootstrap")
        # When a retrain of the spark-backend model is due
        submitted = service.retrain("bank", trigger="schedule")
        # and the job runs (here in-process, on local[2])
        started = time.perf_counter()
        candidate = run_job(store, BucketDatasets(store), jobs.submitted[0][2], spark)
        train_seconds = time.perf_counter() - started
        # and its completion event reaches the retrain handler
        env.setenv("SPARK_APPLICATION_ID", "00fk3gq3v4n7b10a")
        env.setenv("SPARK_JOB_ROLE_ARN", "arn:aws:iam::123456789012:role/spark-job")
        handler = load_handler("retrain")
        response = invoke(handler, completion_event(f"00spark{1:09d}"))
        figures.record(
            "spark backend (bank ×10, local[2])",
            {
                "rows": candidate.evidence["parity"]["rows"],
                "train_s": round(train_seconds, 1),
                "parity_max_abs_diff": candidate.evidence["parity"]["max_abs_diff"],
                "roc_auc": round(candidate.metrics["roc_auc"], 4),
                "champion_roc_auc_same_rows": round(
                    candidate.comparisons["champion"]["roc_auc"], 4
                ),
            },
        )
        yield Run(
            config,
            base,
            submitted,
            jobs,
            candidate,
            train_seconds,
            handler,
            response,
            registry,
            store,
        )


def test_a_spark_backend_retrain_is_submitted_and_pending(run: Run) -> None:
    assert run.submitted.pending and run.submitted.version == "v2"
    assert run.jobs.submitted == [("bank", "v2", "spark-jobs/bank/v2/")]


def test_parity_holds_on_every_row(run: Run) -> None:
    # Then the compiled scorecard equals the Spark model's probability on every row it saw
    parity = run.candidate.evidence["parity"]
    assert parity["rows"] == len(parse_dataset(run.config, run.base, DATASET))
    assert parity["max_abs_diff"] <= PARITY_TOLERANCE
    assert parity["passed"] is True


def test_the_scorecard_boundaries_are_the_sklearn_encoders(run: Run) -> None:
    # Given the same training rows the Spark job fitted on
    frame = parse_dataset(run.config, run.base, DATASET)
    train, _ = split_frame(frame, run.config)
    encoder = build_encoder(run.config).fit(train[run.config.features.all])
    card = json.loads(run.candidate.files["scorecard.json"])
    by_name = {f["name"]: f for f in card["features"]}
    # Then every edge, imputed value and category is exactly the scikit-learn encoder's
    for spec in encoder.specs_:
        if spec["type"] == "cross":
            cross = next(c for c in card["crosses"] if c["name"] == spec["name"])
            cells = {(a, b) for a, seconds in cross["cells"].items() for b in seconds}
            assert cells == {tuple(cell) for cell in spec["cells"]}
            assert cross.get("edges") == spec.get("edges")
            continue
        entry = by_name[spec["name"]]
        assert entry["impute"] == spec["impute"]
        if spec["type"] == "numeric":
            assert entry["edges"] == spec["edges"]
        else:
            assert entry["categories"] == spec["categories"]


def test_the_completion_event_publishes_through_the_gate(run: Run) -> None:
    assert run.response["status"] == "ok"
    outcome = run.response["outcome"]
    record = run.registry.get_version("bank", "v2")
    # Then the version row carries the gate's decision and the Spark evidence
    gate = record.extra["gate"]
    assert gate["reason"] == outcome["reason"] == record.reason
    assert gate["evidence"]["backend"] == "spark"
    assert gate["evidence"]["parity"] == run.candidate.evidence["parity"]
    assert record.status == ("promoted" if outcome["promoted"] else "rejected")
    assert gate["evidence"]["against"].keys() == {"champion", "reference"}


def test_the_published_scorecard_is_served_as_any_other(run: Run) -> None:
    record = run.registry.get_version("bank", "v2")
    scorer = Scorer.from_json(run.store.get_bytes(record.scorecard_key))
    frame = parse_dataset(run.config, run.base, DATASET).head(200)
    rows = frame[run.config.features.all].astype(object).where(frame.notna(), None)
    records = [{str(k): v for k, v in r.items()} for r in rows.to_dict("records")]
    scores = [scorer.score(r).probability for r in records]
    assert all(0.0 < s < 1.0 for s in scores)
    assert json.loads(run.store.get_bytes(run_key(f"00spark{1:09d}")))["status"] in (
        "promoted",
        "rejected",
    )


def test_a_duplicate_completion_event_is_harmless(run: Run) -> None:
    latest = run.registry.latest_version_number("bank")
    again = invoke(run.handler, completion_event(f"00spark{1:09d}"))
    assert again["status"] == "ok" and "outcome" not in again
    assert run.registry.latest_version_number("bank") == latest


def test_the_spark_auc_is_in_the_sklearn_backends_range(run: Run) -> None:
    # The champion (scikit-learn, bank ×1) scored on the very same held-out rows
    ours = run.candidate.metrics["roc_auc"]
    theirs = run.candidate.comparisons["champion"]["roc_auc"]
    assert np.isfinite(ours) and np.isfinite(theirs)
    assert abs(ours - theirs) < 0.05


def test_a_failed_job_run_is_recorded_with_its_state_and_reason(run: Run) -> None:
    # Given another pending run (as a submission records it)
    pending = {"job_run_id": "00sparkfailed", "model": "bank", "version": "v3", "status": "pending"}
    run.store.put_bytes(run_key("00sparkfailed"), json.dumps(pending).encode())
    latest = run.registry.latest_version_number("bank")
    # When EMR reports it FAILED
    event = completion_event("00sparkfailed", state="FAILED", stateDetails="Driver OOM")
    response = invoke(run.handler, event)
    # Then the run is recorded failed with the state and reason, and no version is published
    assert response["status"] == "ok" and "outcome" not in response
    recorded = json.loads(run.store.get_bytes(run_key("00sparkfailed")))
    assert recorded["status"] == "failed" and recorded["state"] == "FAILED"
    assert "Driver OOM" in recorded["reason"]
    assert run.registry.latest_version_number("bank") == latest
