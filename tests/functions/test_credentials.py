"""The admin and feedback functions as deployed: the secret from Secrets Manager and rotated,
a token revoked through the admin function and refused by the feedback function, and the JWT's
subject as the actor in promotion history."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from propensity.adapters.secrets import SecretsManagerSecret
from propensity.errors import StorageError
from propensity.local.template import Stack
from propensity.service.admin_auth import ALL_MODELS, AdminAuthenticator
from propensity.service.retraining import RetrainOrchestrator
from tests.functions.conftest import (
    ADMIN_TOKEN,
    body_of,
    http_event,
    invoke,
    load_handler,
    route_event,
)

OLD = "deployed-admin-secret-0123456789"
NEW = "rotated-admin-secret-9876543210"
VERSIONS = ("GET", "/models/telecom/versions")
CLAIMS = {
    "sub": "3b9c0e7a-alice",
    "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE",
    "client_id": "propensity-admin",
    "scope": "propensity/admin",
}


def status(handler: Any, credential: str, route: tuple[str, str] = VERSIONS) -> int:
    event = route_event(*route, headers={"X-Admin-Token": credential})
    code: int = invoke(handler, event)["statusCode"]
    return code


def behind_jwt(event: dict[str, Any], **claims: str) -> dict[str, Any]:
    """The event as API Gateway's JWT authorizer hands it over: the JWT's claims in the context."""
    event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return event


@pytest.fixture
def deployed_secret(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> str:
    """The admin secret in Secrets Manager, as the template's AdminTokenSecret holds it."""
    arn: str = boto3.client("secretsmanager").create_secret(Name="admin", SecretString=OLD)["ARN"]
    monkeypatch.delenv("ADMIN_TOKEN")
    monkeypatch.setenv("ADMIN_TOKEN_SECRET_ARN", arn)
    return arn


def test_a_rotated_secret_is_followed_and_the_previous_one_honoured_for_the_grace_window(
    deployed_secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an admin function warm with the default refresh (300 s) and one that re-reads the
    # secret on every request, both started before the rotation
    steady = load_handler("admin")
    monkeypatch.setenv("ADMIN_SECRET_REFRESH_SECONDS", "0")
    following = load_handler("admin")
    monkeypatch.setenv("ADMIN_SECRET_GRACE_SECONDS", "0")
    without_grace = load_handler("admin")
    assert [status(h, OLD) for h in (steady, following, without_grace)] == [200, 200, 200]
    # When the secret is rotated (AWSCURRENT moves to the new value, AWSPREVIOUS to the old)
    boto3.client("secretsmanager").put_secret_value(SecretId=deployed_secret, SecretString=NEW)
    new_token = AdminAuthenticator(NEW).issue("ops", 600, ["telecom"])
    # Then a function past its refresh interval accepts the new value and its tokens, and the
    # old value still, for the grace window after the rotation
    assert [status(following, c) for c in (NEW, new_token, OLD)] == [200, 200, 200]
    # And without a grace window the old value is refused at once
    assert [status(without_grace, c) for c in (NEW, OLD)] == [200, 401]
    # And a function within its refresh interval has not seen the rotation yet
    assert [status(steady, c) for c in (NEW, OLD)] == [401, 200]


def test_a_token_revoked_through_the_admin_function_is_refused_by_the_feedback_function(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a labelling client's token that the feedback function accepts
    monkeypatch.setenv("TOKEN_REVOCATION_REFRESH_SECONDS", "0")  # so the test need not wait
    token, claims = AdminAuthenticator(ADMIN_TOKEN).mint("vendor-7", 3600, ALL_MODELS, "feedback")
    feedback, admin = load_handler("feedback"), load_handler("admin")
    sent = http_event("feedback-bank.json", headers={"X-Admin-Token": token})
    assert invoke(feedback, sent)["statusCode"] == 201
    # When an operator signed in with a JWT revokes it by its id
    revoke = route_event(
        "POST",
        f"/tokens/{claims.jti}/revoke",
        body={"reason": "vendor contract ended"},
        headers={"X-Admin-Token": ADMIN_TOKEN},
    )
    revoked = invoke(admin, behind_jwt(revoke, **CLAIMS))
    # Then the revocation records who (the JWT's subject) and why
    assert revoked["statusCode"] == 200, revoked["body"]
    answer = body_of(revoked)
    assert (answer["jti"], answer["actor"], answer["reason"]) == (
        claims.jti,
        "jwt:3b9c0e7a-alice",
        "vendor contract ended",
    )
    # And the feedback function refuses the token, saying so, and stores nothing more
    refused = invoke(feedback, http_event("feedback-bank.json", headers={"X-Admin-Token": token}))
    assert refused["statusCode"] == 401
    assert body_of(refused)["detail"] == "credential was revoked"
    # And revoking it again answers with the first revocation
    again = body_of(invoke(admin, revoke))
    assert (again["actor"], again["duplicate"]) == ("jwt:3b9c0e7a-alice", True)
    # And the record sits in the registry's token partition, not under any model
    items = boto3.client("dynamodb").scan(TableName=stack.names["RegistryTable"])["Items"]
    assert [i["record"]["S"] for i in items if i["model"]["S"] == "#tokens"] == [
        f"REVOKED#{claims.jti}"
    ]


def test_behind_the_jwt_authorizer_promotion_history_records_the_jwt_subject(
    published: RetrainOrchestrator, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given telecom v2 promoted over v1, and an operator's service token for subject "alice"
    assert published.retrain("telecom", trigger="admin").promoted
    token = AdminAuthenticator(ADMIN_TOKEN).issue("alice", 600, ["telecom"])
    headers = {"X-Admin-Token": token}
    handler = load_handler("admin")
    # When a rollback arrives behind the JWT authorizer, its reason naming someone else
    rollback = route_event(
        "POST", "/models/telecom/rollback", body={"reason": "done by mallory"}, headers=headers
    )
    rolled = invoke(handler, behind_jwt(rollback, **CLAIMS))
    assert rolled["statusCode"] == 200, rolled["body"]
    # Then the history's actor is the JWT's subject; the reason is only the caller's words
    history = body_of(
        invoke(handler, behind_jwt(route_event(*VERSIONS, headers=headers), **CLAIMS))
    )["promotions"]
    assert (history[0]["action"], history[0]["actor"], history[0]["reason"]) == (
        "rollback",
        "jwt:3b9c0e7a-alice",
        "done by mallory",
    )
    # And with ADMIN_JWT_SCOPE set, a JWT without that scope is refused, one with it acts
    monkeypatch.setenv("ADMIN_JWT_SCOPE", "propensity/admin")
    scoped = load_handler("admin")
    promote = ("POST", "/models/telecom/versions/v2/promote")
    lacking = invoke(
        scoped, behind_jwt(route_event(*promote, headers=headers), sub="bob", scope="openid")
    )
    assert lacking["statusCode"] == 403
    assert "with scope propensity/admin" in body_of(lacking)["detail"]
    without_jwt = invoke(scoped, route_event(*promote, headers=headers))
    assert without_jwt["statusCode"] == 403
    promoted = invoke(scoped, behind_jwt(route_event(*promote, headers=headers), **CLAIMS))
    assert promoted["statusCode"] == 200, promoted["body"]
    assert body_of(promoted)["actor"] == "jwt:3b9c0e7a-alice"


def test_the_secret_adapter_reads_both_stages_and_a_missing_secret_is_a_storage_error(
    deployed_secret: str,
) -> None:
    # Given the secret as deployed (never rotated), Then only the current value is there
    source = SecretsManagerSecret(deployed_secret)
    before = source.read()
    assert (before.current, before.previous) == (OLD, None)
    assert before.current_since is not None
    # When it is rotated, Then the previous stage holds the old value
    boto3.client("secretsmanager").put_secret_value(SecretId=deployed_secret, SecretString=NEW)
    after = source.read()
    assert (after.current, after.previous) == (NEW, OLD)
    # And a secret that does not exist is a storage fault (503), never a 404 of the route
    with pytest.raises(StorageError, match=r"admin secret \(AWSCURRENT\)"):
        SecretsManagerSecret(deployed_secret + "-gone").read()
