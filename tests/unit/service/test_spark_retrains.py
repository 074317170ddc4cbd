"""Spark retrains: the job run event parsed at the edge, submission, completion, failures."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from propensity.adapters.emr_serverless import parse_job_run_event
from propensity.columns import FeedbackColumns
from propensity.config import TrainingConfig, load_model_config
from propensity.errors import DatasetError
from propensity.inputs import TrainingSet
from propensity.records import (
    Candidate,
    ChampionAlias,
    FeedbackRecord,
    RetrainOutcome,
    SparkJobFinished,
)
from propensity.service import promotion
from propensity.service.retraining import RetrainOrchestrator
from propensity.service.spark_requests import (
    read_candidate,
    read_request,
    run_key,
    write_candidate,
)
from propensity.service.spark_retrains import SparkRetrains, training_rows
from tests.support.fakes import FakeArtifacts, FakeFeedbackStore, FakeRegistry

EVENT = json.loads(
    (Path(__file__).resolve().parents[3] / "events" / "spark-job-run-success.json").read_text()
)


def _event(**detail: Any) -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(EVENT)
    event["detail"].update(detail)
    return event


class FakeJobs:
    def __init__(self) -> None:
        self.submitted: list[tuple[str, str, str]] = []

    def submit(self, model: str, version: str, request_prefix: str) -> str:
        self.submitted.append((model, version, request_prefix))
        return f"run-{len(self.submitted)}"


class FakeDatasets:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def read(self, source: str) -> tuple[bytes, str]:
        return self.body, f"s3://bucket/datasets/{source}"


class Publications:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(
        self,
        candidate: Candidate,
        *,
        trigger: str,
        actor: str = "system",
        champion: ChampionAlias | None = None,
        consumed: int = 0,
        job_id: str | None = None,
    ) -> RetrainOutcome:
        self.calls.append({"candidate": candidate, "trigger": trigger, "consumed": consumed})
        return RetrainOutcome(candidate.model, candidate.version, True, "passed", {}, None, 0)


def _candidate() -> Candidate:
    body = b'{"format": 1}\n'
    return Candidate(
        model="bank",
        version="v2",
        files={"scorecard.json": body},
        artifacts={"scorecard.json": hashlib.sha256(body).hexdigest()},
        metrics={"roc_auc": 0.79},
        comparisons={},
        threshold=0.3,
        rows_train=10,
        extra_rows=0,
        data_sha256="abc",
        evidence={"parity": {"rows": 12, "max_abs_diff": 1e-16, "tolerance": 1e-9}},
    )


BASE = b"age;y\n30;no\n40;yes\n"


def _submitted(
    clock: Callable[[], str] = lambda: "2026-12-02T19:00:00+00:00",
) -> tuple[SparkRetrains, FakeArtifacts, FakeJobs]:
    store, jobs = FakeArtifacts(), FakeJobs()
    spark = SparkRetrains(jobs, store, FakeRegistry(), clock=clock)
    outcome = spark.submit(
        load_model_config("bank"),
        TrainingSet("bank", BASE, "s3://bucket/datasets/bank-full.csv.gz"),
        version="v2",
        comparators={},
        trigger="schedule",
        actor="system",
        consumed=7,
        job_id=None,
    )
    assert outcome.pending and outcome.version == "v2" and "run-1" in outcome.reason
    return spark, store, jobs


def test_the_sample_success_event_parses_into_a_typed_value() -> None:
    finished = parse_job_run_event(EVENT)
    assert finished == SparkJobFinished(
        EVENT["detail"]["applicationId"], EVENT["detail"]["jobRunId"], "SUCCESS", ""
    )
    assert finished.succeeded


def test_a_failed_run_carries_its_state_details() -> None:
    finished = parse_job_run_event(_event(state="FAILED", stateDetails="OOM in the driver"))
    assert finished is not None and not finished.succeeded
    assert (finished.state, finished.reason) == ("FAILED", "OOM in the driver")


def test_a_state_that_is_not_final_is_ignored() -> None:
    assert parse_job_run_event(_event(state="RUNNING")) is None
    assert parse_job_run_event({"detail-type": "Scheduled Event"}) is None


def test_an_event_without_its_job_run_id_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"detail\.jobRunId"):
        parse_job_run_event(_event(jobRunId=None))


def test_submission_stores_the_request_and_a_pending_run() -> None:
    _, store, jobs = _submitted()
    assert jobs.submitted == [("bank", "v2", "spark-jobs/bank/v2/")]
    run = json.loads(store.objects[run_key("run-1")])
    assert (run["status"], run["version"], run["consumed"]) == ("pending", "v2", 7)


def test_the_job_reads_back_the_training_set_the_function_read() -> None:
    _, store, _ = _submitted()
    request = read_request(store, FakeDatasets(BASE), "spark-jobs/bank/v2/")
    assert (request.config.name, request.version, request.data.base) == ("bank", "v2", BASE)
    assert len(request.data.feedback) == len(FeedbackColumns())


def test_the_job_refuses_a_base_dataset_that_changed_since_submission() -> None:
    _, store, _ = _submitted()
    with pytest.raises(DatasetError, match="changed since"):
        read_request(store, FakeDatasets(BASE + b"50;no\n"), "spark-jobs/bank/v2/")


def test_success_publishes_the_stored_candidate_once() -> None:
    spark, store, _ = _submitted()
    write_candidate(store, "spark-jobs/bank/v2/", _candidate())
    publish = Publications()
    # When the completion event arrives twice
    first = spark.complete(SparkJobFinished("app", "run-1", "SUCCESS"), publish)
    again = spark.complete(SparkJobFinished("app", "run-1", "SUCCESS"), publish)
    # Then the candidate is published once, with the feedback it consumed
    assert first is not None and first.version == "v2"
    assert again is None
    assert len(publish.calls) == 1 and publish.calls[0]["consumed"] == 7
    assert publish.calls[0]["candidate"] == read_candidate(store, "spark-jobs/bank/v2/")
    assert json.loads(store.objects[run_key("run-1")])["status"] == "promoted"


def test_a_failed_run_is_recorded_with_its_state_and_reason() -> None:
    spark, store, _ = _submitted()
    publish = Publications()
    outcome = spark.complete(SparkJobFinished("app", "run-1", "FAILED", "exit code 1"), publish)
    assert outcome is None and publish.calls == []
    run = json.loads(store.objects[run_key("run-1")])
    assert run["status"] == "failed" and run["state"] == "FAILED"
    assert "exit code 1" in run["reason"]


def test_a_run_that_is_not_ours_is_ignored() -> None:
    spark, _, _ = _submitted()
    assert spark.complete(SparkJobFinished("app", "other", "SUCCESS"), Publications()) is None


def test_rows_for_the_backend_switch_count_base_and_feedback() -> None:
    assert training_rows(TrainingSet("bank", BASE, "x")) == 2


def test_a_parity_failure_rejects_the_candidate_with_the_number() -> None:
    rule = load_model_config("bank").promotion
    evidence = {"parity": {"rows": 10, "max_abs_diff": 0.25, "tolerance": 1e-9, "passed": False}}
    decision = promotion.decide(rule, {"roc_auc": 0.8}, None, evidence)
    assert not decision.promote
    assert "0.25" in decision.reason
    assert decision.guards[0].name == "scorecard_parity" and decision.guards[0].value == 0.25


DATA = Path(__file__).resolve().parents[3] / "data"


class NoTrainer:
    """The Spark backend trains in the job: the function's trainer must not be called."""

    def train(self, *_: Any, **__: Any) -> Candidate:
        raise AssertionError("trained in the function")


class Clock:
    def __init__(self, now: str) -> None:
        self.now = now

    def __call__(self) -> str:
        return self.now


def test_the_latest_run_holds_the_model_until_it_completes() -> None:
    # Given a submitted run
    spark, _, _ = _submitted()
    # Then it is the model's pending run; another model has none
    pending = spark.pending_run("bank")
    assert pending is not None and pending["job_run_id"] == "run-1"
    assert spark.pending_run("telecom") is None
    # When it fails, it no longer holds the model
    spark.complete(SparkJobFinished("app", "run-1", "FAILED", "exit code 1"), Publications())
    assert spark.pending_run("bank") is None


def test_a_run_pending_past_the_run_timeout_no_longer_holds_the_model() -> None:
    # Given a run submitted at 19:00 whose completion event never came
    clock = Clock("2026-12-02T19:00:00+00:00")
    spark, _, _ = _submitted(clock)
    # Then it holds the model for the 720 minutes EMR gives it, and not beyond
    clock.now = "2026-12-03T06:59:00+00:00"
    assert spark.pending_run("bank") is not None
    clock.now = "2026-12-03T07:01:00+00:00"
    assert spark.pending_run("bank") is None


def test_a_retrain_while_a_run_is_pending_submits_nothing_and_keeps_the_feedback() -> None:
    # Given bank on the Spark backend with 3 feedback items pending, and a retrain submitted
    config = load_model_config("bank")
    config = config.model_copy(update={"training": TrainingConfig(backend="spark")})
    feedback, jobs, store = FakeFeedbackStore(), FakeJobs(), FakeArtifacts()
    for i in range(3):
        feedback.add(FeedbackRecord(f"f{i}", "bank", 1, {"age": 30 + i}, "2026-12-02T10:00:00Z"))
    registry = FakeRegistry()
    service = RetrainOrchestrator(
        {"bank": config},
        registry,
        store,
        feedback,
        datasets=FakeDatasets((DATA / "bank-full.csv.gz").read_bytes()),
        trainer=NoTrainer(),
        spark=SparkRetrains(jobs, store, registry, clock=lambda: "2026-12-02T19:00:00+00:00"),
    )
    first = service.retrain("bank", trigger="schedule")
    # When the next trigger comes while that run is pending
    second = service.retrain("bank", trigger="stream")
    # Then nothing more is submitted or trained, the outcome names the run it waits for,
    # and the feedback stays pending for the retrain after it
    assert first.pending and len(jobs.submitted) == 1
    assert second.pending and second.version == first.version
    assert "run-1" in second.reason and "still running" in second.reason
    assert feedback.pending("bank") == 3
