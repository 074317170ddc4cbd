"""Secrets Manager: the admin secret's versions and staging labels, as the rotation moves them.

The four calls are the ones the rotation role is granted on this secret alone
(infra/template.yaml ``RotateFunction``): DescribeSecret, GetSecretValue, PutSecretValue and
UpdateSecretVersionStage. The new value is made by the service (``secrets.token_urlsafe``), so
the role needs no ``GetRandomPassword``.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from propensity.adapters.errors import error_code, translate
from propensity.errors import StorageError
from propensity.records import SecretStaging


class SecretsManagerRotation:
    def __init__(self, arn: str, client: Any | None = None) -> None:
        self.arn = arn
        self._client = client or boto3.client("secretsmanager")

    def staging(self) -> SecretStaging:
        try:
            described: dict[str, Any] = self._client.describe_secret(SecretId=self.arn)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "admin secret") from exc
        return SecretStaging(
            rotation_enabled=bool(described.get("RotationEnabled")),
            stages={
                version: tuple(labels)
                for version, labels in described.get("VersionIdsToStages", {}).items()
            },
        )

    def value_at(self, version_id: str, stage: str) -> str | None:
        try:
            response: dict[str, Any] = self._client.get_secret_value(
                SecretId=self.arn, VersionId=version_id, VersionStage=stage
            )
        except ClientError as exc:
            # The version Secrets Manager stages when a rotation starts has no value yet.
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise translate(exc, f"admin secret ({stage})") from exc
        except BotoCoreError as exc:
            raise translate(exc, f"admin secret ({stage})") from exc
        value = response.get("SecretString")
        if not isinstance(value, str):
            raise StorageError(f"admin secret ({stage}): has no string value")
        return value

    def put_pending(self, version_id: str, value: str) -> None:
        try:
            self._client.put_secret_value(
                SecretId=self.arn,
                ClientRequestToken=version_id,
                SecretString=value,
                VersionStages=["AWSPENDING"],
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "admin secret (AWSPENDING)") from exc

    def make_current(self, version_id: str, *, replacing: str) -> None:
        try:
            self._client.update_secret_version_stage(
                SecretId=self.arn,
                VersionStage="AWSCURRENT",
                MoveToVersionId=version_id,
                RemoveFromVersionId=replacing,
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "admin secret (AWSCURRENT)") from exc
