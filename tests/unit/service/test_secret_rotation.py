"""The rotation's steps over an in-memory secret: what the moto tests cannot easily stage
(an empty version reaching finishSecret, a pending value equal to the current one, a secret
without a current version), and that a value is generated once however often a step runs."""

from __future__ import annotations

import pytest

from propensity.errors import RotationError
from propensity.service.secret_rotation import (
    RotationStep,
    SecretRotation,
    new_admin_secret,
)
from tests.support.fake_credentials import FakeRotatingSecret

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:admin-AbCdEf"
OLD = "deployed-admin-secret-0123456789"
TOKEN = "3f1c9a52-7d4e-4b8a-9c61-2e5f0b7d8a14"


def rotation(secret: FakeRotatingSecret, values: list[str] | None = None) -> SecretRotation:
    """The rotation of ``secret``, generating ``values`` in turn (fresh random ones if None)."""
    generate = iter(values).__next__ if values is not None else new_admin_secret
    return SecretRotation(secret, secret_id=ARN, generate=generate)


def test_a_value_is_generated_once_however_often_the_steps_run() -> None:
    # Given a started rotation and a generator that would give a different value each call
    secret = FakeRotatingSecret(OLD)
    secret.start(TOKEN)
    rotate = rotation(secret, ["first-new-admin-secret-000000", "second-new-admin-secret-00000"])
    # When every step runs three times
    for step in RotationStep:
        for _ in range(3):
            rotate.run(step, ARN, TOKEN)
    # Then the first value is current, the old one previous, and two writes were made
    assert (secret.at("AWSCURRENT"), secret.at("AWSPREVIOUS")) == (
        "first-new-admin-secret-000000",
        OLD,
    )
    assert secret.writes == 2


def test_an_empty_pending_version_is_never_made_current() -> None:
    # Given a rotation whose createSecret never ran (the version Secrets Manager staged is empty)
    secret = FakeRotatingSecret(OLD)
    secret.start(TOKEN)
    rotate = rotation(secret)
    # When testSecret or finishSecret runs, Then it is refused and nothing moves
    for step in (RotationStep.TEST, RotationStep.FINISH):
        with pytest.raises(RotationError, match="has no value: createSecret has not stored one"):
            rotate.run(step, ARN, TOKEN)
    assert secret.at("AWSCURRENT") == OLD and secret.writes == 0


def test_a_pending_value_equal_to_the_current_one_is_no_rotation() -> None:
    secret = FakeRotatingSecret(OLD)
    secret.start(TOKEN)
    rotate = rotation(secret, [OLD])
    rotate.run(RotationStep.CREATE, ARN, TOKEN)
    with pytest.raises(RotationError, match="the pending value is the current one"):
        rotate.run(RotationStep.TEST, ARN, TOKEN)


def test_a_generated_secret_is_48_url_safe_characters_and_fresh() -> None:
    values = {new_admin_secret() for _ in range(50)}
    assert len(values) == 50
    assert all(len(v) == 48 and v.replace("-", "").replace("_", "").isalnum() for v in values)


def test_a_secret_without_a_current_version_cannot_be_rotated() -> None:
    secret = FakeRotatingSecret(OLD)
    secret.labels["v0"].remove("AWSCURRENT")
    secret.start(TOKEN)
    with pytest.raises(RotationError, match="no AWSCURRENT version to rotate from"):
        rotation(secret).run(RotationStep.CREATE, ARN, TOKEN)
