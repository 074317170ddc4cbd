"""The admin secret rotates on a schedule, through a function only Secrets Manager may invoke,
for this secret, with a role that may touch this secret only: read from the raw template, and
the role checked against the calls a real rotation makes (moto).

moto cannot run the template's RotationSchedule or the Lambda permission: it has no
CloudFormation-driven rotation here, and its ``rotate_secret`` runs a function's code only in
Docker. So the schedule and the permission are checked as written, the calls by running the
service over the adapter on moto's Secrets Manager (as tests/functions/test_rotate_handler.py
runs the handler), started as ``rotate_secret`` starts a rotation (tests/support/rotation.py).
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws

from propensity.adapters.secret_rotation import SecretsManagerRotation
from propensity.service.secret_rotation import RotationStep, SecretRotation
from tests.functions.conftest import apply_environment
from tests.infra.test_operations_guarantees import FUNCTIONS, PARAMETERS
from tests.infra.test_template_guarantees import RESOURCES, allowed, props, statements
from tests.support.rotation import start_rotation

SECRET = {"Ref": "AdminTokenSecret"}
CHANGES_THE_SECRET = {
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
    "secretsmanager:RotateSecret",
    "secretsmanager:CancelRotateSecret",
    "secretsmanager:DeleteSecret",
    "secretsmanager:UpdateSecret",
}


def rotation_calls(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The Secrets Manager operations of one rotation's four steps, retries included."""
    apply_environment(monkeypatch)
    with mock_aws():
        client = boto3.client("secretsmanager")
        arn = client.create_secret(Name="admin", SecretString="deployed-admin-secret-0123")["ARN"]
        token = start_rotation(arn, days=30)
        calls: set[str] = set()
        client.meta.events.register(
            "before-call.secretsmanager", lambda model, **_: calls.add(model.name)
        )
        rotation = SecretRotation(SecretsManagerRotation(arn, client), secret_id=arn)
        for step in RotationStep:
            rotation.run(step, arn, token)
            rotation.run(step, arn, token)
        made = set(calls)
        current = client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")
        assert current["VersionId"] == token
        return made


def test_the_admin_secret_rotates_every_rotation_days_through_the_rotation_function() -> None:
    # Given the AdminSecretRotationDays parameter: 30 unless set, within what Secrets Manager
    # accepts (1 to 1000 days)
    days = PARAMETERS["AdminSecretRotationDays"]
    assert (days["Default"], days["MinValue"], days["MaxValue"]) == (30, 1, 1000)
    # Then the secret has a schedule of that many days, invoking the rotation function
    (schedule,) = [
        name
        for name, r in RESOURCES.items()
        if r["Type"] == "AWS::SecretsManager::RotationSchedule"
    ]
    rules = props(schedule)
    assert rules["SecretId"] == SECRET
    assert rules["RotationLambdaARN"] == {"Fn::GetAtt": ["RotateFunction", "Arn"]}
    assert rules["RotationRules"] == {"AutomaticallyAfterDays": {"Ref": "AdminSecretRotationDays"}}
    # And it rotates through all four steps when created: testSecret alone would run on a
    # pending version createSecret never filled
    assert rules["RotateImmediatelyOnUpdate"] is True
    # And it is created once Secrets Manager may invoke the function
    assert RESOURCES[schedule]["DependsOn"] == "RotateFunctionPermission"


def test_only_secrets_manager_may_invoke_the_rotation_function_and_for_this_secret_only() -> None:
    permission = props("RotateFunctionPermission")
    assert RESOURCES["RotateFunctionPermission"]["Type"] == "AWS::Lambda::Permission"
    assert permission == {
        "FunctionName": {"Fn::GetAtt": ["RotateFunction", "Arn"]},
        "Action": "lambda:InvokeFunction",
        "Principal": "secretsmanager.amazonaws.com",
        "SourceAccount": {"Ref": "AWS::AccountId"},
        "SourceArn": SECRET,
    }
    # And the function has no other trigger
    assert "Events" not in props("RotateFunction")


def test_the_rotation_role_covers_a_rotation_and_reaches_the_admin_secret_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the Secrets Manager calls of a rotation, recorded on moto
    calls = rotation_calls(monkeypatch)
    assert calls == {
        "DescribeSecret",
        "GetSecretValue",
        "PutSecretValue",
        "UpdateSecretVersionStage",
    }
    # Then the rotation role may make each of them on the admin secret
    granted = allowed("RotateFunction")
    for call in calls:
        assert (f"secretsmanager:{call}", str(SECRET)) in granted, call
    # And nothing more: every statement allows those calls on that secret alone, and the new
    # value is generated in the function (no GetRandomPassword on "*")
    assert granted == {(f"secretsmanager:{c}", str(SECRET)) for c in calls}
    assert all(s["Effect"] == "Allow" for s in statements("RotateFunction"))
    # And no managed policy widens it
    policies: list[Any] = props("RotateFunction")["Policies"]
    assert all(isinstance(p, dict) and "Statement" in p for p in policies)


def test_no_other_function_may_change_the_admin_secret() -> None:
    for function in FUNCTIONS:
        if function == "RotateFunction":
            continue
        changes = {a for a, _ in allowed(function) if a in CHANGES_THE_SECRET}
        assert not changes, (function, changes)
        assert not any(a == "secretsmanager:*" for a, _ in allowed(function)), function


def test_the_rotation_function_is_watched_and_bounded_like_the_others() -> None:
    function = props("RotateFunction")
    # Its own expiring log group, one at a time (a rotation's steps run one after another)
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": "RotateFunctionLogs"}
    assert props("RotateFunctionLogs")["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert function["ReservedConcurrentExecutions"] == 1
    assert function["Layers"] == [{"Ref": "CoreLayer"}]
    # And any failed step raises an alarm
    alarm = props("RotateErrorsAlarm")
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Threshold"]) == (
        "AWS/Lambda",
        "Errors",
        1,
    )
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "RotateFunction"}}]
    # And it reads the secret it rotates from its environment
    variables = function["Environment"]["Variables"]
    assert variables["ADMIN_TOKEN_SECRET_ARN"] == SECRET
