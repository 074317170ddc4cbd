"""Drift reports end to end: the retrain schedule writes them, the predict function serves them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from propensity.adapters.predictions import DynamoPredictionLog
from propensity.config import load_model_config
from propensity.local.template import Stack
from propensity.records import PredictionRecord
from propensity.service.retraining import RetrainOrchestrator
from propensity.training.dataset import load_dataset
from propensity.training.train import split_frame
from tests.functions.conftest import body_of, get_route, invoke, load_event, load_handler


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
