"""FeedbackFunction: labelled examples stored once, counter incremented once, and only with a
credential (FeedbackAuth=required, the template's default)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import boto3
import pytest

from propensity.local.template import Stack
from propensity.service.admin_auth import AdminAuthenticator
from tests.functions.conftest import (
    ADMIN_TOKEN,
    SIGNED_IN,
    SMALL_BATCHES,
    apply_environment,
    body_of,
    http_event,
    invoke,
    load_event,
    load_handler,
    route_event,
)


def counter(stack: Stack, model: str) -> dict[str, Any]:
    item = (
        boto3.client("dynamodb")
        .get_item(
            TableName=stack.names["FeedbackTable"],
            Key={"model": {"S": model}, "item": {"S": "COUNTER"}},
        )
        .get("Item", {})
    )
    # (the counter's ``seq``, the feedback numbering, is asserted where it is the subject)
    return {k: int(v["N"]) for k, v in item.items() if "N" in v and k != "seq"}


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
    event = http_event("feedback-bank.json", body=body, headers=SIGNED_IN)
    responses = [invoke(handler, event) for _ in range(3)]
    # Then the first creates it, the retries return the same answer, and it counts once
    assert [r["statusCode"] for r in responses] == [201, 200, 200]
    first, retry = body_of(responses[0]), body_of(responses[1])
    assert retry == {**first, "duplicate": True}
    assert first["y"] == 1 and first["prediction_id"] == prediction["prediction_id"]
    assert counter(stack, "bank") == {"pending": 1, "total": 1}
    items = feedback_items(stack, "bank")
    assert len(items) == 1 and '"age":45' in items[0]["features"]["S"]
    # And it took one number in the commit order, the retries none
    assert items[0]["seq"] == {"N": "1"}


def test_features_feedback_with_idempotency_key(stack: Stack) -> None:
    handler = load_handler("feedback")
    event = http_event("feedback-bank.json", headers={"Idempotency-Key": "retry-me", **SIGNED_IN})
    assert invoke(handler, event)["statusCode"] == 201
    assert invoke(handler, event)["statusCode"] == 200
    assert counter(stack, "bank")["pending"] == 1
    # the default route (bank reference system) lands in the same model
    plain = invoke(
        handler, http_event("feedback-bank.json", path="/dev/feedback", headers=SIGNED_IN)
    )
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
    event = http_event("feedback-bank.json", body=body, headers=SIGNED_IN)
    response = invoke(load_handler("feedback"), event)
    assert response["statusCode"] == status
    assert needle in response["body"]
    assert feedback_items(stack, "bank") == [] and counter(stack, "bank") == {}


def test_unknown_model_is_404(stack: Stack) -> None:
    event = http_event("feedback-bank.json", model="churn", headers=SIGNED_IN)
    response = invoke(load_handler("feedback"), event)
    assert response["statusCode"] == 404


@pytest.mark.parametrize("path", ["/dev/models/bank/feedback", "/dev/feedback"])
def test_anonymous_feedback_is_401_and_nothing_is_stored(stack: Stack, path: str) -> None:
    # Given the sample event as a client without a credential sends it
    event = http_event("feedback-bank.json", path=path)
    # When it reaches the feedback function (FeedbackAuth=required, the default)
    response = invoke(load_handler("feedback"), event)
    # Then it is refused, naming what is missing, and neither a row nor the counter moved
    assert response["statusCode"] == 401
    assert "credential required" in body_of(response)["detail"]
    assert feedback_items(stack, "bank") == [] and counter(stack, "bank") == {}


@pytest.mark.parametrize(
    ("credential", "status"),
    [
        ("not-a-token", 401),
        (AdminAuthenticator("another-secret-0123456789").issue("x", 600, "*", "feedback"), 401),
        (AdminAuthenticator(ADMIN_TOKEN).issue("tel", 600, ["telecom"], scope="feedback"), 403),
    ],
    ids=["garbage", "signed-by-another-secret", "scoped-to-another-model"],
)
def test_feedback_with_a_credential_that_does_not_cover_it_stores_nothing(
    stack: Stack, credential: str, status: int
) -> None:
    event = http_event("feedback-bank.json", headers={"X-Admin-Token": credential})
    response = invoke(load_handler("feedback"), event)
    assert response["statusCode"] == status
    assert feedback_items(stack, "bank") == [] and counter(stack, "bank") == {}


def test_each_item_records_who_sent_it_and_by_which_route(stack: Stack) -> None:
    # Given a feedback token for "labeller" and the admin secret itself
    handler = load_handler("feedback")
    # When one label comes from a script and one from the dashboard's buttons
    from_api = invoke(handler, http_event("feedback-bank.json", headers=SIGNED_IN))
    dashboard = {"X-Admin-Token": ADMIN_TOKEN, "X-Propensity-Source": "dashboard"}
    from_dashboard = invoke(handler, http_event("feedback-bank.json", headers=dashboard))
    # Then both are stored with their subject and route beside their time
    assert [from_api["statusCode"], from_dashboard["statusCode"]] == [201, 201]
    provenance = sorted(
        (i["subject"]["S"], i["source"]["S"], bool(i["created_at"]["S"]))
        for i in feedback_items(stack, "bank")
    )
    assert provenance == [("admin", "dashboard", True), ("labeller", "api", True)]


@pytest.mark.usefixtures("published")
def test_a_label_for_a_chat_prediction_is_recorded_as_chat(stack: Stack) -> None:
    # Given a prediction the chat route made (logged with source=chat)
    message = "Tengo 45 años, saldo 1200, hipoteca sí, soy técnico, casado"
    chat = route_event("POST", "/models/bank/chat", body={"message": message})
    answer = body_of(invoke(load_handler("predict"), chat))
    body = {"prediction_id": answer["prediction"]["prediction_id"], "y": 1}
    # When a label for it arrives
    stored = invoke(
        load_handler("feedback"), http_event("feedback-bank.json", body=body, headers=SIGNED_IN)
    )
    # Then the item says it came by chat
    assert stored["statusCode"] == 201
    assert [i["source"]["S"] for i in feedback_items(stack, "bank")] == ["chat"]


def test_with_feedback_auth_off_feedback_is_stored_as_sent_by_anonymous_or_the_jwt_subject(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the stack deployed with FeedbackAuth=off (demos)
    apply_environment(monkeypatch, Stack(parameters={**SMALL_BATCHES, "FeedbackAuth": "off"}))
    handler = load_handler("feedback")
    # When a client without a service credential sends feedback, behind the JWT authorizer
    # (the sample event's claims) and without it (the local run)
    behind_jwt = http_event("feedback-bank.json")
    local = http_event("feedback-bank.json")
    del local["requestContext"]["authorizer"]
    # Then both are stored, attributed to what is known of the sender
    assert [invoke(handler, e)["statusCode"] for e in (behind_jwt, local)] == [201, 201]
    subjects = sorted(i["subject"]["S"] for i in feedback_items(stack, "bank"))
    assert subjects == ["anonymous", "jwt:6f1c2d3e-labeller"]


def test_with_a_retention_period_feedback_items_expire_and_nothing_else_does(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the stack deployed with FeedbackRetentionDays=30 (the table's TTL is on expires_at)
    apply_environment(
        monkeypatch, Stack(parameters={**SMALL_BATCHES, "FeedbackRetentionDays": "30"})
    )
    ttl = boto3.client("dynamodb").describe_time_to_live(TableName=stack.names["FeedbackTable"])
    assert ttl["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expires_at",
    }
    # When feedback is posted
    handler = load_handler("feedback")
    assert invoke(handler, http_event("feedback-bank.json", headers=SIGNED_IN))["statusCode"] == 201
    # Then its item expires 30 days after it was labelled (moto stores TTL attributes but never
    # deletes: DynamoDB does, within days of the expiry), and the counter never expires
    (item,) = feedback_items(stack, "bank")
    created = datetime.fromisoformat(item["created_at"]["S"])
    assert int(item["expires_at"]["N"]) == int(created.timestamp()) + 30 * 86_400
    assert "expires_at" not in counter_item(stack, "bank")


def test_by_default_feedback_is_kept(stack: Stack) -> None:
    # Given the template's default (FeedbackRetentionDays=0)
    handler = load_handler("feedback")
    # When feedback is posted
    assert invoke(handler, http_event("feedback-bank.json", headers=SIGNED_IN))["statusCode"] == 201
    # Then its item carries no expiry: it stays until an erasure deletes it
    (item,) = feedback_items(stack, "bank")
    assert "expires_at" not in item


def counter_item(stack: Stack, model: str) -> dict[str, Any]:
    return boto3.client("dynamodb").get_item(
        TableName=stack.names["FeedbackTable"],
        Key={"model": {"S": model}, "item": {"S": "COUNTER"}},
    )["Item"]
