"""FeedbackFunction: labelled examples stored once, counter incremented once."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from propensity.local.template import Stack
from tests.functions.conftest import body_of, http_event, invoke, load_event, load_handler


def counter(stack: Stack, model: str) -> dict[str, Any]:
    item = (
        boto3.client("dynamodb")
        .get_item(
            TableName=stack.names["FeedbackTable"],
            Key={"model": {"S": model}, "item": {"S": "COUNTER"}},
        )
        .get("Item", {})
    )
    return {k: int(v["N"]) for k, v in item.items() if "N" in v}


def feedback_items(stack: Stack, model: str) -> list[dict[str, Any]]:
    response = boto3.client("dynamodb").query(
        TableName=stack.names["FeedbackTable"],
        KeyConditionExpression="#m = :m AND begins_with(#i, :p)",
        ExpressionAttributeNames={"#m": "model", "#i": "item"},
        ExpressionAttributeValues={":m": {"S": model}, ":p": {"S": "FEEDBACK#"}},
    )
    return response["Items"]


@pytest.mark.usefixtures("published")
def test_feedback_on_a_prediction_is_stored_once_and_counted_once(stack: Stack) -> None:
    # Given a prediction served by the predict function
    prediction = body_of(invoke(load_handler("predict"), load_event("predict-bank.json")))
    handler = load_handler("feedback")
    body = {"prediction_id": prediction["prediction_id"], "y": "yes"}
    # When the same feedback is posted three times (client retries)
    responses = [invoke(handler, http_event("feedback-bank.json", body=body)) for _ in range(3)]
    # Then the first creates it, the retries return the same answer, and it counts once
    assert [r["statusCode"] for r in responses] == [201, 200, 200]
    first, retry = body_of(responses[0]), body_of(responses[1])
    assert retry == {**first, "duplicate": True}
    assert first["y"] == 1 and first["prediction_id"] == prediction["prediction_id"]
    assert counter(stack, "bank") == {"pending": 1, "total": 1}
    items = feedback_items(stack, "bank")
    assert len(items) == 1 and '"age":45' in items[0]["features"]["S"]


def test_features_feedback_with_idempotency_key(stack: Stack) -> None:
    handler = load_handler("feedback")
    event = http_event("feedback-bank.json", headers={"Idempotency-Key": "retry-me"})
    assert invoke(handler, event)["statusCode"] == 201
    assert invoke(handler, event)["statusCode"] == 200
    assert counter(stack, "bank")["pending"] == 1
    # the default route (bank reference system) lands in the same model
    plain = invoke(handler, http_event("feedback-bank.json", path="/dev/feedback"))
    assert plain["statusCode"] == 201
    assert counter(stack, "bank")["pending"] == 2


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"features": {"age": 40}, "y": "maybe"}, 422, "y"),
        ({"features": {"age": 40, "zip": "1"}, "y": 1}, 422, "features.zip"),
        ({"features": {"age": 40}}, 422, "y"),
        ({"features": {"age": 40}, "y": 1, "note": "x"}, 422, "note"),
        ({"prediction_id": "does-not-exist", "y": 1}, 404, "does-not-exist"),
        ({"prediction_id": "../../etc", "y": 1}, 422, "prediction_id"),
    ],
)
def test_invalid_feedback_is_rejected_and_nothing_is_stored(
    stack: Stack, body: dict[str, Any], status: int, needle: str
) -> None:
    response = invoke(load_handler("feedback"), http_event("feedback-bank.json", body=body))
    assert response["statusCode"] == status
    assert needle in response["body"]
    assert feedback_items(stack, "bank") == [] and counter(stack, "bank") == {}


def test_unknown_model_is_404(stack: Stack) -> None:
    response = invoke(load_handler("feedback"), http_event("feedback-bank.json", model="churn"))
    assert response["statusCode"] == 404
