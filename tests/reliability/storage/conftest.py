"""Storage reliability: races on DynamoDB Local (AWS's engine), faults and artifacts on moto.

- ``local_backend``: the template's tables on DynamoDB Local (started once per session) and its
  bucket on a moto server, with the functions' environment pointing boto3 at both.
- ``moto_backend``: everything in-process on moto, with ``StorageFaults`` hooked into the
  default boto3 session, so every client the code creates records its calls and can be failed.
- ``train``: training memoised on its inputs (config, version, rows). Training is deterministic
  (fixed seeds), so a memo returns what a new fit would, and a retrain costs its storage calls.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import boto3
import pandas as pd
import pytest
from botocore.config import Config
from moto import mock_aws
from moto.server import ThreadedMotoServer

from propensity.adapters.datasets import BucketDatasets, DirectoryDatasets
from propensity.adapters.feedback import DynamoFeedbackStore
from propensity.adapters.object_store import ObjectStore
from propensity.adapters.predictions import DynamoPredictionLog
from propensity.adapters.registry import DynamoRegistry, DynamoRetrainLock
from propensity.config import ModelConfig, available_models, load_model_config
from propensity.local.dynamodb_local import DynamoDBLocal
from propensity.local.processes import BackingServiceError, free_port
from propensity.local.template import Stack, load_template
from propensity.observability import metrics
from propensity.records import FeedbackRecord, VersionRecord
from propensity.service.ports import DriftCheck
from propensity.service.retraining import RetrainOrchestrator
from propensity.training import candidate
from propensity.training.candidate import SklearnTrainer
from propensity.training.dataset import load_dataset
from propensity.training.train import TrainedModel, train_model
from tests.functions.conftest import (
    EVENTS,
    SMALL_BATCHES,
    apply_environment,
    load_handler,
)
from tests.reliability.storage.faults import StorageFaults

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

DATA_ROOT = Path(__file__).resolve().parents[3] / "data"
REGION = "us-east-1"
SHORT_NAMES = {
    "RegistryTable": "registry",
    "FeedbackTable": "feedback",
    "PredictionsTable": "predictions",
}
TELECOM_DATASET = "users_behavior.csv.gz"

Train = Callable[..., TrainedModel]
_TRAINED: dict[tuple[str, ...], TrainedModel] = {}
_TRAINING = threading.Lock()  # racing retrains may both reach training
# Parsed once: a Stack only reads it (each resolves its own names and parameters).
TEMPLATE = load_template()


def configs() -> dict[str, ModelConfig]:
    return {name: load_model_config(name) for name in available_models()}


def _frame_digest(frame: pd.DataFrame | None) -> str:
    if frame is None or frame.empty:
        return "-"
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
    return hashlib.sha256(hashed + ",".join(map(str, frame.columns)).encode()).hexdigest()


@pytest.fixture
def train(monkeypatch: pytest.MonkeyPatch) -> Train:
    """``train_model`` memoised on its inputs, also patched into the retrain service."""
    real = train_model

    def memo(
        config: ModelConfig,
        frame: pd.DataFrame,
        *,
        version: str,
        extra_training: pd.DataFrame | None = None,
        **options: Any,
    ) -> TrainedModel:
        key = (
            hashlib.sha256(config.model_dump_json().encode()).hexdigest(),
            version,
            _frame_digest(frame),
            _frame_digest(extra_training),
            json.dumps(options, sort_keys=True, default=str),
        )
        with _TRAINING:
            if key not in _TRAINED:
                _TRAINED[key] = real(
                    config, frame, version=version, extra_training=extra_training, **options
                )
            return _TRAINED[key]

    monkeypatch.setattr(candidate, "train_model", memo)
    return memo


def telecom_v1(train: Train) -> TrainedModel:
    config = load_model_config("telecom")
    frame, _ = load_dataset(config, DATA_ROOT)
    return train(config, frame, version="v1")


def telecom_rows(n: int, *, start: int = 0) -> list[dict[str, Any]]:
    """Rows of the telecom dataset (features and the 0/1 ``is_ultra`` label)."""
    frame = pd.read_csv(DATA_ROOT / TELECOM_DATASET).iloc[start : start + n]
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def telecom_feedback(n: int, *, start: int = 0) -> list[FeedbackRecord]:
    return [
        FeedbackRecord(
            f"fb{start + i}",
            "telecom",
            int(row.pop("is_ultra")),
            row,
            "2026-11-22T00:00:00.000+00:00",
        )
        for i, row in enumerate(telecom_rows(n, start=start))
    ]


def job_stream_event(model: str, job_id: str) -> dict[str, Any]:
    """The stream record the feedback table emits when the admin function writes JOB#<id>."""
    return stream_event(model, f"JOB#{job_id}", sequence="2000", event_name="INSERT")


def stream_event(
    model: str, item: str, *, sequence: str = "1000", event_name: str = "MODIFY"
) -> dict[str, Any]:
    """A one-record DynamoDB stream batch for ``model``/``item``, in the sample's envelope."""
    event: dict[str, Any] = json.loads((EVENTS / "feedback-stream.json").read_text())
    record = copy.deepcopy(event["Records"][0])
    record["eventName"] = event_name
    record["dynamodb"]["Keys"] = {"model": {"S": model}, "item": {"S": item}}
    record["dynamodb"]["NewImage"] = {**record["dynamodb"]["Keys"], "pending": {"N": "1"}}
    record["dynamodb"]["SequenceNumber"] = sequence
    return {"Records": [record]}


# --- DynamoDB Local + moto S3 server ---------------------------------------------------------
@pytest.fixture(scope="session", autouse=True)
def dynamodb_engine() -> Iterator[DynamoDBLocal | BackingServiceError]:
    """DynamoDB Local, started with this directory's first test so the JVM boots while the
    others run; the error instead when Java or the package is missing."""
    try:
        engine = DynamoDBLocal()
    except BackingServiceError as exc:
        yield exc
        return
    yield engine
    engine.stop()


@pytest.fixture(scope="session")
def dynamodb_endpoint(dynamodb_engine: DynamoDBLocal | BackingServiceError) -> str:
    """The running engine's endpoint; missing Java or package is a failure, never a skip."""
    problem = dynamodb_engine
    if not isinstance(problem, BackingServiceError):
        try:
            return problem.wait()
        except BackingServiceError as exc:
            problem = exc
    pytest.fail(f"DynamoDB Local unavailable: {problem}", pytrace=False)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    # One log line per request would bury a failure's output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


class _Accepted:
    status_code = 200
    headers: dict[str, str] = {}  # noqa: RUF012 (a stand-in HTTP response)


def _without_backups(**_: Any) -> Any:
    """A before-call answer: botocore takes it as the response and sends nothing."""
    return _Accepted(), {}


@dataclass
class LocalBackend:
    """One stack's tables on DynamoDB Local and bucket on the moto server; a factory of clients,
    so each thread of a race gets its own."""

    stack: Stack
    dynamodb_endpoint: str
    s3_endpoint: str
    session: boto3.session.Session

    def name(self, logical: str) -> str:
        return self.stack.names[logical]

    @property
    def bucket(self) -> str:
        return self.name("ArtifactsBucket")

    def dynamodb(self) -> DynamoDBClient:
        return self.session.client("dynamodb", endpoint_url=self.dynamodb_endpoint)

    def s3(self) -> S3Client:
        return self.session.client(
            "s3", endpoint_url=self.s3_endpoint, config=Config(signature_version="s3v4")
        )

    def registry(self) -> DynamoRegistry:
        return DynamoRegistry(self.name("RegistryTable"), self.dynamodb())

    def feedback_store(self) -> DynamoFeedbackStore:
        return DynamoFeedbackStore(self.name("FeedbackTable"), self.dynamodb())

    def prediction_log(self) -> DynamoPredictionLog:
        return DynamoPredictionLog(self.name("PredictionsTable"), self.dynamodb())

    def objects(self) -> ObjectStore:
        return ObjectStore(self.bucket, self.s3())

    def retrain_service(self, *, data_root: str | Path = DATA_ROOT) -> RetrainOrchestrator:
        """The retrain function's wiring (lock, uploads, jobs), on this thread's own clients."""
        feedback = self.feedback_store()
        return RetrainOrchestrator(
            configs(),
            self.registry(),
            self.objects(),
            feedback,
            datasets=DirectoryDatasets(data_root),
            trainer=SklearnTrainer(),
            min_feedback=1,
            lock=DynamoRetrainLock(self.name("RegistryTable"), self.dynamodb()),
            uploads=feedback,
            jobs=feedback,
        )

    def items(self, logical: str, model: str) -> list[dict[str, Any]]:
        """Every item of ``model`` in a table (raw DynamoDB JSON), read consistently."""
        table = self.name(logical)
        items: list[dict[str, Any]] = []
        for page in (
            self.dynamodb()
            .get_paginator("query")
            .paginate(
                TableName=table,
                KeyConditionExpression="#m = :m",
                ExpressionAttributeNames={"#m": "model"},
                ExpressionAttributeValues={":m": {"S": model}},
                ConsistentRead=True,
            )
        ):
            items.extend(page["Items"])
        return items


@pytest.fixture
def local_backend(
    monkeypatch: pytest.MonkeyPatch, dynamodb_endpoint: str, s3_endpoint: str
) -> LocalBackend:
    """A fresh stack (unique names) on DynamoDB Local + moto S3, from infra/template.yaml."""
    suffix = uuid.uuid4().hex[:10]
    stack = Stack(
        TEMPLATE,
        parameters=SMALL_BATCHES,
        names={
            logical: f"p{suffix}-{logical.lower()}" for logical in [*SHORT_NAMES, "ArtifactsBucket"]
        },
    )
    apply_environment(monkeypatch, stack)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_endpoint)
    session = boto3.session.Session(
        region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    backend = LocalBackend(stack, dynamodb_endpoint, s3_endpoint, session)
    dynamodb = backend.dynamodb()
    # DynamoDB Local has no point-in-time recovery API (UnknownOperationException); PITR is a
    # backup setting with no effect on reads and writes, so that one call is answered locally.
    dynamodb.meta.events.register("before-call.dynamodb.UpdateContinuousBackups", _without_backups)
    stack.create_resources(dynamodb, backend.s3())
    backend.s3().put_object(
        Bucket=backend.bucket,
        Key=f"datasets/{TELECOM_DATASET}",
        Body=(DATA_ROOT / TELECOM_DATASET).read_bytes(),
    )
    metrics.clear_metrics()
    return backend


# --- moto in-process, with storage faults ----------------------------------------------------
@dataclass
class MotoBackend:
    stack: Stack
    faults: StorageFaults
    handlers: dict[str, ModuleType]

    def handler(self, function: str) -> ModuleType:
        """The function's handler, imported once per session (a warm container): its clients
        come from the hooked session, and the moto tests all use the same resource names."""
        if function not in self.handlers:
            self.handlers[function] = load_handler(function)
        return self.handlers[function]

    def name(self, logical: str) -> str:
        return self.stack.names[logical]

    @property
    def bucket(self) -> str:
        return self.name("ArtifactsBucket")

    @property
    def data_root(self) -> str:
        return f"s3://{self.bucket}/datasets"

    def registry(self) -> DynamoRegistry:
        return DynamoRegistry(self.name("RegistryTable"))

    def feedback_store(self) -> DynamoFeedbackStore:
        return DynamoFeedbackStore(self.name("FeedbackTable"))

    def prediction_log(self) -> DynamoPredictionLog:
        return DynamoPredictionLog(self.name("PredictionsTable"))

    def objects(self) -> ObjectStore:
        return ObjectStore(self.bucket)

    def retrain_service(
        self, configs_: dict[str, ModelConfig] | None = None, drift: DriftCheck | None = None
    ) -> RetrainOrchestrator:
        feedback = self.feedback_store()
        return RetrainOrchestrator(
            configs_ or configs(),
            self.registry(),
            self.objects(),
            feedback,
            datasets=BucketDatasets(self.objects()),
            trainer=SklearnTrainer(),
            min_feedback=1,
            drift=drift,
            lock=DynamoRetrainLock(self.name("RegistryTable")),
            uploads=feedback,
            jobs=feedback,
        )


@pytest.fixture(scope="session")
def hooked_session() -> tuple[boto3.session.Session, StorageFaults, dict[str, ModuleType]]:
    """One session with the fault hooks, reused so its service models are parsed once."""
    stack = Stack(TEMPLATE, parameters=SMALL_BATCHES)
    session = boto3.session.Session(
        region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    faults = StorageFaults({stack.names[k]: v for k, v in SHORT_NAMES.items()})
    faults.install(session)
    return session, faults, {}


@pytest.fixture
def moto_backend(
    monkeypatch: pytest.MonkeyPatch,
    hooked_session: tuple[boto3.session.Session, StorageFaults, dict[str, ModuleType]],
) -> Iterator[MotoBackend]:
    """The template's resources in moto; every boto3 client made afterwards goes through
    ``faults`` (recorded, and failed when armed)."""
    stack = Stack(TEMPLATE, parameters=SMALL_BATCHES)
    apply_environment(monkeypatch, stack)
    session, faults, handlers = hooked_session
    faults.reset()
    with mock_aws():
        # mock_aws swaps boto3's default session out: every client now comes from the hooked one.
        boto3.DEFAULT_SESSION = session
        stack.create_resources(boto3.client("dynamodb"), boto3.client("s3"))
        boto3.client("s3").put_object(
            Bucket=stack.names["ArtifactsBucket"],
            Key=f"datasets/{TELECOM_DATASET}",
            Body=(DATA_ROOT / TELECOM_DATASET).read_bytes(),
        )
        metrics.clear_metrics()
        yield MotoBackend(stack, faults, handlers)
        metrics.clear_metrics()
        faults.reset()


def store_v2_candidate(
    backend: MotoBackend, intercept_shift: float, model: str = "telecom"
) -> VersionRecord:
    """v2: v1's scorecard with its own version and a shifted intercept (so its scores differ),
    stored and recorded as a candidate with its SHA-256."""
    registry, objects = backend.registry(), backend.objects()
    v1 = registry.get_version(model, "v1")
    card = json.loads(objects.get_bytes(v1.scorecard_key))
    body = json.dumps({**card, "version": "v2", "intercept": card["intercept"] + intercept_shift})
    prefix = f"models/{model}/v2/"
    objects.put_bytes(prefix + "scorecard.json", body.encode(), "application/json")
    v2 = replace(
        v1,
        version="v2",
        number=2,
        status="candidate",
        artifact_prefix=prefix,
        artifacts={"scorecard.json": hashlib.sha256(body.encode()).hexdigest()},
        parent_version="v1",
    )
    registry.put_version(v2)
    return v2
