"""The local HTTP API: routes, stage prefix, errors, payload limit and CORS.

Routing details are checked with a recording function; the behaviour over real sockets
against a stack of the real template (emulator + handlers, no trained models: quick).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from propensity.local.server import (
    MAX_PAYLOAD_BYTES,
    LocalHttpApi,
    LocalHttpServer,
    cors_configuration,
    function_response,
    route_specificity,
)
from propensity.local.stack_run import LocalStack
from propensity.local.template import HttpRoute, Stack

from .httpclient import call, call_json, call_raw_body, raw_exchange


class RecordingFunctions:
    def __init__(self, response: Any = None, error: Exception | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.response = response if response is not None else {"statusCode": 200, "body": "{}"}
        self.error = error

    def __call__(self, function: str, event: dict[str, Any]) -> Any:
        self.calls.append((function, event))
        if self.error is not None:
            raise self.error
        return self.response


@pytest.fixture(scope="module")
def template_stack() -> Stack:
    return Stack()


def test_routes_are_matched_most_specific_first() -> None:
    # Given a literal route and a parameter route that both match /models/latest
    routes = [HttpRoute("GET", "/models/{model}", "A"), HttpRoute("GET", "/models/latest", "B")]
    # Then the literal one sorts first, so it wins
    assert [r.function for r in sorted(routes, key=route_specificity)] == ["B", "A"]


def test_request_becomes_the_event_of_its_template_route(template_stack: Stack) -> None:
    # Given the API of the real template with a recording function
    functions = RecordingFunctions()
    api = LocalHttpApi(template_stack, functions)
    # When predict is called without and with the stage prefix
    for target in ("/models/bank/predict?strict=false", "/dev/models/bank/predict?strict=false"):
        api.handle("POST", target, [("Content-Type", "application/json")], b'{"age": 1}')
    # Then both reach PredictFunction with the route key, the /dev rawPath and the parameters
    assert len(functions.calls) == 2
    for function, event in functions.calls:
        assert function == "PredictFunction"
        assert event["routeKey"] == "POST /models/{model}/predict"
        assert event["rawPath"] == "/dev/models/bank/predict"
        assert event["requestContext"]["stage"] == "dev"
        assert event["pathParameters"] == {"model": "bank"}
        assert event["queryStringParameters"] == {"strict": "false"}
        assert event["body"] == '{"age": 1}'
    # And the feedback routes go to the feedback function, the batch route stays distinct
    api.handle("POST", "/feedback", [], b"{}")
    api.handle("POST", "/models/bank/predict/batch", [], b"{}")
    assert [(f, e["routeKey"]) for f, e in functions.calls[2:]] == [
        ("FeedbackFunction", "POST /feedback"),
        ("PredictFunction", "POST /models/{model}/predict/batch"),
    ]


def test_unrouted_requests_get_api_gateways_404(template_stack: Stack) -> None:
    functions = RecordingFunctions()
    api = LocalHttpApi(template_stack, functions)
    for method, target in [("GET", "/nope"), ("DELETE", "/models/bank"), ("GET", "/prod/health")]:
        response = api.handle(method, target, [], None)
        assert (response.status, response.body) == (404, b'{"message":"Not Found"}')
    assert functions.calls == []


def test_function_errors_become_500(
    template_stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    api = LocalHttpApi(template_stack, RecordingFunctions(error=RuntimeError("kaput")))
    response = api.handle("GET", "/health", [], None)
    assert (response.status, json.loads(response.body)) == (
        500,
        {"message": "Internal Server Error"},
    )
    assert "RuntimeError: kaput" in capsys.readouterr().err  # the traceback is logged


def test_function_responses_are_translated() -> None:
    # Given a payload 2.0 response with cookies and a base64 body
    response = function_response(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "image/png"},
            "cookies": ["a=1; Path=/", "b=2"],
            "body": base64.b64encode(b"\x89PNG").decode(),
            "isBase64Encoded": True,
        }
    )
    # Then status, headers, one Set-Cookie per cookie and the decoded body are written
    assert response.status == 201
    assert ("content-type", "image/png") in response.headers
    assert [v for k, v in response.headers if k == "set-cookie"] == ["a=1; Path=/", "b=2"]
    assert response.body == b"\x89PNG"
    # And a result without statusCode is the JSON body of a 200, as API Gateway infers
    inferred = function_response({"ok": True})
    assert (inferred.status, json.loads(inferred.body)) == (200, {"ok": True})


def test_cors_configuration_comes_from_the_template(template_stack: Stack) -> None:
    cors = cors_configuration(template_stack)
    assert cors is not None
    assert cors.allow_origins == ("http://localhost:8000",)
    assert cors.allow_methods == ("GET", "POST", "PUT", "DELETE", "OPTIONS")
    assert cors.allow_headers == (
        "content-type",
        "authorization",
        "idempotency-key",
        "x-admin-token",
    )
    assert cors.max_age == 600
    assert not cors.allow_credentials


# --- over real sockets, against the real template ------------------------------------------


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(port=0, bootstrap=False, run_schedules=False, quiet=True) as running:
        yield running


def test_health_answers_with_and_without_the_stage_prefix(stack: LocalStack) -> None:
    for path in ("/health", "/dev/health"):
        status, body = call_json("GET", stack.url + path)
        assert status == 200, path
        assert body["status"] == "ok"


def test_headers_carry_the_api_gateway_request_id(stack: LocalStack) -> None:
    status, headers, _ = call("GET", stack.url + "/health")
    assert status == 200
    assert headers["apigw-requestid"]
    assert headers["content-type"].startswith("application/json")


def test_unknown_route_is_404_over_http(stack: LocalStack) -> None:
    assert call_json("GET", stack.url + "/dev/no/such/route") == (404, {"message": "Not Found"})
    assert call_json("PUT", stack.url + "/health") == (404, {"message": "Not Found"})


def test_model_without_champion_is_503_from_the_function(stack: LocalStack) -> None:
    # No bootstrap in this stack: the function itself answers (not the API layer)
    status, body = call_json("POST", stack.url + "/models/bank/predict", {"features": {"age": 40}})
    assert status == 503, body


def test_payloads_over_10_mib_are_refused_unread(stack: LocalStack) -> None:
    # Given a request declaring one byte more than API Gateway's limit, sending almost none
    head = (
        "POST /models/bank/predict HTTP/1.1\r\nHost: localhost\r\n"
        f"Content-Type: application/json\r\nContent-Length: {MAX_PAYLOAD_BYTES + 1}\r\n\r\n"
    ).encode()
    # When the server answers (it must not wait for the body)
    response = raw_exchange(stack.url, head, b'{"features":')
    # Then 413 with API Gateway's message, and the connection is closed
    status_line, _, rest = response.partition(b"\r\n")
    assert status_line.split()[1] == b"413"
    assert rest.endswith(b'{"message":"Request Entity Too Large"}')
    assert b"connection: close" in rest.lower()


def test_chunked_payloads_over_10_mib_are_refused(stack: LocalStack) -> None:
    head = (
        b"POST /models/bank/predict HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    response = raw_exchange(stack.url, head, f"{MAX_PAYLOAD_BYTES + 1:x}\r\n".encode())
    assert response.split()[1] == b"413"


def test_payloads_within_api_gateways_limit_still_meet_lambdas_6_mb(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a 7 MB body: under API Gateway's 10 MiB, over Lambda's 6 MB invocation payload
    status, _, body = call_raw_body(stack.url + "/models/bank/feedback", b" " * 7_000_000 + b"{}")
    # Then the invocation fails as it would in AWS (an integration error), and says why
    assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})
    assert "6 MB invocation payload" in capsys.readouterr().err
    # And a 1 MB body reaches the function (which answers for itself: no credential)
    status, _, body = call_raw_body(stack.url + "/models/bank/feedback", b" " * 1_000_000 + b"{}")
    assert status == 401 and b"credential required" in body, body


def test_cors_preflight_is_answered_by_the_api(stack: LocalStack) -> None:
    # Given a browser preflight from the allowed origin
    status, headers, body = call(
        "OPTIONS",
        stack.url + "/models/bank/predict",
        headers={
            "origin": "http://localhost:8000",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    # Then API Gateway's answer from the template's CorsConfiguration, without the function
    assert status == 204 and body == b""
    assert headers["access-control-allow-origin"] == "http://localhost:8000"
    assert headers["access-control-allow-methods"] == "GET,POST,PUT,DELETE,OPTIONS"
    assert headers["access-control-allow-headers"] == (
        "content-type,authorization,idempotency-key,x-admin-token"
    )
    assert headers["access-control-max-age"] == "600"


def test_cors_headers_only_for_allowed_origins(stack: LocalStack) -> None:
    _, allowed, _ = call("GET", stack.url + "/health", headers={"origin": "http://localhost:8000"})
    assert allowed["access-control-allow-origin"] == "http://localhost:8000"
    _, other, _ = call("GET", stack.url + "/health", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other
    status, preflight, _ = call(
        "OPTIONS", stack.url + "/health", headers={"origin": "https://evil.example"}
    )
    assert status == 204 and "access-control-allow-origin" not in preflight


def test_a_server_can_wrap_any_api(template_stack: Stack) -> None:
    # The socket layer alone, on a free port, with a function that echoes the event
    functions = RecordingFunctions(
        {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": "hi"}
    )
    server = LocalHttpServer(LocalHttpApi(template_stack, functions), "127.0.0.1", 0, quiet=True)
    server.start()
    try:
        status, _, body = call("GET", server.url + "/dev/models?x=1")
    finally:
        server.stop()
    assert (status, body) == (200, b"hi")
    ((_, event),) = functions.calls
    assert event["routeKey"] == "GET /models"
    assert event["rawQueryString"] == "x=1"
    assert event["headers"]["x-forwarded-proto"] == "http"
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
