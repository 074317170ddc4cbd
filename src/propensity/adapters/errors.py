"""The one place botocore errors become domain errors."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from propensity.errors import ConflictError, NotFoundError, PropensityError, StorageError

_MISSING = frozenset({"NoSuchKey", "404", "NoSuchBucket", "NotFound", "ResourceNotFoundException"})
_CONFLICT = frozenset(
    {
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
        "TransactionConflictException",
        # S3 conditional writes (If-Match / If-None-Match): the object changed since it was read.
        "PreconditionFailed",
        "ConditionalRequestConflict",
    }
)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def translate(exc: ClientError | BotoCoreError, where: str) -> PropensityError:
    """A domain error for ``exc``; never leaks the raw AWS message to callers."""
    if isinstance(exc, BotoCoreError):
        return StorageError(f"{where}: {type(exc).__name__}")
    code = error_code(exc)
    if code in _MISSING:
        return NotFoundError(f"{where} does not exist")
    if code in _CONFLICT:
        return ConflictError(f"{where} changed meanwhile ({code})")
    return StorageError(f"{where}: {code or 'storage error'}")
