"""PredictFunction: the sample events through Mangum and FastAPI, against moto."""

from __future__ import annotations

import boto3
import pytest

from propensity.local.template import Stack
from propensity.service.retraining import RetrainOrchestrator
from tests.functions.conftest import (
    body_of,
    get_route,
    http_event,
    invoke,
    load_event,
    load_handler,
)


@pytest.mark.usefixtures("published")
def test_bank_event_is_scored_with_reasons_and_logged(stack: Stack) -> None:
    # Given the bootstrapped stack and a cold predict function
    handler = load_handler("predict")
    # When the sample API Gateway event is invoked
    response = invoke(handler, load_event("predict-bank.json"))
    # Then it answers 200 with a scored prediction and its reasons
    assert response["statusCode"] == 200
    body = body_of(response)
    assert body["model"] == "bank" and body["version"] == "v1"
    assert 0 < body["probability"] < 1 and body["label"] in {"yes", "no"}
    assert body["prediction"] == int(body["probability"] >= body["threshold"])
    assert len(body["reasons"]) == 3 and all("text" in r for r in body["reasons"])
    assert body["imputed"] == []
    # and, as seed 002's API answered, the probability named after the target column
    assert body["probability_y"] == body["probability"]
    # And the prediction is logged with its features for feedback and drift
    item = boto3.client("dynamodb").get_item(
        TableName=stack.names["PredictionsTable"],
        Key={"prediction_id": {"S": body["prediction_id"]}},
    )["Item"]
    assert item["model"]["S"] == "bank" and item["version"]["S"] == "v1"
    assert int(item["expires_at"]["N"]) > 0


@pytest.mark.usefixtures("published")
def test_telecom_flat_body_and_default_route() -> None:
    handler = load_handler("predict")
    telecom = body_of(invoke(handler, load_event("predict-telecom-flat.json")))
    assert telecom["model"] == "telecom" and telecom["label"] in {"ultra", "smart"}
    assert telecom["probability_is_ultra"] == telecom["probability"]
    default = invoke(handler, load_event("predict-default.json"))
    assert default["statusCode"] == 200 and body_of(default)["model"] == "bank"


@pytest.mark.usefixtures("published")
@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"features": {"age": "old"}}, 422, "features.age"),
        ({"features": {"age": 40, "salary": 10}}, 422, "features.salary"),
        ({"features": {"age": 40}, "extra": 1}, 422, "extra"),
        ({"features": [1, 2]}, 422, "features"),
        ('{"features": {"age": NaN}}', 422, "features.age"),
        ("{not json", 422, None),
    ],
)
def test_bad_input_is_a_422_naming_the_field(body: object, status: int, field: str | None) -> None:
    response = invoke(load_handler("predict"), http_event("predict-bank.json", body=body))
    assert response["statusCode"] == status
    if field:
        assert body_of(response)["field"] == field


@pytest.mark.usefixtures("published")
def test_unknown_and_crafted_model_names() -> None:
    handler = load_handler("predict")
    unknown = invoke(handler, http_event("predict-bank.json", model="churn"))
    assert unknown["statusCode"] == 404 and "churn" in body_of(unknown)["detail"]
    crafted = invoke(handler, http_event("predict-bank.json", path="/dev/models/..%2Fbank/predict"))
    assert crafted["statusCode"] in (404, 422)


@pytest.mark.usefixtures("published")
def test_batch_scores_rows_and_refuses_oversized_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCH_LIMIT", "5")
    handler = load_handler("predict")
    row = {"calls": 85, "minutes": 516.7, "messages": 56, "mb_used": 22696.96}
    path = "/dev/models/telecom/predict/batch"
    ok = invoke(handler, http_event("predict-bank.json", body={"rows": [row] * 5}, path=path))
    assert ok["statusCode"] == 200 and body_of(ok)["count"] == 5
    too_many = invoke(handler, http_event("predict-bank.json", body={"rows": [row] * 6}, path=path))
    assert too_many["statusCode"] == 413


@pytest.mark.usefixtures("published")
def test_a_batch_writes_a_bounded_sample_of_its_rows_to_the_log(stack: Stack) -> None:
    # Given the default BATCH_LOG_ROWS (25) and an empty prediction log
    handler = load_handler("predict")
    table = stack.names["PredictionsTable"]
    row = {"calls": 85, "minutes": 516.7, "messages": 56, "mb_used": 22696.96}
    path = "/dev/models/telecom/predict/batch"
    # When 1,000 rows are scored in one request
    answer = body_of(
        invoke(handler, http_event("predict-bank.json", body={"rows": [row] * 1000}, path=path))
    )
    # Then all are answered, 25 of them are logged and say so, and the log grew by 25 items
    assert answer["count"] == 1000
    logged = [p["prediction_id"] for p in answer["predictions"] if p["logged"]]
    assert len(logged) == 25
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    assert sorted(i["prediction_id"]["S"] for i in items) == sorted(logged)
    # And a small batch is logged whole, as single predictions always are
    small = body_of(
        invoke(handler, http_event("predict-bank.json", body={"rows": [row] * 3}, path=path))
    )
    assert [p["logged"] for p in small["predictions"]] == [True] * 3
    single = body_of(invoke(handler, load_event("predict-telecom-flat.json")))
    assert single["logged"] is True


@pytest.mark.usefixtures("published")
def test_models_metrics_and_docs_under_the_stage_prefix() -> None:
    handler = load_handler("predict")
    models = body_of(invoke(handler, get_route("/models")))
    assert {m["name"]: m["champion"] for m in models} == {"bank": "v1", "telecom": "v1"}
    detail = body_of(invoke(handler, get_route("/models/bank")))
    assert detail["version"] == "v1" and {f["name"] for f in detail["features"]} >= {"age", "job"}
    job = next(f for f in detail["features"] if f["name"] == "job")
    assert "technician" in job["categories"]
    latest = body_of(invoke(handler, get_route("/model/latest")))
    assert latest["name"] == "bank"
    history = body_of(invoke(handler, get_route("/metrics", query="limit=5")))
    assert history["versions"][0]["version"] == "v1" and history["versions"][0]["champion"] is True
    assert history["versions"][0]["metrics"]["roc_auc"] >= 0.78
    # The evaluation route carries intervals, the out-of-time figures and the lift table
    evaluation = body_of(invoke(handler, get_route("/models/bank/evaluation")))
    bounds = evaluation["intervals"]["roc_auc"]
    assert bounds["low"] <= evaluation["roc_auc"] <= bounds["high"]
    assert evaluation["out_of_time"]["intervals"]["brier"]["high"] > 0
    assert len(evaluation["lift"]) == 10
    docs = invoke(handler, get_route("/docs"))
    assert docs["statusCode"] == 200 and "/dev/openapi.json" in docs["body"]
    spec = body_of(invoke(handler, get_route("/openapi.json")))
    assert {"/models/{model}/predict", "/models/{model}/feedback", "/predict", "/feedback"} <= set(
        spec["paths"]
    )
    assert spec["servers"] == [{"url": "/dev"}]


def test_no_champion_yet_is_a_503_not_a_crash(stack: Stack) -> None:
    handler = load_handler("predict")
    response = invoke(handler, load_event("predict-bank.json"))
    assert response["statusCode"] == 503
    assert "no champion" in body_of(response)["detail"]
    assert invoke(handler, get_route("/health"))["statusCode"] == 200


def test_a_new_champion_is_served_without_redeploy(
    published: RetrainOrchestrator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_REFRESH_SECONDS", "0")
    handler = load_handler("predict")
    assert body_of(invoke(handler, load_event("predict-telecom-flat.json")))["version"] == "v1"
    # When a retrain promotes v2
    outcome = published.retrain("telecom", trigger="admin")
    assert outcome.promoted
    # Then the warm function serves it on the next request
    assert body_of(invoke(handler, load_event("predict-telecom-flat.json")))["version"] == "v2"
