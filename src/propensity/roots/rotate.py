"""The rotation function's wiring: the admin secret's rotation over Secrets Manager."""

from __future__ import annotations

from propensity.adapters.secret_rotation import SecretsManagerRotation
from propensity.service.secret_rotation import SecretRotation
from propensity.settings import RotateSettings


def secret_rotation(settings: RotateSettings) -> SecretRotation:
    arn = settings.admin_token_secret_arn
    return SecretRotation(SecretsManagerRotation(arn), secret_id=arn)
