"""Part 6: the wrong caller gets nothing, and no route leaks another model's data.

- Every admin route (taken from the OpenAPI document, so a new one is covered automatically)
  refuses missing, wrong, malformed, forged, tampered and expired credentials with 401 (and
  ``WWW-Authenticate``), and so do the feedback routes; so are tokens signed with the raw
  secret (not the derived key), of the retired format, naming no model, living longer than
  24 h, issued in the future, for another stage, or revoked; a token scoped to another model
  gets 403, changing nothing; a valid credential for the model gets through (so the refusals
  are about the credential).
- In the template, each of those routes is served by AdminFunction behind the JWT authorizer
  (tests/infra/test_template_guarantees.py checks that every AdminFunction route has it; here
  the app's admin routes are matched against the template's).
- Crafted model names and paths (encoded slashes, dot segments, NUL, case, unicode look-alikes),
  another model's prediction, upload and job ids, and model names smuggled into bodies never
  return another model's data.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from typing import Any

import pytest

from propensity.local.template import load_template
from tests.functions.conftest import ADMIN_TOKEN
from tests.reliability.api.conftest import ADMIN_HEADERS, FEEDBACK_HEADERS, Api
from tests.reliability.api.credentials import (
    BANK_LABELLER,
    BANK_TOKEN,
    CREDENTIALS,
    FEEDBACK_ONLY,
    REVOKED,
    REVOKED_CLAIMS,
    TELECOM_TOKEN,
)
from tests.reliability.figures import record
from tests.support.presigned import post_form, sha256_of

FEEDBACK_ROUTES = [("POST", "/models/bank/feedback"), ("POST", "/feedback")]
# Admin routes about no one model: they need a credential for every model.
EVERY_MODEL_ROUTES = {("POST", "/tokens/{jti}/revoke")}
# Telecom data a bank answer must never contain: its feature names, target and labels.
TELECOM_MARKERS = ("mb_used", "minutes", "is_ultra", '"ultra"', '"smart"', "models/telecom")
HEX = "0123456789abcdef" * 2

checked: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def revoked(api: Api) -> None:
    """REVOKED was good until an admin revoked it, through the route."""
    assert api.client.get("/models/bank/versions", headers={"X-Admin-Token": REVOKED}).is_success
    response = api.client.post(
        f"/tokens/{REVOKED_CLAIMS.jti}/revoke", headers=ADMIN_HEADERS, json={"reason": "leaked"}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["actor"], response.json()["duplicate"]) == ("admin", False)


def _openapi(api: Api) -> dict[str, Any]:
    document: dict[str, Any] = api.client.get("/openapi.json").json()
    return document


def _admin_routes(api: Api) -> list[tuple[str, str]]:
    """(METHOD, path template) of every admin operation in the OpenAPI document."""
    return sorted(
        (method.upper(), path)
        for path, operations in _openapi(api)["paths"].items()
        for method, operation in operations.items()
        if "admin" in operation.get("tags", [])
    )


def _bank_path(template: str) -> str:
    values = {
        "model": "bank",
        "version": "v1",
        "upload_id": HEX,
        "job_id": HEX,
        "exclusion_id": HEX,
        "jti": HEX,
    }
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)


def _encoded(headers: dict[str, str]) -> dict[bytes, bytes]:
    # Headers travel as latin-1 (so a non-ASCII token reaches the app as sent).
    return {name.encode(): value.encode("latin-1") for name, value in headers.items()}


def test_every_admin_route_refuses_every_bad_credential_and_changes_nothing(api: Api) -> None:
    # Given every admin route of the API, for the bank model
    routes = _admin_routes(api)
    assert len(routes) >= 8
    before = api.snapshot()
    for method, template in routes:
        path = _bank_path(template)
        for name, headers, status, needle in [*CREDENTIALS, FEEDBACK_ONLY]:
            # When it is called with a bad credential (or one only good for feedback)
            response = api.client.request(method, path, headers=_encoded(headers))
            checked["route_credential_cases"] += 1
            # Then it is refused (401 with a challenge, or 403), saying why, with no data
            where = f"{method} {path} with {name}"
            assert response.status_code == status, (where, response.text)
            body = response.json()
            assert needle in body["detail"], (where, body)
            assert set(body) == {"detail"}, (where, body)
            if status == 401:
                assert response.headers["www-authenticate"].startswith("Bearer"), where
    # And nothing changed anywhere
    assert api.snapshot() == before


def test_every_feedback_route_refuses_every_bad_credential_and_stores_nothing(api: Api) -> None:
    # Given both feedback routes (the bank one and the seed-compatible alias)
    before = api.snapshot()
    for method, path in FEEDBACK_ROUTES:
        for name, headers, status, needle in CREDENTIALS:
            # When a valid bank label is sent with a bad credential
            response = api.client.request(
                method, path, headers=_encoded(headers), json={"features": {"age": 30}, "y": 1}
            )
            checked["feedback_credential_cases"] += 1
            # Then it is refused, saying why, and nothing is stored or counted
            where = f"{method} {path} with {name}"
            assert response.status_code == status, (where, response.text)
            assert needle in response.json()["detail"], where
    assert api.snapshot() == before


def test_a_feedback_or_admin_credential_for_the_model_may_send_feedback(api: Api) -> None:
    for method, path in FEEDBACK_ROUTES:
        for headers in (BANK_LABELLER, FEEDBACK_HEADERS, BANK_TOKEN, ADMIN_HEADERS):
            # When a label is sent with a credential that covers bank feedback
            response = api.client.request(
                method, path, headers=headers, json={"features": {"age": 31}, "y": 0}
            )
            checked["feedback_credential_cases"] += 1
            # Then it is stored
            assert response.status_code == 201, (path, headers, response.text)


def test_a_credential_for_the_model_gets_through_every_admin_route(api: Api) -> None:
    # Given a token scoped to bank, and the admin secret itself
    for method, template in _admin_routes(api):
        path = _bank_path(template)
        credentials: list[dict[str, str]] = [
            ADMIN_HEADERS,
            {"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ]
        if (method, template) in EVERY_MODEL_ROUTES:
            # (a route beyond any one model refuses the bank token, saying why)
            response = api.client.request(method, path, headers=BANK_TOKEN)
            checked["route_credential_cases"] += 1
            assert response.status_code == 403, (method, path, response.text)
            assert "does not cover every model" in response.json()["detail"]
        else:
            credentials.append(BANK_TOKEN)
        for headers in credentials:
            # When an admin route is called with it
            response = api.client.request(method, path, headers=headers)
            checked["route_credential_cases"] += 1
            # Then it is not refused for its credential (the route's own answer comes back)
            assert response.status_code not in (401, 403), (method, path, response.text)
            assert response.status_code < 500, (method, path, response.text)


def test_each_admin_route_of_the_app_is_behind_the_authorizer_in_the_template(api: Api) -> None:
    # Given the routes the template declares, per function
    resources = load_template()["Resources"]
    declared: dict[tuple[str, str], tuple[str, Any]] = {}
    for logical, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "HttpApi":
                props = event["Properties"]
                key = (props["Method"].upper(), props["Path"])
                declared[key] = (logical, props.get("Auth"))
    # Then no catch-all route can reach an admin path around the authorizer
    assert not any(path in ("$default", "/{proxy+}") for _, path in declared), declared
    # And every admin route of the app is AdminFunction's, behind the JWT authorizer
    for route in _admin_routes(api):
        checked["template_routes"] += 1
        assert declared.get(route) == ("AdminFunction", {"Authorizer": "AdminJwt"}), route
    # And so are the feedback routes, FeedbackFunction's: they write what the next model learns
    for route in [("POST", "/models/{model}/feedback"), ("POST", "/feedback")]:
        checked["template_routes"] += 1
        assert declared.get(route) == ("FeedbackFunction", {"Authorizer": "AdminJwt"}), route


# --- crafted names and paths ---------------------------------------------------------------

CRAFTED_MODELS = [
    "..%2Ftelecom",
    "bank%2F..%2Ftelecom",
    "bank%2F..%2F..%2Fmodels%2Ftelecom",
    "%2e%2e%2Ftelecom",
    "bank%00",
    "telecom%00",
    "bank%2500",
    "BANK",
    "Telecom",
    "bank%20",
    "telecom%09",
    "bank%3Btelecom",
    "bank%23telecom",
    "bank%E2%88%95telecom",  # U+2215 division slash
    "%EF%BD%94elecom",  # fullwidth t
    "bank%0d%0aX-Admin-Token:%20x",
]
MODEL_ROUTES = [
    ("GET", "/models/{m}"),
    ("GET", "/models/{m}/metrics"),
    ("GET", "/models/{m}/evaluation"),
    ("GET", "/models/{m}/drift"),
    ("POST", "/models/{m}/predict"),
    ("POST", "/models/{m}/predict/batch"),
    ("POST", "/models/{m}/chat"),
    ("POST", "/models/{m}/feedback"),
    ("GET", "/models/{m}/versions"),
    ("POST", "/models/{m}/versions/v1/promote"),
    ("POST", "/models/{m}/rollback"),
    ("POST", "/models/{m}/retrain"),
    ("POST", "/models/{m}/uploads"),
    ("GET", f"/models/{{m}}/jobs/{HEX}"),
]


def _no_telecom_data(response: Any, where: str) -> None:
    for marker in TELECOM_MARKERS:
        assert marker not in response.text, (where, marker, response.text[:300])


@pytest.mark.parametrize("crafted", CRAFTED_MODELS)
def test_a_crafted_model_name_never_reaches_another_model(api: Api, crafted: str) -> None:
    # Given a bank-scoped admin token (so admin routes check the model, not only the token)
    before = api.snapshot()
    for method, template in MODEL_ROUTES:
        path = template.replace("{m}", crafted)
        # When a route is called with the crafted name
        response = api.client.request(
            method, path, headers=BANK_TOKEN, json={} if method == "POST" else None
        )
        checked["crafted_path_cases"] += 1
        # Then it is an unknown or invalid model (or out of scope), and no telecom data is sent
        assert response.status_code in (403, 404, 405, 422), (path, response.text)
        _no_telecom_data(response, path)
    # And nothing changed
    assert api.snapshot() == before


@pytest.mark.parametrize(
    "query",
    ["version=..%2F..%2Ftelecom%2Fv1", "version=v1%2F..%2F..%2Ftelecom", "version=v1%00"],
)
def test_a_crafted_version_never_reaches_another_models_artifacts(api: Api, query: str) -> None:
    # When the evaluation of a crafted version of bank is asked for
    response = api.client.get(f"/models/bank/evaluation?{query}")
    checked["crafted_path_cases"] += 1
    # Then the version is invalid and nothing of telecom comes back
    assert response.status_code == 422
    _no_telecom_data(response, query)
    # And a crafted version in the promote path is refused the same way
    promote = api.client.post(
        "/models/bank/versions/v1%2F..%2F..%2Ftelecom%2Fv1/promote", headers=BANK_TOKEN
    )
    checked["crafted_path_cases"] += 1
    assert promote.status_code in (404, 422)
    _no_telecom_data(promote, "promote")


def test_another_models_prediction_id_is_unknown_to_feedback(api: Api) -> None:
    # Given a telecom prediction
    telecom = api.client.post(
        "/models/telecom/predict",
        json={"calls": 85, "minutes": 516.7, "messages": 56, "mb_used": 22696.96},
    )
    assert telecom.status_code == 200
    prediction_id = telecom.json()["prediction_id"]
    before = api.snapshot()
    # When its id is used as feedback for bank (by path, and by the bank alias route)
    for path in ("/models/bank/feedback", "/feedback"):
        response = api.client.post(
            path, json={"prediction_id": prediction_id, "y": "yes"}, headers=FEEDBACK_HEADERS
        )
        checked["cross_model_id_cases"] += 1
        # Then it is not found for bank, and nothing of the telecom prediction is revealed
        assert response.status_code == 404, response.text
        assert "is not a prediction of model 'bank'" in response.json()["detail"]
        _no_telecom_data(response, path)
    assert api.snapshot() == before
    # And for telecom it is a prediction (the id itself is valid)
    accepted = api.client.post(
        "/models/telecom/feedback",
        json={"prediction_id": prediction_id, "y": 1},
        headers=FEEDBACK_HEADERS,
    )
    assert accepted.status_code == 201
    assert accepted.json()["model"] == "telecom"


def test_an_idempotency_key_is_scoped_to_its_model(api: Api) -> None:
    # Given telecom feedback stored under an Idempotency-Key
    key = {"Idempotency-Key": "shared-key-0001", **FEEDBACK_HEADERS}
    telecom = api.client.post(
        "/models/telecom/feedback", json={"features": {"calls": 10}, "y": 1}, headers=key
    )
    assert telecom.status_code == 201
    # When bank feedback reuses the same key with other data
    bank = api.client.post(
        "/models/bank/feedback", json={"features": {"age": 40}, "y": "no"}, headers=key
    )
    checked["cross_model_id_cases"] += 1
    # Then it is a new bank record: neither a conflict nor telecom's record replayed
    assert bank.status_code == 201, bank.text
    assert bank.json()["model"] == "bank"
    assert bank.json()["feedback_id"] != telecom.json()["feedback_id"]


def test_another_models_upload_and_job_ids_are_unknown(api: Api) -> None:
    # Given a telecom upload (a valid labelled CSV POSTed with its presigned form) and job
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["calls", "minutes", "messages", "mb_used", "is_ultra"])
    writer.writerows([[40, 300.5, 20, 15000.0, 0], [120, 800.0, 90, 30000.0, 1]])
    payload = rows.getvalue().encode()
    started = api.client.post(
        "/models/telecom/uploads", headers=TELECOM_TOKEN, json={"sha256": sha256_of(payload)}
    )
    assert started.status_code == 201
    upload_id = started.json()["upload_id"]
    assert post_form(started.json(), payload).status_code == 204
    job = api.client.post("/models/telecom/retrain", headers=TELECOM_TOKEN)
    assert job.status_code == 202
    job_id = job.json()["job_id"]
    before = api.snapshot()
    # When they are used on bank routes, with a credential that covers bank
    attempts = [
        ("POST", f"/models/bank/uploads/{upload_id}/complete"),
        ("GET", f"/models/bank/jobs/{job_id}"),
    ]
    for method, path in attempts:
        response = api.client.request(method, path, headers=ADMIN_HEADERS)
        checked["cross_model_id_cases"] += 1
        # Then bank has no such upload or job, and nothing of telecom's comes back
        assert response.status_code == 404, (path, response.text)
        _no_telecom_data(response, path)
        assert "telecom" not in response.text
    # And the bank-scoped token cannot use the telecom routes either
    for method, path in [
        ("POST", f"/models/telecom/uploads/{upload_id}/complete"),
        ("GET", f"/models/telecom/jobs/{job_id}"),
    ]:
        response = api.client.request(method, path, headers=BANK_TOKEN)
        checked["cross_model_id_cases"] += 1
        assert response.status_code == 403, (path, response.text)
        _no_telecom_data(response, path)
    assert api.snapshot() == before
    # While telecom's own credential reaches both (the ids are real)
    assert (
        api.client.get(f"/models/telecom/jobs/{job_id}", headers=TELECOM_TOKEN).json()["model"]
        == "telecom"
    )
    completed = api.client.post(
        f"/models/telecom/uploads/{upload_id}/complete", headers=TELECOM_TOKEN
    )
    assert completed.status_code == 200, completed.text
    assert completed.json()["rows"] == 2


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/models/bank/predict", {"features": {"age": 30}, "model": "telecom"}),
        ("POST", "/models/bank/predict", {"model": "telecom", "calls": 85}),
        ("POST", "/models/bank/predict/batch", {"rows": [{"age": 30}], "model": "telecom"}),
        ("POST", "/models/bank/feedback", {"features": {"age": 30}, "y": 1, "model": "telecom"}),
        ("POST", "/models/bank/chat", {"message": "I am 30", "model": "telecom"}),
        ("POST", "/models/bank/versions/v1/promote", {"model": "telecom"}),
        ("POST", "/models/bank/rollback", {"model": "telecom"}),
    ],
)
def test_a_model_name_in_the_body_cannot_override_the_path(
    api: Api, method: str, path: str, body: dict[str, Any]
) -> None:
    # Given the state before
    before = api.snapshot()
    # When a body names another model than the path (with a bank-scoped credential)
    response = api.client.request(method, path, json=body, headers=BANK_TOKEN)
    checked["crafted_body_cases"] += 1
    # Then the extra field is refused, and nothing of telecom is used or returned
    assert response.status_code == 422, response.text
    assert "model" in response.text
    _no_telecom_data(response, path)
    assert api.snapshot() == before


def test_access_figures_are_recorded() -> None:
    # Given every access check above (this test comes last in the module)
    record("api_access", dict(checked))
    # Then the whole matrix ran: each admin route with each credential, and the crafted cases
    assert checked["route_credential_cases"] >= 8 * (len(CREDENTIALS) + 3)
    assert checked["template_routes"] >= 8 + len(FEEDBACK_ROUTES)
    assert checked["feedback_credential_cases"] >= len(FEEDBACK_ROUTES) * (len(CREDENTIALS) + 4)
    assert checked["crafted_path_cases"] >= len(CRAFTED_MODELS) * len(MODEL_ROUTES)
    assert checked["cross_model_id_cases"] >= 7
    assert checked["crafted_body_cases"] >= 7
