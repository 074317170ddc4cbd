"""The functions that check tokens may read the revocations, and the feedback function nothing
else of the registry through that grant: the calls are recorded from a real run (moto)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from propensity.adapters.revocations import PARTITION, DynamoTokenRevocations
from propensity.local.template import Stack
from propensity.records import TokenRevocation
from tests.functions.conftest import apply_environment
from tests.infra.test_template_guarantees import allowed, props, statements


def revocation_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, set[str]]:
    """The DynamoDB operations of revoking a token and of checking revocations."""
    apply_environment(monkeypatch)
    with mock_aws():
        stack = Stack()
        stack.create_resources(boto3.client("dynamodb"), boto3.client("s3"))
        client = boto3.client("dynamodb")
        calls: set[str] = set()
        client.meta.events.register(
            "before-call.dynamodb", lambda model, **_: calls.add(model.name)
        )
        store = DynamoTokenRevocations(stack.names["RegistryTable"], client)
        revocation = TokenRevocation("a" * 32, "2026-12-01T00:00:00.000+00:00", 1, "ops")
        store.add(revocation)
        store.add(revocation)  # revoked already: the first record is read back
        revoking = set(calls)
        calls.clear()
        assert [r.jti for r in store.since(0)] == ["a" * 32]
        return {"revoke": revoking, "check": set(calls)}


def test_the_token_checks_are_granted_and_the_feedback_grant_is_the_token_partition_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = revocation_calls(monkeypatch)
    registry = {
        function: {a for a, r in allowed(function) if "RegistryTable" in r}
        for function in ("AdminFunction", "FeedbackFunction")
    }
    # Then the admin function may revoke and check, the feedback function check
    assert {f"dynamodb:{c}" for c in calls["revoke"] | calls["check"]} <= registry["AdminFunction"]
    assert {f"dynamodb:{c}" for c in calls["check"]} <= registry["FeedbackFunction"]
    # And the feedback function's Query on the registry is held to the token partition
    queries = [
        s
        for s in statements("FeedbackFunction")
        if "RegistryTable" in str(s["Resource"]) and "dynamodb:Query" in str(s["Action"])
    ]
    assert [q["Condition"] for q in queries] == [
        {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [PARTITION]}}
    ]


def test_both_functions_read_the_secret_and_the_admin_function_the_jwt_scope() -> None:
    for function in ("AdminFunction", "FeedbackFunction"):
        assert ("secretsmanager:GetSecretValue", str({"Ref": "AdminTokenSecret"})) in allowed(
            function
        )
    variables = props("AdminFunction")["Environment"]["Variables"]
    assert variables["ADMIN_JWT_SCOPE"] == {"Ref": "AdminJwtScope"}
