"""AdminFunction: credentials, versions, manual promotion, rollback, retrain jobs."""

from __future__ import annotations

import copy
import time
from typing import Any

import boto3
import pytest

from propensity.local.template import Stack
from propensity.service.admin_auth import ALL_MODELS, AdminAuthenticator
from propensity.service.retraining import RetrainOrchestrator
from tests.functions.conftest import (
    ADMIN_TOKEN,
    body_of,
    invoke,
    load_event,
    load_handler,
    route_event,
)

BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
EXPIRED_TOKEN = AdminAuthenticator(ADMIN_TOKEN, clock=lambda: time.time() - 7200).issue(
    "ops", 60, ALL_MODELS
)
ADMIN_ROUTES = [
    ("GET", "/models/telecom/versions"),
    ("POST", "/models/telecom/versions/v1/promote"),
    ("POST", "/models/telecom/rollback"),
    ("POST", "/models/telecom/retrain"),
]


def champion(stack: Stack, model: str) -> dict[str, Any]:
    item = boto3.client("dynamodb").get_item(
        TableName=stack.names["RegistryTable"],
        Key={"model": {"S": model}, "record": {"S": "ALIAS#champion"}},
    )["Item"]
    return {"version": item["version"]["S"], "revision": int(item["revision"]["N"])}


@pytest.mark.usefixtures("published")
@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
@pytest.mark.parametrize(
    ("headers", "status", "needle"),
    [
        ({}, 401, "required"),
        ({"Authorization": "Bearer not-the-token"}, 401, "not valid"),
        ({"X-Admin-Token": "x" * 40}, 401, "not valid"),
        (
            {"Authorization": f"Bearer {EXPIRED_TOKEN}"},
            401,
            "expired",
        ),
        (
            # minted at collection: it must outlive a whole (slow) test session
            {
                "X-Admin-Token": AdminAuthenticator(ADMIN_TOKEN).issue(
                    "ops", 86_400, models=["bank"]
                )
            },
            403,
            "does not cover",
        ),
    ],
)
def test_admin_routes_refuse_missing_wrong_expired_and_out_of_scope_credentials(
    stack: Stack, method: str, path: str, headers: dict[str, str], status: int, needle: str
) -> None:
    before = champion(stack, "telecom")
    response = invoke(load_handler("admin"), route_event(method, path, headers=headers))
    assert response["statusCode"] == status
    assert needle in body_of(response)["detail"]
    if status == 401:
        assert response["headers"]["www-authenticate"].startswith("Bearer")
    assert champion(stack, "telecom") == before


def test_promote_rollback_and_history(published: RetrainOrchestrator, stack: Stack) -> None:
    # Given telecom v1 champion and a retrained v2 that was promoted
    assert published.retrain("telecom", trigger="admin").promoted
    handler = load_handler("admin")
    assert champion(stack, "telecom") == {"version": "v2", "revision": 2}
    # When an operator rolls back
    rolled = invoke(
        handler,
        route_event(
            "POST", "/models/telecom/rollback", body={"reason": "bad week"}, headers=BEARER
        ),
    )
    # Then v1 serves again, and the history says who did what and why
    assert rolled["statusCode"] == 200 and body_of(rolled)["version"] == "v1"
    assert champion(stack, "telecom") == {"version": "v1", "revision": 3}
    versions = body_of(
        invoke(handler, route_event("GET", "/models/telecom/versions", headers=BEARER))
    )
    assert versions["champion"] == "v1"
    assert [(p["action"], p["version"], p["actor"]) for p in versions["promotions"]][:2] == [
        ("rollback", "v1", "admin"),
        ("promote", "v2", "system"),
    ]
    assert versions["promotions"][0]["reason"] == "bad week"
    # And v2 can be promoted by hand again with a scoped, signed token
    token = AdminAuthenticator(ADMIN_TOKEN).issue("alice", 600, models=["telecom"])
    promoted = invoke(
        handler,
        route_event(
            "POST", "/models/telecom/versions/v2/promote", headers={"X-Admin-Token": token}
        ),
    )
    assert promoted["statusCode"] == 200 and body_of(promoted)["actor"] == "alice"
    # Promoting the champion again, or a version that does not exist, is refused
    again = invoke(
        handler, route_event("POST", "/models/telecom/versions/v2/promote", headers=BEARER)
    )
    assert again["statusCode"] == 409
    missing = invoke(
        handler, route_event("POST", "/models/telecom/versions/v9/promote", headers=BEARER)
    )
    assert missing["statusCode"] == 404


def test_two_racing_promotions_have_one_winner(
    published: RetrainOrchestrator, stack: Stack
) -> None:
    # Given v2 and v3 candidates and both operators having seen champion revision 1
    published.retrain("telecom", trigger="admin")
    published.retrain("telecom", trigger="admin")
    handler = load_handler("admin")
    rollback_to = invoke(
        handler, route_event("POST", "/models/telecom/versions/v1/promote", headers=BEARER)
    )
    revision = body_of(rollback_to)["revision"]
    # When both promote with the revision they saw
    results = [
        invoke(
            handler,
            route_event(
                "POST",
                f"/models/telecom/versions/{v}/promote",
                body={"expected_revision": revision},
                headers=BEARER,
            ),
        )
        for v in ("v2", "v3")
    ]
    # Then exactly one wins; the other gets 409 and the alias moved once
    assert sorted(r["statusCode"] for r in results) == [200, 409]
    assert champion(stack, "telecom") == {"version": "v2", "revision": revision + 1}


def test_a_tampered_artifact_is_never_promoted(
    published: RetrainOrchestrator, stack: Stack
) -> None:
    outcome = published.retrain("telecom", trigger="admin")
    handler = load_handler("admin")
    invoke(handler, route_event("POST", "/models/telecom/versions/v1/promote", headers=BEARER))
    s3 = boto3.client("s3")
    bucket, key = stack.names["ArtifactsBucket"], f"models/telecom/{outcome.version}/scorecard.json"
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    s3.put_object(Bucket=bucket, Key=key, Body=body.replace(b'"intercept": ', b'"intercept": 9'))
    response = invoke(
        handler,
        route_event("POST", f"/models/telecom/versions/{outcome.version}/promote", headers=BEARER),
    )
    assert response["statusCode"] == 409 and "SHA-256" in body_of(response)["detail"]
    assert champion(stack, "telecom")["version"] == "v1"


def job_stream_event(model: str, job_id: str) -> dict[str, Any]:
    """The stream record the feedback table emits when the admin function writes JOB#<id>."""
    event = load_event("feedback-stream.json")
    record = copy.deepcopy(event["Records"][0])
    record["eventName"] = "INSERT"
    record["dynamodb"]["Keys"] = {"model": {"S": model}, "item": {"S": f"JOB#{job_id}"}}
    record["dynamodb"]["NewImage"] = {**record["dynamodb"]["Keys"], "status": {"S": "queued"}}
    return {"Records": [record]}


@pytest.mark.usefixtures("published")
def test_retrain_job_is_accepted_run_once_and_pollable(stack: Stack) -> None:
    admin = load_handler("admin")
    # When an admin asks for a retrain
    accepted = invoke(admin, route_event("POST", "/models/telecom/retrain", headers=BEARER))
    assert accepted["statusCode"] == 202
    job = body_of(accepted)
    assert job["status"] == "queued" and job["requested_by"] == "admin"
    # And the retrain function receives the job's stream record, twice
    retrain = load_handler("retrain")
    for _ in range(2):
        assert invoke(retrain, job_stream_event("telecom", job["job_id"])) == {
            "batchItemFailures": []
        }
    # Then the job succeeded with exactly one new version
    polled = body_of(
        invoke(admin, route_event("GET", f"/models/telecom/jobs/{job['job_id']}", headers=BEARER))
    )
    assert polled["status"] == "succeeded" and polled["version"] == "v2"
    versions = body_of(
        invoke(admin, route_event("GET", "/models/telecom/versions", headers=BEARER))
    )
    assert [v["version"] for v in versions["versions"]] == ["v2", "v1"]
    assert versions["versions"][0]["trigger"] == "admin"


@pytest.mark.usefixtures("published")
def test_unknown_job_and_model() -> None:
    admin = load_handler("admin")
    assert (
        invoke(admin, route_event("GET", "/models/telecom/jobs/" + "0" * 32, headers=BEARER))[
            "statusCode"
        ]
        == 404
    )
    assert (
        invoke(admin, route_event("POST", "/models/churn/retrain", headers=BEARER))["statusCode"]
        == 404
    )
