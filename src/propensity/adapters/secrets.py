"""Secrets Manager, through powertools' cached parameters utility."""

from __future__ import annotations

from aws_lambda_powertools.utilities import parameters

from propensity.errors import StorageError


def read_secret(arn: str) -> str:
    try:
        value = parameters.get_secret(arn, max_age=300)
    except parameters.exceptions.GetParameterError as exc:
        raise StorageError(f"secret {arn}: cannot be read") from exc
    return str(value)
