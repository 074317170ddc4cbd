"""Guarantee: a storage fault at any step of a retrain leaves nothing half-done.

An admin retrain job is delivered to the retrain handler (its stream record) while one S3 or
DynamoDB call fails, at each step in turn (``STEPS``: every storage call a retrain makes, in
order; ``test_the_steps_are_every_storage_call_of_a_retrain`` proves the list complete). After
each fault:

1. the champion alias is unchanged or fully moved: it names a promoted version whose every
   artifact is in S3 with the SHA-256 the registry recorded; no version row lacks artifacts;
2. the lock is released, or (when deleting it was the failing call) expires within
   ``lock_seconds``: the next run proceeds;
3. the job is marked failed with a reason naming the fault, or the stream record is reported
   failed (``batchItemFailures``) so that redelivery finishes it, or the fault could not change
   the outcome;
4. once the fault clears, a second run succeeds, trains each job at most once, and consumes
   the pending feedback counter exactly once (0 at the end, never negative).

Faults come in two modes (see ``faults.py``): ``error`` (refused, nothing written) for every
step, and ``lost`` (written, then the answer lost) for every DynamoDB write. The promoted
scenario runs every step; the rejected one (labels flipped, the gate says no) adds its own
decision step, marking the candidate rejected.
"""

from __future__ import annotations

import csv
import hashlib
import io
import time
from collections import Counter
from dataclasses import dataclass
from types import ModuleType, SimpleNamespace
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from propensity.adapters import registry as registry_adapter
from propensity.adapters.datasets import BucketDatasets
from propensity.adapters.feedback import DynamoFeedbackStore
from propensity.adapters.object_store import ObjectStore
from propensity.adapters.registry import DynamoRegistry, DynamoRetrainLock
from propensity.config import ModelConfig
from propensity.errors import NotFoundError
from propensity.records import RetrainJob, VersionRecord
from propensity.service.registry_admin import RegistryAdmin
from propensity.service.retraining import RetrainOrchestrator
from propensity.service.uploads import UploadService
from propensity.training.candidate import SklearnTrainer, candidate_from
from tests.functions.conftest import invoke
from tests.reliability.figures import record
from tests.reliability.storage.conftest import (
    MotoBackend,
    Train,
    configs,
    job_stream_event,
    telecom_feedback,
    telecom_rows,
    telecom_v1,
)
from tests.reliability.storage.faults import ERROR_CODES, Mode
from tests.reliability.storage.retrain_steps import REJECT, STEPS, RetrainStep

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MODEL = "telecom"
LOCK_SECONDS = 1800  # RetrainOrchestrator's default, which the handler uses


def _cases() -> list[Any]:
    cases = []
    for scenario, steps in STEPS.items():
        for step in steps:
            # The rejected scenario differs from the promoted one by its decision step only.
            if scenario == "rejected" and step is not REJECT:
                continue
            # A lost answer matters where the writer could act on it: not for S3 objects,
            # which are written before anything points at them (a lost put of one equals
            # a refused put of the next, which is its own case), except the snapshot's
            # manifest, the commit point of the parts written before it.
            commit = step.step.target == "snapshots/telecom/manifest.json"
            lost = step.is_write and (step.step.operation != "PutObject" or commit)
            for mode in ("error", "lost") if lost else ("error",):
                cases.append(
                    pytest.param(scenario, step, mode, id=f"{scenario}-{mode}-{step.what}")
                )
    return cases


CASES = _cases()
TOTALS: Counter[str] = Counter()


# --- the world a job runs in -----------------------------------------------------------------
def upload_csv(n: int, *, flip: bool) -> bytes:
    rows = telecom_rows(n, start=100)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "is_ultra": 1 - int(row["is_ultra"]) if flip else row["is_ultra"]})
    return buffer.getvalue().encode()


@dataclass
class World:
    backend: MotoBackend
    dynamodb: DynamoDBClient
    service: RetrainOrchestrator
    admin: RegistryAdmin
    registry: DynamoRegistry
    objects: ObjectStore
    handler: ModuleType

    def job(self, job_id: str) -> RetrainJob:
        return self.admin.job(MODEL, job_id)

    def deliver(self, job_id: str) -> list[dict[str, str]]:
        """The job's stream record through the retrain handler; the failed records.

        When every record of a batch fails, powertools fails the invocation instead (Lambda
        then retries the whole batch): that counts as each record reported failed."""
        event = job_stream_event(MODEL, job_id)
        try:
            result = invoke(self.handler, event)
        except BatchProcessingError:
            return [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in event["Records"]]
        failures: list[dict[str, str]] = result["batchItemFailures"]
        return failures


@pytest.fixture(params=["promoted", "rejected"])
def scenario(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def make_world(backend: MotoBackend, train: Train, scenario: str) -> World:
    """telecom v1 champion, 3 feedback items, one labelled CSV upload (honest: the candidate is
    promoted; labels flipped: it is rejected) and a queued admin job."""
    all_configs: dict[str, ModelConfig] = configs()
    dynamodb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    registry = DynamoRegistry(backend.name("RegistryTable"), dynamodb)
    store = DynamoFeedbackStore(backend.name("FeedbackTable"), dynamodb)
    objects = ObjectStore(backend.bucket, s3)
    service = RetrainOrchestrator(
        all_configs,
        registry,
        objects,
        store,
        datasets=BucketDatasets(objects),
        trainer=SklearnTrainer(),
        lock=DynamoRetrainLock(backend.name("RegistryTable"), dynamodb),
        uploads=store,
        jobs=store,
    )
    service.publish(candidate_from(telecom_v1(train)), trigger="bootstrap")
    for item in telecom_feedback(3):
        store.add(item)
    payload = upload_csv(40, flip=False) if scenario == "promoted" else upload_csv(2500, flip=True)
    UploadService(all_configs, objects, store).accept(MODEL, payload, "labels.csv")
    admin = RegistryAdmin(all_configs, registry, objects, store)
    return World(backend, dynamodb, service, admin, registry, objects, backend.handler("retrain"))


# --- what must hold after any fault ----------------------------------------------------------
@dataclass(frozen=True)
class Audit:
    champion_whole: bool
    versions_without_artifacts: int
    lock_expires_at: int | None


def artifacts_complete(world: World, version: VersionRecord) -> bool:
    for name, sha in version.artifacts.items():
        try:
            body = world.objects.get_bytes(version.artifact_prefix + name)
        except NotFoundError:
            return False
        if hashlib.sha256(body).hexdigest() != sha:
            return False
    return True


def audit(world: World) -> Audit:
    """The champion alias names a promoted version whose artifacts are all there, unaltered,
    and it moved once per promotion event; which version rows lack artifacts; the lock."""
    versions = world.registry.list_versions(MODEL)
    complete = {v.version: artifacts_complete(world, v) for v in versions}
    alias = world.registry.get_champion(MODEL)
    named = [v for v in versions if alias is not None and v.version == alias.version]
    whole = (
        alias is not None
        and len(named) == 1
        and named[0].status == "promoted"
        and alias.scorecard_sha256 == named[0].artifacts.get("scorecard.json")
        and alias.scorecard_key == named[0].scorecard_key
        and complete[alias.version]
        and alias.revision == len(world.registry.list_promotions(MODEL))
    )
    lock = world.dynamodb.get_item(
        TableName=world.backend.name("RegistryTable"),
        Key={"model": {"S": MODEL}, "record": {"S": registry_adapter.LOCK}},
        ConsistentRead=True,
    ).get("Item")
    return Audit(
        whole,
        sum(not ok for ok in complete.values()),
        int(lock["expires_at"]["N"]) if lock else None,
    )


def fault_name(step: RetrainStep, mode: Mode) -> str:
    return "ReadTimeoutError" if mode == "lost" else ERROR_CODES[step.step.service]


# --- the guarantee, step by step -------------------------------------------------------------
@pytest.mark.parametrize(("scenario", "step", "mode"), CASES)
def test_a_fault_at_any_retrain_step_leaves_nothing_half_done(
    moto_backend: MotoBackend,
    train: Train,
    monkeypatch: pytest.MonkeyPatch,
    scenario: str,
    step: RetrainStep,
    mode: Mode,
) -> None:
    # Given a champion, pending feedback and a queued admin retrain job
    world = make_world(moto_backend, train, scenario)
    job = world.admin.request_retrain(MODEL, actor="ops")
    faults = moto_backend.faults

    # When its stream record is delivered while this one storage call fails
    faults.arm(step.step, mode)
    failed_records = world.deliver(job.job_id)
    faults.clear()
    injected = bool(faults.injected)
    after = world.job(job.job_id)
    state = audit(world)
    whole, incomplete, expires = (
        state.champion_whole,
        state.versions_without_artifacts,
        state.lock_expires_at,
    )
    lock_ok = expires is None or (
        step.expect == "succeeded" and expires <= int(time.time()) + LOCK_SECONDS
    )
    if step.expect == "failed":
        job_ok = (
            not failed_records
            and after.status == "failed"
            and fault_name(step, mode) in after.reason
        )
    elif step.expect == "redelivered":
        job_ok = bool(failed_records) or after.status == "succeeded"
    else:
        job_ok = not failed_records and after.status == "succeeded"

    # And then, once the fault has cleared, the next run
    if step.expect == "redelivered" and failed_records:
        world.deliver(job.job_id)  # Lambda retries the reported record
        final_job = world.job(job.job_id)
    else:
        if expires is not None:  # the lock left behind has expired by the next run
            later = time.time() + LOCK_SECONDS + 1
            monkeypatch.setattr(registry_adapter, "time", SimpleNamespace(time=lambda: later))
        retry = world.admin.request_retrain(MODEL, actor="ops")
        world.deliver(retry.job_id)
        final_job = world.job(retry.job_id)
    versions = world.registry.list_versions(MODEL)
    per_job = Counter(v.extra.get("job_id") for v in versions if v.extra.get("job_id"))
    final = audit(world)
    recovered = (
        final_job.status == "succeeded"
        and final == Audit(champion_whole=True, versions_without_artifacts=0, lock_expires_at=None)
        and world.service.pending_feedback(MODEL) == 0
        and max(per_job.values()) == 1
    )

    TOTALS.update(
        cases=1,
        faults_injected=injected,
        half_promoted=not whole,
        versions_without_artifacts=incomplete,
        locks_left_held=not lock_ok,
        jobs_failed_with_reason=step.expect == "failed" and job_ok,
        jobs_finished_by_redelivery=step.expect == "redelivered" and job_ok,
        outcomes_kept_lock_expiring=step.expect == "succeeded" and job_ok,
        jobs_unaccounted=not job_ok,
        second_runs_ok=recovered,
    )
    record("retrain_faults", {"steps": len(STEPS["promoted"]) + 1, **TOTALS})

    # Then the fault hit, and every guarantee held
    assert injected, f"no call matched {step.step}"
    assert whole, "the champion alias points at a version that is not whole"
    assert incomplete == 0, "a version row points at missing or altered artifacts"
    assert lock_ok, f"lock left held (expires_at={expires})"
    assert job_ok, (failed_records, after)
    assert recovered, (final_job, [(v.version, v.status, v.extra) for v in versions])


def test_the_steps_are_every_storage_call_of_a_retrain(
    moto_backend: MotoBackend, train: Train, scenario: str
) -> None:
    # Given a queued job (the promoted or the rejected case)
    world = make_world(moto_backend, train, scenario)
    job = world.admin.request_retrain(MODEL, actor="ops")
    # When it runs without faults, every S3/DynamoDB call being recorded
    moto_backend.faults.reset_log()
    assert world.deliver(job.job_id) == []
    calls = list(moto_backend.faults.calls)
    # Then the calls are exactly the steps the fault test fails, in order
    assert world.job(job.job_id).promoted is (scenario == "promoted")
    assert calls == [s.step for s in STEPS[scenario]]
    record("retrain_faults", {f"steps_{scenario}": len(calls)})


def test_a_failing_retrain_marks_its_job_failed_even_on_an_unexpected_error(
    moto_backend: MotoBackend, train: Train, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a queued job, and training that fails with a non-domain error (a library bug)
    world = make_world(moto_backend, train, "promoted")
    job = world.admin.request_retrain(MODEL, actor="ops")

    def broken(*_: Any, **__: Any) -> Any:
        raise ValueError("numerical trouble")

    from propensity.training import candidate

    monkeypatch.setattr(candidate, "train_model", broken)
    # When it is delivered
    failures = world.deliver(job.job_id)
    # Then the record is reported, the job is failed (not stuck "running"), the lock released
    after = world.job(job.job_id)
    assert failures and after.status == "failed" and "ValueError" in after.reason
    assert audit(world).lock_expires_at is None
    assert world.registry.get_champion(MODEL).version == "v1"  # type: ignore[union-attr]
