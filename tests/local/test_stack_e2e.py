"""The whole template over real HTTP: bootstrap, predictions, feedback → stream → retrain.

One LocalStack for the module: its bootstrap trains v1 of both models (10-20 s).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from propensity.cli import main
from propensity.local.stack_run import LocalStack
from propensity.local.template import REPO_ROOT, Stack
from tests.functions.conftest import SMALL_BATCHES

from .httpclient import call_json

pytestmark = pytest.mark.slow

BANK_FEATURES = {
    "age": 45,
    "job": "technician",
    "marital": "married",
    "education": "secondary",
    "balance": 1200,
    "housing": "yes",
    "loan": "no",
}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    # One feedback row retrains here (the shipped configs wait for 200-500).
    template = Stack(parameters=SMALL_BATCHES)
    with LocalStack(port=0, run_schedules=False, quiet=True, stack=template) as running:
        yield running


def assert_prediction(body: Any, model: str) -> None:
    assert body["model"] == model
    assert body["version"] == "v1"
    assert 0.0 <= body["probability"] <= 1.0
    assert body["prediction"] in (0, 1)
    assert body["reasons"] and all("text" in r for r in body["reasons"])
    assert body["prediction_id"]


def test_bootstrap_promoted_v1_of_every_model(stack: LocalStack) -> None:
    outcomes = {o["model"]: o for o in stack.bootstrap_result["outcomes"]}
    assert set(outcomes) == {"bank", "telecom"}
    assert all(o["version"] == "v1" and o["promoted"] for o in outcomes.values())


def test_health(stack: LocalStack) -> None:
    status, body = call_json("GET", stack.url + "/health")
    assert status == 200 and body["status"] == "ok"


def test_predict_bank_returns_a_probability_with_reasons(stack: LocalStack) -> None:
    status, body = call_json(
        "POST", stack.url + "/models/bank/predict", {"features": BANK_FEATURES}
    )
    assert status == 200, body
    assert_prediction(body, "bank")


def test_predict_default_route_serves_the_default_model(stack: LocalStack) -> None:
    status, body = call_json("POST", stack.stage_url + "/predict", {"features": BANK_FEATURES})
    assert status == 200, body
    assert_prediction(body, "bank")


def test_predict_telecom_accepts_the_flat_body(stack: LocalStack) -> None:
    flat = {"calls": 85, "minutes": 516.7, "messages": 56, "mb_used": 22696.96}
    status, body = call_json("POST", stack.url + "/models/telecom/predict", flat)
    assert status == 200, body
    assert_prediction(body, "telecom")
    assert body["label"] in ("ultra", "smart")


def test_feedback_reaches_the_retrain_function_through_the_stream(stack: LocalStack) -> None:
    # Given labelled feedback for bank
    status, body = call_json(
        "POST",
        stack.url + "/models/bank/feedback",
        {"features": BANK_FEATURES, "y": "yes"},
        {"X-Admin-Token": stack.feedback_token},
    )
    assert status == 201, body
    assert body["model"] == "bank" and body["y"] == 1
    # When the stream mapping delivers what is pending (the poller thread may have started)
    stack.drain_streams()
    assert stack.poller is not None
    deliveries = [d for d in stack.poller.deliveries if d.function == "RetrainFunction"]
    # Then the retrain function got the counter record and handled it on the first try
    assert deliveries, "no stream record reached RetrainFunction"
    assert [(d.attempt, d.error) for d in deliveries] == [(0, None)], deliveries[0].error
    assert deliveries[0].response == {"batchItemFailures": []}
    assert stack.poller.failures == []
    # And it trained v2 from the stream, promoted or rejected by the promotion rule
    status, history = call_json("GET", stack.url + "/models/bank/metrics")
    assert status == 200, history
    versions = {v["version"]: v for v in history["versions"]}
    assert versions["v2"]["trigger"] == "stream"
    assert versions["v2"]["status"] in ("promoted", "rejected"), versions["v2"]
    assert versions["v1"]["trigger"] == "bootstrap"


def test_invoke_command_runs_an_event_file_against_the_running_stack(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the running stack's emulator and the shipped sample event
    event = REPO_ROOT / "events" / "predict-telecom-flat.json"
    # When `propensity invoke PredictFunction --event ... --url <emulator>` runs
    assert (
        main(["invoke", "PredictFunction", "--event", str(event), "--url", str(stack.emulator_url)])
        == 0
    )
    # Then stdout is the function's JSON result: a 200 whose body is a telecom prediction
    result = json.loads(capsys.readouterr().out)
    assert result["statusCode"] == 200
    assert_prediction(json.loads(result["body"]), "telecom")
