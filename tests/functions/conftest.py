"""Handlers invoked with the sample events, against moto resources made from the template."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from propensity.adapters.datasets import BucketDatasets
from propensity.adapters.feedback import DynamoFeedbackStore
from propensity.adapters.object_store import ObjectStore
from propensity.adapters.registry import DynamoRegistry
from propensity.config import available_models, load_model_config
from propensity.local.lambda_context import LambdaContext, initialise
from propensity.local.template import REPO_ROOT, Stack
from propensity.observability import metrics
from propensity.service.admin_auth import ALL_MODELS, AdminAuthenticator
from propensity.service.retraining import RetrainOrchestrator
from propensity.training.candidate import SklearnTrainer, candidate_from
from propensity.training.train import TrainedModel

EVENTS = REPO_ROOT / "events"
ADMIN_TOKEN = "test-admin-secret-0123456789"
# What a labelling client holds: a token scoped to feedback, minted from the admin secret.
FEEDBACK_TOKEN = AdminAuthenticator(ADMIN_TOKEN).issue(
    "labeller", 86_400, ALL_MODELS, scope="feedback"
)
SIGNED_IN = {"X-Admin-Token": FEEDBACK_TOKEN}
FUNCTIONS = {
    "predict": "PredictFunction",
    "feedback": "FeedbackFunction",
    "retrain": "RetrainFunction",
}


# Dummy credentials and region for the emulators, the stage every event carries, the admin secret.
TEST_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    # botocore 1.44 sends DynamoDB Streams calls that name a StreamArn to the account's own
    # host ({account}.streams-ddb.{region}...), which moto's in-process mock does not intercept
    # (it answers "Not yet implemented"); the regional endpoint is the one moto knows.
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "API_BASE_PATH": "/dev",
    "ADMIN_TOKEN": ADMIN_TOKEN,
}


# The shipped configs retrain from 200-500 new rows; the handler tests retrain from one.
SMALL_BATCHES = {"RetrainMinFeedback": "1"}


def apply_environment(
    env: pytest.MonkeyPatch,
    stack: Stack | None = None,
    base: Mapping[str, str] = TEST_ENVIRONMENT,
) -> None:
    """``base``, then (given a stack) every function's environment from the template."""
    for name, value in base.items():
        env.setenv(name, value)
    for spec in stack.functions().values() if stack else ():
        for key, value in spec.environment.items():
            env.setenv(key, value)


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """Tables and bucket created from infra/template.yaml in moto, functions' env applied."""
    apply_environment(monkeypatch)
    with mock_aws():
        stack = Stack(parameters=SMALL_BATCHES)
        stack.create_resources(boto3.client("dynamodb"), boto3.client("s3"))
        apply_environment(monkeypatch, stack)
        metrics.clear_metrics()
        yield stack
        metrics.clear_metrics()


@pytest.fixture
def retrain_service(stack: Stack, data_root: Path) -> RetrainOrchestrator:
    bucket = stack.names["ArtifactsBucket"]
    s3 = boto3.client("s3")
    for dataset in data_root.glob("*.csv.gz"):
        s3.put_object(Bucket=bucket, Key=f"datasets/{dataset.name}", Body=dataset.read_bytes())
    return RetrainOrchestrator(
        {m: load_model_config(m) for m in available_models()},
        DynamoRegistry(stack.names["RegistryTable"]),
        ObjectStore(bucket),
        DynamoFeedbackStore(stack.names["FeedbackTable"]),
        datasets=BucketDatasets(ObjectStore(bucket)),
        trainer=SklearnTrainer(),
    )


@pytest.fixture
def published(
    retrain_service: RetrainOrchestrator, trained: dict[str, TrainedModel]
) -> RetrainOrchestrator:
    """Both models' v1 (trained once per session) stored and promoted, as a bootstrap would."""
    for model in trained.values():
        retrain_service.publish(candidate_from(model), trigger="bootstrap")
    return retrain_service


def load_handler(function: str, *, restore: bool = True) -> ModuleType:
    """A fresh import of the function's handler module: a cold start, with empty caches.

    As Lambda runs it with SnapStart (and the local run does): init, the before-snapshot hooks,
    then (unless ``restore`` is False: the test restores, as ``module.snapshot_hooks``) the
    after-restore hooks.
    """
    path = REPO_ROOT / "functions" / function / "handler.py"
    spec = importlib.util.spec_from_file_location(f"handler_{function}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    hooks = initialise(module, spec)
    hooks.run_before_snapshot()
    if restore:
        hooks.run_after_restore()
    module.snapshot_hooks = hooks  # type: ignore[attr-defined]
    return module


def load_event(name: str, **overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    event.update(overrides)
    return event


def http_event(
    name: str,
    *,
    body: Any = None,
    path: str | None = None,
    model: str | None = None,
    headers: dict[str, str] | None = None,
    query: str = "",
) -> dict[str, Any]:
    """A sample HTTP API event with another body, path or path parameter."""
    event = load_event(name)
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    if model is not None:
        event["pathParameters"] = {"model": model}
        path = path or event["rawPath"].replace("/bank/", f"/{model}/").replace(
            "/telecom/", f"/{model}/"
        )
    if path is not None:
        event["rawPath"] = path
        event["requestContext"]["http"]["path"] = path
    if headers:
        event["headers"] = {**event["headers"], **{k.lower(): v for k, v in headers.items()}}
    event["rawQueryString"] = query
    return event


def invoke(handler: ModuleType, event: dict[str, Any]) -> Any:
    # The local runtime's context object: the attributes Lambda's has, a fresh request id each.
    context = LambdaContext(
        function_name="test",
        memory_limit_in_mb=512,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:test",
        timeout_seconds=900,
    )
    return handler.lambda_handler(event, context)


def body_of(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def get_route(path: str, query: str = "") -> dict[str, Any]:
    """A GET event for ``path`` (without the stage), from the predict event's envelope."""
    event = http_event("predict-bank.json", path=f"/dev{path}", query=query)
    event["routeKey"] = event["requestContext"]["routeKey"] = f"GET {path}"
    event["requestContext"]["http"]["method"] = "GET"
    event.pop("body", None)
    event["pathParameters"] = {}
    return event


def route_event(
    method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """An HTTP API event for ``METHOD path`` (path without the stage), in the sample's envelope."""
    event = get_route(path)
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {path}"
    event["requestContext"]["http"]["method"] = method
    if body is not None:
        event["body"] = json.dumps(body)
    event["headers"] = {k: v for k, v in event["headers"].items() if k != "content-length"}
    event["headers"].update({k.lower(): v for k, v in (headers or {}).items()})
    return event
