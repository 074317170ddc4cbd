"""The one place domain exceptions become HTTP status codes.

Bodies name the field and the reason for caller errors; server-side failures answer with a
generic message and the request id, never the raw exception text.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from propensity.errors import (
    ArtifactError,
    BatchTooLargeError,
    ConflictError,
    DatasetError,
    ForbiddenError,
    InvalidInputError,
    ModelArchivedError,
    ModelUnavailableError,
    NotFoundError,
    PayloadTooLargeError,
    PropensityError,
    StorageError,
    UnauthorizedError,
    UnknownModelError,
)

log = logging.getLogger(__name__)

# Error bodies echo what the caller sent (field names, values in reasons); echoes are clipped so
# a hostile 10 MB field name cannot come back as a 10 MB error.
MAX_ECHO = 300


class ErrorResponse(JSONResponse):
    """JSON that renders whatever the caller sent back into it.

    A ``\\ud800`` escape in a request body is valid JSON but decodes to a lone surrogate, which
    cannot be encoded as UTF-8: echoed into an error body it would turn a 4xx into a 500. Such
    bodies are rendered as ASCII JSON (``\\ud800`` again); every other body is unchanged.
    """

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, allow_nan=False, separators=(",", ":")).encode("ascii")


def _clip(text: str, limit: int = MAX_ECHO) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


STATUS_BY_ERROR: tuple[tuple[type[PropensityError], int], ...] = (
    (UnauthorizedError, 401),
    (ForbiddenError, 403),
    (UnknownModelError, 404),
    (ModelArchivedError, 410),
    (NotFoundError, 404),
    (InvalidInputError, 422),
    (DatasetError, 422),
    (BatchTooLargeError, 413),
    (PayloadTooLargeError, 413),
    (ConflictError, 409),
    (ModelUnavailableError, 503),
    (ArtifactError, 503),
    (StorageError, 503),
)
_CALLER_ERRORS = (
    UnauthorizedError,
    ForbiddenError,
    UnknownModelError,
    ModelArchivedError,
    NotFoundError,
    InvalidInputError,
    DatasetError,
    BatchTooLargeError,
    PayloadTooLargeError,
    ConflictError,
)


def status_for(exc: PropensityError) -> int:
    for error_type, status in STATUS_BY_ERROR:
        if isinstance(exc, error_type):
            return status
    return 500


def _request_id(request: Request) -> str:
    event = request.scope.get("aws.event") or {}
    context = event.get("requestContext", {}) if isinstance(event, dict) else {}
    return str(context.get("requestId", ""))


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PropensityError)
    status = status_for(exc)
    body: dict[str, object]
    if isinstance(exc, InvalidInputError):
        field, reason = _clip(exc.field), _clip(exc.reason)
        body = {
            "detail": [{"loc": ["body", *field.split(".")], "msg": reason, "type": "value_error"}],
            "field": field,
            "reason": reason,
        }
    elif isinstance(exc, DatasetError):
        problems = getattr(exc, "problems", None) or [exc]
        body = {
            "detail": _clip(str(exc), 4 * MAX_ECHO),
            "row": exc.row,
            "column": None if exc.column is None else _clip(exc.column),
            "reason": _clip(exc.reason),
            "problems": [
                {
                    "row": p.row,
                    "column": None if p.column is None else _clip(p.column),
                    "reason": _clip(p.reason),
                }
                for p in problems
            ],
        }
    elif isinstance(exc, ModelArchivedError):
        body = {
            "detail": _clip(str(exc), 4 * MAX_ECHO),
            "model": exc.model,
            "archived_by": _clip(exc.archived_by),
            "archived_at": exc.archived_at,
            "reason": _clip(exc.reason),
        }
    elif isinstance(exc, PayloadTooLargeError):
        body = {"detail": _clip(str(exc), 4 * MAX_ECHO), "field": exc.field, "limit": exc.limit}
    elif isinstance(exc, _CALLER_ERRORS):
        body = {"detail": _clip(str(exc), 4 * MAX_ECHO)}
    else:
        log.error("service unavailable: %s", exc)
        body = {"detail": _public_message(exc), "request_id": _request_id(request)}
    headers = {"WWW-Authenticate": 'Bearer realm="propensity"'} if status == 401 else None
    return ErrorResponse(status_code=status, content=body, headers=headers)


def _public_message(exc: PropensityError) -> str:
    if isinstance(exc, ModelUnavailableError):
        return str(exc)
    return "a storage or artifact dependency is unavailable; retry later"


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return ErrorResponse(
        status_code=500, content={"detail": "internal error", "request_id": _request_id(request)}
    )


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PropensityError, _domain_error)
    app.add_exception_handler(Exception, _unexpected)
    # FastAPI's own validation errors already name the field (loc) and reason (msg): keep them.
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)


async def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": [
                part if isinstance(part, int) else _clip(str(part)) for part in e.get("loc", ())
            ],
            "msg": _clip(str(e.get("msg", ""))),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]
    return ErrorResponse(status_code=422, content={"detail": errors})


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return ErrorResponse(
        status_code=exc.status_code, content={"detail": exc.detail}, headers=exc.headers
    )
