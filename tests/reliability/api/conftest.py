"""One in-process API with every router, on moto resources made from infra/template.yaml.

The predict, feedback, admin and dashboard routers are served by one FastAPI app (in AWS they
are three functions behind one HTTP API), wired to tables and a bucket created from the template
in moto, with the v1 champions of ``bank`` and ``telecom`` published the way a bootstrap would.
Each test module gets its own stack (module scope), so what one suite writes never leaks into
another's "unchanged afterwards" assertions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from moto import mock_aws

from propensity.adapters.datasets import BucketDatasets
from propensity.adapters.feedback import DynamoFeedbackStore
from propensity.adapters.object_store import ObjectStore
from propensity.adapters.registry import DynamoRegistry
from propensity.api.app import all_routers, create_app
from propensity.api.dependencies import Services
from propensity.config import available_models, load_model_config
from propensity.local.template import Stack
from propensity.observability import metrics
from propensity.roots.admin import admin_services
from propensity.roots.feedback import feedback_services
from propensity.roots.predict import predict_services
from propensity.service.drift_reports import drift_report_key
from propensity.settings import AdminSettings, FeedbackSettings, PredictSettings
from propensity.training.candidate import SklearnTrainer, candidate_from
from propensity.training.train import TrainedModel
from tests.functions.conftest import ADMIN_TOKEN, SIGNED_IN, SMALL_BATCHES, apply_environment

MODELS = ("bank", "telecom")
ADMIN_HEADERS = {"X-Admin-Token": ADMIN_TOKEN}
FEEDBACK_HEADERS = dict(SIGNED_IN)  # a feedback-scoped token: what a labelling client holds
AWS_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "ADMIN_TOKEN": ADMIN_TOKEN,
}


@dataclass
class Api:
    """The app under test, its client and what is needed to look behind it."""

    app: FastAPI
    client: TestClient
    stack: Stack
    services: Services

    def snapshot(self) -> dict[str, Any]:
        """Everything a request must not change unless it is meant to.

        The predictions table is left out on purpose: every successful prediction is logged
        there before it is answered (that is the feedback contract), so it may grow.
        """
        dynamodb = boto3.client("dynamodb")
        s3 = boto3.client("s3")
        bucket = self.stack.names["ArtifactsBucket"]
        objects = sorted(
            (obj["Key"], obj["ETag"])
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for obj in page.get("Contents", [])
        )
        assert self.services.predictions is not None
        served = {}
        for model in MODELS:
            alias, scorer = self.services.predictions.champion(model)
            card = json.dumps(scorer.card, sort_keys=True, default=str).encode()
            digest = hashlib.sha256(card).hexdigest()
            served[model] = (alias.version, alias.scorecard_sha256, digest)
        return {
            "registry": _scan(dynamodb, self.stack.names["RegistryTable"]),
            "feedback": _scan(dynamodb, self.stack.names["FeedbackTable"]),
            "objects": objects,
            "served": served,
        }

    def prediction_count(self) -> int:
        return len(_scan(boto3.client("dynamodb"), self.stack.names["PredictionsTable"]))


def _scan(dynamodb: Any, table: str) -> list[str]:
    items: list[str] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        items.extend(json.dumps(item, sort_keys=True) for item in page.get("Items", []))
    return sorted(items)


@pytest.fixture(autouse=True)
def no_model_stays_archived(request: pytest.FixtureRequest) -> Iterator[None]:
    """The admin routes archive models when called with a good credential (the fuzzer, the
    positive controls): no test may see a model another test archived."""
    yield
    if "api" in request.fixturenames:
        api: Api = request.getfixturevalue("api")
        boto3.client("s3").delete_object(
            Bucket=api.stack.names["ArtifactsBucket"], Key="model-configs/catalogue.json"
        )


@pytest.fixture(scope="module")
def api(trained: dict[str, TrainedModel]) -> Iterator[Api]:
    """All routers in one app on a template-made moto stack, both v1 champions published."""
    with pytest.MonkeyPatch.context() as env, mock_aws():
        apply_environment(env, base=AWS_ENV)
        stack = Stack(parameters=SMALL_BATCHES)
        stack.create_resources(boto3.client("dynamodb"), boto3.client("s3"))
        apply_environment(env, stack, base=AWS_ENV)
        # Every request reads the model catalogue: an archive a test made (a fuzzed or positive-
        # control POST /models/{model}/archive) is undone for the next test by deleting it.
        env.setenv("MODEL_CONFIG_REFRESH_SECONDS", "0")
        metrics.clear_metrics()
        _publish(stack, trained)
        predict = predict_services(PredictSettings())  # type: ignore[call-arg]
        feedback = feedback_services(FeedbackSettings())  # type: ignore[call-arg]
        admin = admin_services(AdminSettings())  # type: ignore[call-arg]
        services = Services(
            default_model="bank",
            predictions=predict.predictions,
            catalog=predict.catalog,
            drift=predict.drift,
            feedback=feedback.feedback,
            admin=admin.admin,
            authenticator=admin.authenticator,
            uploads=admin.uploads,
            models=admin.models,
            trials=admin.trials,
        )
        app = create_app(services, all_routers())
        # A server fault must come back as the generic 500 body, not as a raised exception.
        with TestClient(app, raise_server_exceptions=False) as client:
            yield Api(app, client, stack, services)
        metrics.clear_metrics()


def _publish(stack: Stack, trained: dict[str, TrainedModel]) -> None:
    # Imported here: the training stack is heavy and only this fixture needs it.
    from propensity.service.retraining import RetrainOrchestrator

    bucket = stack.names["ArtifactsBucket"]
    artifacts = ObjectStore(bucket)
    service = RetrainOrchestrator(
        {m: load_model_config(m) for m in available_models()},
        DynamoRegistry(stack.names["RegistryTable"]),
        artifacts,
        DynamoFeedbackStore(stack.names["FeedbackTable"]),
        datasets=BucketDatasets(artifacts),
        trainer=SklearnTrainer(),
    )
    for model in MODELS:
        outcome = service.publish(candidate_from(trained[model]), trigger="bootstrap")
        assert outcome.promoted, outcome
    # bank has a drift report (so GET /drift answers 200 with a body); telecom has none yet.
    report = {"model": "bank", "status": "insufficient_data", "features": {}, "drifted": []}
    artifacts.put_bytes(drift_report_key("bank"), json.dumps(report).encode(), "application/json")
