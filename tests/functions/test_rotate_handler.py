"""The rotation function's four steps on the admin secret in moto, and the functions following.

What moto does and does not: ``rotate_secret`` does what Secrets Manager does when a rotation
starts (enables rotation, stages an empty ``AWSPENDING`` version named by a new token), then
invokes the rotation function through moto's Lambda backend, which runs code only in Docker.
These tests turn Docker off (tests/support/rotation.py), so those invocations do nothing, and
invoke the handler for each step themselves, with that token: the steps then run on moto's real
stages (``put_secret_value``, ``update_secret_version_stage`` moving ``AWSPREVIOUS``). That
Secrets Manager invokes the function at all (the schedule, the permission) is checked on the
template, tests/infra/test_rotation_policy.py."""

from __future__ import annotations

import uuid
from types import ModuleType
from typing import Any

import boto3
import pytest

from propensity.errors import InvalidInputError, RotationError
from propensity.local.template import Stack
from propensity.service.admin_auth import AdminAuthenticator
from propensity.service.admin_secret import MIN_SECRET_LENGTH
from tests.functions.conftest import invoke, load_event, load_handler, route_event
from tests.support import rotation

OLD = "deployed-admin-secret-0123456789"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


@pytest.fixture
def secret(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> str:
    """The admin secret in Secrets Manager as deployed, named in the functions' environment."""
    arn: str = boto3.client("secretsmanager").create_secret(Name="admin", SecretString=OLD)["ARN"]
    monkeypatch.delenv("ADMIN_TOKEN")
    monkeypatch.setenv("ADMIN_TOKEN_SECRET_ARN", arn)
    return arn


def start_rotation(stack: Stack, arn: str) -> str:
    """A rotation started as the template's schedule starts it; the new version's token."""
    return rotation.start_rotation(arn, days=int(stack.parameters["AdminSecretRotationDays"]))


def step(handler: ModuleType, name: str, arn: str, token: str) -> Any:
    event = load_event("rotate-create-secret.json", Step=name, SecretId=arn)
    event["ClientRequestToken"] = token
    return invoke(handler, event)


def stages(arn: str) -> dict[str, list[str]]:
    described = boto3.client("secretsmanager").describe_secret(SecretId=arn)
    return {v: sorted(s) for v, s in described["VersionIdsToStages"].items()}


def value(arn: str, stage: str) -> str:
    response = boto3.client("secretsmanager").get_secret_value(SecretId=arn, VersionStage=stage)
    text: str = response["SecretString"]
    return text


def test_the_four_steps_rotate_the_secret_and_every_retry_is_harmless(
    stack: Stack, secret: str
) -> None:
    # Given a rotation Secrets Manager started: an empty version staged AWSPENDING
    token = start_rotation(stack, secret)
    assert stages(secret)[token] == ["AWSPENDING"]
    handler = load_handler("rotate")
    # When each step runs, and runs again (Lambda retries, Secrets Manager re-invokes)
    done = []
    pending = []
    for name in STEPS:
        for _ in range(2):
            done.append(step(handler, name, secret, token)["done"])
            if name == "createSecret":
                pending.append(
                    boto3.client("secretsmanager").get_secret_value(
                        SecretId=secret, VersionId=token, VersionStage="AWSPENDING"
                    )["SecretString"]
                )
    # Then the first createSecret stored a value and its retry kept it
    assert done[:2] == ["pending value stored", "pending value exists"]
    assert pending[0] == pending[1]
    assert done[2:6] == [
        "nothing to set: only this service uses the secret",
        "nothing to set: only this service uses the secret",
        "pending value is a valid admin secret",
        "pending value is a valid admin secret",
    ]
    # And finishSecret made it current once; its retry found it current
    assert done[6:] == ["made current", "already current"]
    # And AWSCURRENT holds the new value (48 URL-safe characters), AWSPREVIOUS the old one
    new = value(secret, "AWSCURRENT")
    assert new == pending[0] and new != OLD and len(new) == 48
    assert value(secret, "AWSPREVIOUS") == OLD
    assert "AWSCURRENT" in stages(secret)[token]
    # And a step of that rotation replayed after it finished changes nothing
    assert step(handler, "createSecret", secret, token)["done"] == "already current"
    assert value(secret, "AWSCURRENT") == new


def test_a_token_or_secret_that_is_not_being_rotated_is_refused_naming_it(
    stack: Stack, secret: str
) -> None:
    handler = load_handler("rotate")
    token = str(uuid.uuid4())
    # Given a secret whose rotation is not configured, Then every step is refused
    with pytest.raises(RotationError, match="SecretId: rotation is not enabled"):
        step(handler, "createSecret", secret, token)
    # Given a rotation started
    started = start_rotation(stack, secret)
    before = stages(secret)
    # When an event names a version the secret does not have, Then it is refused
    with pytest.raises(
        RotationError, match=f"ClientRequestToken: the secret has no version {token}"
    ):
        step(handler, "createSecret", secret, token)
    # And one naming the current version, not staged AWSPENDING, ends the step at once
    (current,) = [v for v, s in before.items() if "AWSCURRENT" in s]
    assert step(handler, "finishSecret", secret, current)["done"] == "already current"
    # And an event naming another secret is refused
    other = secret.replace(":admin-", ":other-")
    with pytest.raises(RotationError, match=f"SecretId: this function rotates {secret}, not"):
        step(handler, "createSecret", other, started)
    # And an event without a known step, or with a short token, names the field
    with pytest.raises(InvalidInputError, match="Step: Input should be 'createSecret'"):
        step(handler, "rotateSecret", secret, started)
    with pytest.raises(InvalidInputError, match="ClientRequestToken: String should have at least"):
        step(handler, "createSecret", secret, "short")
    # And none of that changed a version
    assert stages(secret) == before
    assert value(secret, "AWSCURRENT") == OLD


def test_a_version_already_rotated_out_is_not_staged_and_is_refused(
    stack: Stack, secret: str
) -> None:
    # Given one finished rotation: the first version is now AWSPREVIOUS
    handler = load_handler("rotate")
    first = start_rotation(stack, secret)
    for name in STEPS:
        step(handler, name, secret, first)
    (previous,) = [v for v, s in stages(secret).items() if "AWSPREVIOUS" in s]
    # When a step names it, Then it is refused: it is neither current nor pending
    with pytest.raises(RotationError, match=f"version {previous} is not staged AWSPENDING"):
        step(handler, "finishSecret", secret, previous)
    assert value(secret, "AWSPREVIOUS") == OLD


def test_a_pending_value_too_short_for_an_admin_secret_fails_the_test_and_is_never_current(
    stack: Stack, secret: str
) -> None:
    # Given a rotation whose pending version someone filled with a short value
    token = start_rotation(stack, secret)
    short = "x" * (MIN_SECRET_LENGTH - 1)
    boto3.client("secretsmanager").put_secret_value(
        SecretId=secret, ClientRequestToken=token, SecretString=short, VersionStages=["AWSPENDING"]
    )
    handler = load_handler("rotate")
    # When createSecret runs, Then it keeps the value it finds (it never overwrites a version)
    assert step(handler, "createSecret", secret, token)["done"] == "pending value exists"
    # And testSecret fails, saying why, and so does finishSecret
    reason = f"has {MIN_SECRET_LENGTH - 1} characters; the admin secret needs at least 16"
    with pytest.raises(RotationError, match=reason):
        step(handler, "testSecret", secret, token)
    with pytest.raises(RotationError, match=reason):
        step(handler, "finishSecret", secret, token)
    # And the deployed value stays current
    assert value(secret, "AWSCURRENT") == OLD


def status(handler: ModuleType, credential: str) -> int:
    event = route_event("GET", "/models/telecom/versions", headers={"X-Admin-Token": credential})
    code: int = invoke(handler, event)["statusCode"]
    return code


def test_after_a_rotation_by_the_function_the_admin_function_follows_with_a_grace_window(
    stack: Stack, secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given admin functions started before the rotation: one with the default refresh (300 s),
    # one past its refresh interval on every request, one also without a grace window
    steady = load_handler("admin")
    monkeypatch.setenv("ADMIN_SECRET_REFRESH_SECONDS", "0")
    following = load_handler("admin")
    monkeypatch.setenv("ADMIN_SECRET_GRACE_SECONDS", "0")
    without_grace = load_handler("admin")
    assert [status(h, OLD) for h in (steady, following, without_grace)] == [200, 200, 200]
    # When the rotation function runs the four steps of a scheduled rotation
    rotate = load_handler("rotate")
    token = start_rotation(stack, secret)
    for name in STEPS:
        step(rotate, name, secret, token)
    new = value(secret, "AWSCURRENT")
    new_token = AdminAuthenticator(new).issue("ops", 600, ["telecom"])
    # Then a function past its refresh interval accepts the new value and its tokens, and the
    # old value still, within the grace window from the new version's creation
    assert [status(following, c) for c in (new, new_token, OLD)] == [200, 200, 200]
    # And without a grace window the old value is refused at once
    assert [status(without_grace, c) for c in (new, OLD)] == [200, 401]
    # And a function within its refresh interval has not seen the rotation yet
    assert [status(steady, c) for c in (new, OLD)] == [401, 200]
