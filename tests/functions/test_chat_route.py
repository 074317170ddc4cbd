"""POST /models/{model}/chat through the predict function, against the moto stack."""

from __future__ import annotations

import boto3
import pytest

from propensity.local.template import Stack
from tests.functions.conftest import body_of, invoke, load_handler, route_event


@pytest.mark.usefixtures("published")
def test_spanish_message_is_extracted_scored_and_logged(stack: Stack) -> None:
    # Given the bootstrapped stack and a cold predict function
    handler = load_handler("predict")
    message = "Tengo 45 años, saldo 1200, hipoteca sí, soy técnico, casado"
    # When a Spanish message is sent to the bank chat
    response = invoke(handler, route_event("POST", "/models/bank/chat", body={"message": message}))
    # Then it answers in Spanish with the features it understood
    assert response["statusCode"] == 200, response["body"]
    body = body_of(response)
    assert body["language"] == "es"
    assert body["understood"] == {
        "age": 45,
        "balance": 1200,
        "job": "technician",
        "marital": "married",
        "housing": "yes",
    }
    # And with a prediction that can take feedback, the rest filled with defaults
    prediction = body["prediction"]
    assert prediction["model"] == "bank" and prediction["version"] == "v1"
    assert prediction["prediction_id"] and 0 < prediction["probability"] < 1
    assert set(body["defaults"]) == set(prediction["imputed"])
    assert "education" in body["defaults"] and "age" not in body["defaults"]
    assert "Probabilidad" in body["reply"] and "education" in body["reply"]
    # And it asks for the most influential fields it had to default
    assert 1 <= len(body["ask"]) <= 2 and set(body["ask"]) <= set(body["defaults"])
    # And the prediction is logged with the extracted features, marked as coming from the chat
    item = boto3.client("dynamodb").get_item(
        TableName=stack.names["PredictionsTable"],
        Key={"prediction_id": {"S": prediction["prediction_id"]}},
    )["Item"]
    assert item["model"]["S"] == "bank" and item["version"]["S"] == "v1"
    assert item["source"]["S"] == "chat"


@pytest.mark.usefixtures("published")
def test_implausible_value_is_asked_about_and_nothing_is_scored_or_logged(stack: Stack) -> None:
    # Given a message with an age no client of the training data had
    message = "age 200, married, balance 1200"
    # When it is sent to the bank chat
    response = invoke(
        load_handler("predict"), route_event("POST", "/models/bank/chat", body={"message": message})
    )
    # Then the answer is a question about the age, with what else was understood
    assert response["statusCode"] == 200, response["body"]
    body = body_of(response)
    assert body["prediction"] is None
    assert body["implausible"]["age"]["value"] == 200
    assert (
        "18" in body["implausible"]["age"]["reason"]
        and "95" in body["implausible"]["age"]["reason"]
    )
    assert body["understood"] == {"balance": 1200, "marital": "married"}
    assert body["defaults"] == [] and body["ask"] == []
    assert "age = 200" in body["reply"] and "plausible" in body["reply"]
    # And no prediction was logged
    scanned = boto3.client("dynamodb").scan(TableName=stack.names["PredictionsTable"])
    assert scanned["Count"] == 0


@pytest.mark.usefixtures("published")
def test_telecom_english_message_is_scored() -> None:
    # Given a telecom usage message in English
    message = "85 calls, 516.7 minutes, 56 messages, 22696 MB"
    # When it is sent to the telecom chat
    response = invoke(
        load_handler("predict"),
        route_event("POST", "/models/telecom/chat", body={"message": message}),
    )
    # Then every feature is understood and nothing is defaulted
    assert response["statusCode"] == 200, response["body"]
    body = body_of(response)
    assert body["language"] == "en"
    assert body["understood"] == {"calls": 85, "minutes": 516.7, "messages": 56, "mb_used": 22696}
    assert body["defaults"] == [] and body["prediction"]["label"] in {"ultra", "smart"}


@pytest.mark.usefixtures("published")
@pytest.mark.parametrize(
    ("body", "field"),
    [({"message": "hola, ¿qué tal?"}, "message"), ({"message": "   "}, "message")],
)
def test_message_without_features_is_a_422_naming_message(body: object, field: str) -> None:
    # Given a message with nothing the model can use
    # When it is sent to the chat
    response = invoke(load_handler("predict"), route_event("POST", "/models/bank/chat", body=body))
    # Then it is rejected naming the message field, with a helpful reason
    assert response["statusCode"] == 422
    answer = body_of(response)
    assert answer["field"] == field and "age" in answer["reason"]


@pytest.mark.usefixtures("published")
@pytest.mark.parametrize("body", [{"message": ""}, {"message": "x" * 2001}, {"text": "hola"}])
def test_invalid_chat_body_is_a_422(body: object) -> None:
    # Given an empty, too long (over the documented 2,000 characters) or misnamed message
    # When sent
    response = invoke(load_handler("predict"), route_event("POST", "/models/bank/chat", body=body))
    # Then 422, naming the field
    assert response["statusCode"] == 422
    assert "message" in response["body"]


@pytest.mark.usefixtures("published")
def test_unknown_model_chat_is_a_404() -> None:
    response = invoke(
        load_handler("predict"),
        route_event("POST", "/models/nosuch/chat", body={"message": "I'm 30"}),
    )
    assert response["statusCode"] == 404
