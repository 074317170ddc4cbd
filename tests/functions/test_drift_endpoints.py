"""Drift reports end to end: the retrain schedule writes them, the predict function serves them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from propensity.adapters.predictions import DynamoPredictionLog
from propensity.config import load_model_config
from propensity.local.template import Stack
from propensity.records import PredictionRecord
from propensity.service.retraining import RetrainOrchestrator
from propensity.training.dataset import load_dataset
from propensity.training.train import split_frame
from tests.functions.conftest import (
    body_of,
    get_route,
    http_event,
    invoke,
    load_event,
    load_handler,
)


def log_telecom_traffic(stack: Stack, data_root: Path, *, mb_scale: float) -> None:
    """Held-out telecom rows logged as served predictions, mb_used scaled by ``mb_scale``."""
    config = load_model_config("telecom")
    frame, _ = load_dataset(config, data_root)
    _, test = split_frame(frame, config)
    rows: list[dict[str, Any]] = test[config.features.all].to_dict("records")  # type: ignore[assignment]
    DynamoPredictionLog(stack.names["PredictionsTable"]).put_many(
        [
            PredictionRecord(
                f"p{i}",
                "telecom",
                "v1",
                f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}.000",
                {**row, "mb_used": row["mb_used"] * mb_scale},
                0.5,
                0,
                2_000_000_000,
            )
            for i, row in enumerate(rows)
        ]
    )


@pytest.mark.usefixtures("published")
def test_drift_route_before_any_report_and_for_bad_names() -> None:
    handler = load_handler("predict")
    missing = invoke(handler, get_route("/models/telecom/drift"))
    assert missing["statusCode"] == 404
    assert body_of(missing)["detail"] == "no drift report yet for model 'telecom'"
    assert invoke(handler, get_route("/models/churn/drift"))["statusCode"] == 404
    assert invoke(handler, get_route("/models/BAD!/drift"))["statusCode"] == 422


def test_schedule_writes_reports_and_retrains_a_drifted_model(
    published: RetrainOrchestrator, stack: Stack, data_root: Path
) -> None:
    # Given telecom traffic whose data use tripled, and no feedback anywhere
    log_telecom_traffic(stack, data_root, mb_scale=3.0)
    # When the schedule runs
    result = invoke(load_handler("retrain"), load_event("schedule.json"))
    # Then telecom alone is retrained, for drift
    assert [(o["model"], o["version"]) for o in result["outcomes"]] == [("telecom", "v2")]
    assert published._registry.get_version("telecom", "v2").trigger == "drift"
    # And the next tick, with the drift still there but nothing new to learn from, does not
    assert invoke(load_handler("retrain"), load_event("schedule.json"))["outcomes"] == []
    # And the predict function serves both reports
    handler = load_handler("predict")
    telecom = invoke(handler, get_route("/models/telecom/drift"))
    assert telecom["statusCode"] == 200
    report = body_of(telecom)
    assert report["status"] == "ok" and report["drifted_features"] == ["mb_used"]
    assert report["window"]["rows"] == 643 and report["window"]["versions"] == ["v1"]
    bank = body_of(invoke(handler, get_route("/models/bank/drift")))
    assert bank["status"] == "insufficient_data" and bank["drift"] is False


@pytest.mark.usefixtures("published")
def test_schedule_without_feedback_or_drift_retrains_nothing(stack: Stack, data_root: Path) -> None:
    log_telecom_traffic(stack, data_root, mb_scale=1.0)
    result = invoke(load_handler("retrain"), load_event("schedule.json"))
    assert result["outcomes"] == []


def predict_telecom(handler: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    body = {"features": {"calls": 85}}
    event = http_event("predict-telecom-flat.json", body=body, headers=headers)
    response: dict[str, Any] = invoke(handler, event)
    return response


@pytest.mark.usefixtures("published")
def test_the_dashboard_says_so_and_its_predictions_stay_out_of_the_drift_window(
    stack: Stack,
) -> None:
    # Given the predict function, and one prediction logged before records had a source
    handler = load_handler("predict")
    table = stack.names["PredictionsTable"]
    boto3.client("dynamodb").put_item(
        TableName=table,
        Item={
            "prediction_id": {"S": "legacy"},
            "model": {"S": "telecom"},
            "version": {"S": "v1"},
            "created_at": {"S": "2026-01-01T00:00:00.000"},
            "features": {"S": "{}"},
            "probability": {"N": "0.5"},
            "prediction": {"N": "0"},
            "expires_at": {"N": "2000000000"},
        },
    )
    # When the dashboard's form sends the one field a person set, and an API client does too
    dashboard = predict_telecom(handler, {"X-Propensity-Source": "dashboard"})
    api = predict_telecom(handler)
    # Then both are scored, the rest imputed and said to be
    assert dashboard["statusCode"] == api["statusCode"] == 200
    assert sorted(body_of(dashboard)["imputed"]) == ["mb_used", "messages", "minutes"]
    # And the log keeps each one's source, with the imputed fields missing, not filled
    log = DynamoPredictionLog(table)
    logged = log.get(body_of(dashboard)["prediction_id"])
    assert logged.source == "dashboard" and logged.features["minutes"] is None
    assert log.get(body_of(api)["prediction_id"]).source == "api"
    # And the drift window of api + batch holds the API one and the legacy one, not the dashboard's
    window = log.recent("telecom", 10, sources=["api", "batch"])
    assert sorted(r.prediction_id for r in window) == sorted(
        ["legacy", body_of(api)["prediction_id"]]
    )
    assert [r.source for r in log.recent("telecom", 10, sources=["dashboard"])] == ["dashboard"]
    assert len(log.recent("telecom", 10)) == 3


@pytest.mark.usefixtures("published")
def test_an_unknown_source_header_is_a_422_naming_it() -> None:
    # When a caller claims a source the route does not take
    response = predict_telecom(load_handler("predict"), {"X-Propensity-Source": "chat"})
    # Then it is refused, naming the header
    assert response["statusCode"] == 422
    assert "x-propensity-source" in json.dumps(body_of(response)).lower()
