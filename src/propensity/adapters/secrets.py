"""Secrets Manager: the admin secret's current and previous versions.

A rotation (the scheduled one, ``adapters.secret_rotation``, or a ``put-secret-value``) moves
the ``AWSCURRENT`` stage to the new version and ``AWSPREVIOUS`` to the one it replaced; both are
read, with the current version's creation time, so the service can accept the previous value for
a grace window (``service.admin_secret``). Nothing is cached here: the service decides how often
to read.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from propensity.adapters.errors import error_code
from propensity.errors import StorageError
from propensity.records import SecretVersions


class SecretsManagerSecret:
    def __init__(self, arn: str, client: Any | None = None) -> None:
        self.arn = arn
        self._client = client or boto3.client("secretsmanager")

    def _stage(self, stage: str, *, optional: bool = False) -> dict[str, Any] | None:
        """The version at ``stage``; None when ``optional`` and no version has it (AWSPREVIOUS
        before the first rotation). Any failure is a StorageError (503): a missing secret is a
        deployment fault, never a 404 of the route that needed it."""
        try:
            response: dict[str, Any] = self._client.get_secret_value(
                SecretId=self.arn, VersionStage=stage
            )
        except ClientError as exc:
            code = error_code(exc)
            if optional and code == "ResourceNotFoundException":
                return None
            raise StorageError(f"admin secret ({stage}): {code or 'cannot be read'}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"admin secret ({stage}): {type(exc).__name__}") from exc
        if not isinstance(response.get("SecretString"), str):
            raise StorageError(f"admin secret ({stage}): has no string value")
        return response

    def read(self) -> SecretVersions:
        current = self._stage("AWSCURRENT") or {}
        previous = self._stage("AWSPREVIOUS", optional=True)
        created = current.get("CreatedDate")
        return SecretVersions(
            current=current["SecretString"],
            previous=previous["SecretString"] if previous else None,
            current_since=created.timestamp() if created is not None else None,
        )
