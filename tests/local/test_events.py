"""Event builders and the sample events in events/, checked against the template."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from propensity.local.events import (
    decode_http_body,
    dynamodb_stream_record,
    http_api_event,
    schedule_delivery,
    scheduled_event,
    table_stream_arn,
)
from propensity.local.filters import matches_any
from propensity.local.schedules import schedule_rules
from propensity.local.template import REPO_ROOT, Stack

EVENTS_DIR = REPO_ROOT / "events"
WHEN = datetime(2026, 1, 15, 9, 30, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def stack() -> Stack:
    return Stack()


def test_http_event_carries_route_key_stage_and_path_parameters() -> None:
    # Given a request for the template route POST /models/{model}/predict on stage dev
    event = http_api_event(
        "post",
        "/models/bank/predict",
        route_key="POST /models/{model}/predict",
        path_parameters={"model": "bank"},
        stage="dev",
        query_string="strict=false&tag=a&tag=b",
        headers=[("Content-Type", "application/json"), ("X-Tag", "1"), ("x-tag", "2")],
        body=b'{"features": {"age": 45}}',
        now=WHEN,
    )
    # Then it has API Gateway's payload 2.0 shape
    assert event["version"] == "2.0"
    assert (
        event["routeKey"] == event["requestContext"]["routeKey"] == "POST /models/{model}/predict"
    )
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == "/dev/models/bank/predict"
    assert event["requestContext"]["stage"] == "dev"
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["pathParameters"] == {"model": "bank"}
    assert event["rawQueryString"] == "strict=false&tag=a&tag=b"
    assert event["queryStringParameters"] == {"strict": "false", "tag": "a,b"}
    assert event["headers"]["content-type"] == "application/json"
    assert event["headers"]["x-tag"] == "1,2"  # repeated headers joined, names lower-cased
    assert event["requestContext"]["timeEpoch"] == int(WHEN.timestamp() * 1000)
    assert event["requestContext"]["time"] == "15/Jan/2026:09:30:00 +0000"
    assert event["body"] == '{"features": {"age": 45}}'
    assert event["isBase64Encoded"] is False


def test_http_event_base64_encodes_binary_bodies_and_moves_cookies() -> None:
    # Given a binary upload with cookies, on the $default stage
    payload = bytes(range(256))
    event = http_api_event(
        "POST",
        "/upload",
        headers={"content-type": "application/octet-stream", "cookie": "a=1; b=2"},
        body=payload,
    )
    # Then the body is base64 and flagged; cookies leave the headers for `cookies`
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload
    assert event["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in event["headers"]
    assert event["rawPath"] == "/upload"  # $default: no stage prefix
    assert event["routeKey"] == "$default"
    assert "pathParameters" not in event and "queryStringParameters" not in event


def test_http_event_without_body_has_no_body_key() -> None:
    event = http_api_event("GET", "/health", route_key="GET /health", stage="dev")
    assert "body" not in event and event["isBase64Encoded"] is False


def test_decode_http_body_reads_base64_responses() -> None:
    assert (
        decode_http_body({"body": base64.b64encode(b"\x89PNG").decode(), "isBase64Encoded": True})
        == b"\x89PNG"
    )
    assert decode_http_body({"body": "{}", "isBase64Encoded": False}) == b"{}"
    assert decode_http_body({"statusCode": 204}) == b""


def test_stream_record_becomes_a_lambda_record() -> None:
    # Given a record as boto3's get_records returns it (moto: eventVersion 1.0, a datetime)
    arn = table_stream_arn("feedback")
    record = {
        "eventID": "e1",
        "eventName": "MODIFY",
        "eventVersion": "1.0",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": WHEN,
            "Keys": {"model": {"S": "bank"}, "item": {"S": "COUNTER"}},
            "NewImage": {"pending": {"N": "3"}},
            "SequenceNumber": "100",
            "SizeBytes": 10,
            "StreamViewType": "NEW_IMAGE",
        },
    }
    # When wrapped for Lambda
    wrapped = dynamodb_stream_record(record, event_source_arn=arn)
    # Then it has Lambda's fields: version 1.1, integer epoch, the stream ARN
    assert wrapped["eventVersion"] == "1.1"
    assert wrapped["eventSourceARN"] == arn
    assert wrapped["dynamodb"]["ApproximateCreationDateTime"] == int(WHEN.timestamp())
    assert wrapped["dynamodb"]["SequenceNumber"] == "100"
    json.dumps(wrapped)  # JSON-serialisable, as a real event


def test_schedule_with_input_delivers_exactly_the_input(stack: Stack) -> None:
    # Given the template's schedule, whose target has Input '{"trigger": "schedule"}'
    (rule,) = [r for r in schedule_rules(stack) if r.event_name == "Schedule"]
    assert rule.function == "RetrainFunction"
    assert rule.input_json is not None
    # Then EventBridge delivers that JSON and no envelope
    assert rule.delivery() == {"trigger": "schedule"}
    # And the rules agree with Stack.schedules()
    (source,) = [s for s in stack.schedules() if s.payload == {"trigger": "schedule"}]
    assert (source.function, source.expression, source.payload) == (
        rule.function,
        rule.expression,
        rule.delivery(),
    )


def test_schedule_without_input_delivers_the_scheduled_event_envelope() -> None:
    event = schedule_delivery(None, "arn:aws:events:us-east-1:123456789012:rule/r", now=WHEN)
    assert event == scheduled_event("arn:aws:events:us-east-1:123456789012:rule/r", now=WHEN) | {
        "id": event["id"]
    }
    assert event["version"] == "0"
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/r"]
    assert event["time"] == "2026-01-15T09:30:00Z"
    assert event["detail"] == {}


# --- the files in events/ ------------------------------------------------------------------


def load(name: str) -> Any:
    return json.loads((EVENTS_DIR / name).read_text())


def test_every_event_file_is_listed_in_the_readme() -> None:
    readme = (EVENTS_DIR / "README.md").read_text()
    files = sorted(p.name for p in EVENTS_DIR.glob("*.json"))
    assert len(files) == 13  # the challenger events and the Spark completion event
    for name in files:
        assert f"`{name}`" in readme


@pytest.mark.parametrize(
    ("name", "route_key", "path", "model"),
    [
        ("predict-bank.json", "POST /models/{model}/predict", "/models/bank/predict", "bank"),
        (
            "predict-telecom-flat.json",
            "POST /models/{model}/predict",
            "/models/telecom/predict",
            "telecom",
        ),
        ("predict-default.json", "POST /predict", "/predict", None),
        ("feedback-bank.json", "POST /models/{model}/feedback", "/models/bank/feedback", "bank"),
    ],
)
def test_http_event_files_match_template_routes(
    stack: Stack, name: str, route_key: str, path: str, model: str | None
) -> None:
    # Given a sample HTTP event
    event = load(name)
    # Then its route exists in the template and matches its path, under the dev stage
    routes = {r.route_key: r for r in stack.http_routes()}
    assert event["routeKey"] == event["requestContext"]["routeKey"] == route_key
    assert routes[route_key].match("POST", path) == ({"model": model} if model else {})
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == f"/{stack.stage()}{path}"
    assert event["requestContext"]["stage"] == stack.stage() == "dev"
    assert event.get("pathParameters") == ({"model": model} if model else None)
    assert event["isBase64Encoded"] is False
    assert all(k == k.lower() for k in event["headers"])
    body = json.loads(event["body"])
    if name == "predict-telecom-flat.json":
        assert body == {"calls": 85, "minutes": 516.7, "messages": 56, "mb_used": 22696.96}
    else:
        assert set(body["features"]) >= {"age", "job", "balance"}
    if name.startswith("feedback"):
        assert body["y"] == "yes"


def test_stream_event_file_passes_the_template_filter(stack: Stack) -> None:
    # Given the sample counter MODIFY with pending "3"
    event = load("feedback-stream.json")
    (record,) = event["Records"]
    (source,) = stack.stream_sources()
    # Then it is what Lambda would deliver to the retrain function
    assert matches_any(source.filters, record)
    assert record["eventName"] == "MODIFY"
    assert record["eventVersion"] == "1.1"
    assert record["dynamodb"]["Keys"]["item"] == {"S": "COUNTER"}
    assert record["dynamodb"]["NewImage"]["pending"] == {"N": "3"}
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
    assert f":table/{stack.names[source.table]}/stream/" in record["eventSourceARN"]


def test_schedule_event_files(stack: Stack) -> None:
    rules = {r.event_name: r for r in schedule_rules(stack)}
    assert load("schedule.json") == rules["Schedule"].delivery() == {"trigger": "schedule"}
    guard = rules["ChallengerGuard"].delivery()
    assert load("challenger-guard.json") == guard == {"trigger": "challenger-guard"}
    envelope = load("scheduled-event-envelope.json")
    assert envelope["detail-type"] == "Scheduled Event" and envelope["source"] == "aws.events"
    assert envelope["resources"][0].startswith("arn:aws:events:us-east-1:")
    assert load("bootstrap.json") == {"trigger": "bootstrap"}


def test_rotation_event_file_is_what_secrets_manager_sends_for_the_first_step(
    stack: Stack,
) -> None:
    # Given the sample rotation event, Then it has the three keys Secrets Manager sends, for the
    # first step, naming the template's secret and a version id of its length (32-64)
    event = load("rotate-create-secret.json")
    assert set(event) == {"Step", "SecretId", "ClientRequestToken"}
    assert event["Step"] == "createSecret"
    assert event["SecretId"].startswith("arn:aws:secretsmanager:us-east-1:")
    assert ":secret:AdminTokenSecret-" in event["SecretId"]
    assert 32 <= len(event["ClientRequestToken"]) <= 64
    # And it is for the template's rotation function
    assert "RotateFunction" in stack.functions()


def test_event_files_are_what_sam_generate_event_keys_look_like() -> None:
    # The top-level keys of `sam local generate-event apigateway http-api-proxy`, minus the
    # optional ones a request without cookies/query/stage variables does not carry.
    expected = {
        "version",
        "routeKey",
        "rawPath",
        "rawQueryString",
        "headers",
        "requestContext",
        "body",
        "isBase64Encoded",
    }
    for path in Path(EVENTS_DIR).glob("predict-*.json"):
        assert expected <= set(load(path.name))
