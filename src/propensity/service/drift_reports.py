"""Reading the latest drift report, as GET /models/{model}/drift serves it.

The retrain function computes the reports (``propensity.service.drift_monitor``) and stores them
at ``drift/<model>/latest.json``; the predict function only reads them. This module must stay
standard library + domain modules: the predict function has no numpy, pandas or scikit-learn.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Container
from typing import Any

from propensity.errors import (
    ArtifactError,
    NotFoundError,
    PropensityError,
    StorageError,
    UnknownModelError,
)
from propensity.service.ports import ArtifactStore

REPORT_CONTENT_TYPE = "application/json"
# S3 error codes of a GetObject refused by IAM. Without s3:ListBucket (the predict function has
# none) S3 answers a missing key with 403 AccessDenied, not 404 NoSuchKey.
_ACCESS_DENIED_CODES = frozenset({"AccessDenied", "403"})

MissingPredicate = Callable[[PropensityError], bool]


def drift_report_key(model: str) -> str:
    """Where the latest drift report of ``model`` lives in the artifacts bucket."""
    return f"drift/{model}/latest.json"


class NoDriftReportError(NotFoundError):
    """The model exists but no drift report was written for it yet."""

    def __init__(self, model: str) -> None:
        super().__init__(f"no drift report yet for model {model!r}")
        self.model = model


def is_not_found(exc: PropensityError) -> bool:
    """The store said the key does not exist."""
    return isinstance(exc, NotFoundError)


def is_not_found_or_access_denied(exc: PropensityError) -> bool:
    """Missing, or refused the way S3 refuses a missing key to a role without s3:ListBucket.

    The S3 adapter turns AccessDenied into a ``StorageError`` raised ``from`` the botocore
    ``ClientError``; its error code is read from that cause by duck typing, so this module
    imports no botocore. Use it only for keys whose absence is normal (the drift report before
    the first schedule run): elsewhere AccessDenied is a real permission error.
    """
    if isinstance(exc, NotFoundError):
        return True
    return isinstance(exc, StorageError) and _aws_error_code(exc.__cause__) in _ACCESS_DENIED_CODES


def _aws_error_code(cause: BaseException | None) -> str:
    response = getattr(cause, "response", None)
    if not isinstance(response, dict):
        return ""
    error = response.get("Error")
    return str(error.get("Code", "")) if isinstance(error, dict) else ""


class DriftReports:
    """The stored drift reports, read-only.

    ``models`` (when given) are the served model names, so an unknown name answers
    ``UnknownModelError`` rather than "no report yet". ``is_missing`` decides which store errors
    mean "no report"; the predict function passes ``is_not_found_or_access_denied``.
    """

    def __init__(
        self,
        artifacts: ArtifactStore,
        *,
        models: Container[str] | None = None,
        is_missing: MissingPredicate = is_not_found,
    ) -> None:
        self._artifacts = artifacts
        # A list of names, or the function's ModelConfigSource (models added at run time).
        self._models = models
        self._is_missing = is_missing

    def latest(self, model: str) -> dict[str, Any] | None:
        """The latest stored report of ``model``, or None when there is none yet."""
        key = drift_report_key(model)
        try:
            body = self._artifacts.get_bytes(key)
        except PropensityError as exc:
            if self._is_missing(exc):
                return None
            raise
        try:
            report = json.loads(body)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise ArtifactError(f"drift report {key} is not valid JSON") from exc
        if not isinstance(report, dict):
            raise ArtifactError(f"drift report {key} is not a JSON object")
        return report

    def for_model(self, model: str) -> dict[str, Any]:
        """What the route answers: the latest report, or a 404-mapped domain error."""
        if self._models is not None and model not in self._models:
            raise UnknownModelError(model)
        report = self.latest(model)
        if report is None:
            raise NoDriftReportError(model)
        return report
