"""The one place domain exceptions become HTTP status codes.

Bodies name the field and the reason for caller errors; server-side failures answer with a
generic message and the request id, never the raw exception text.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from propensity.errors import (
    ArtifactError,
    ConflictError,
    DatasetError,
    InvalidInputError,
    NotFoundError,
    PropensityError,
    StorageError,
    UnknownModelError,
)
from propensity.service.admin_auth import ForbiddenError, UnauthorizedError
from propensity.service.champions import ModelUnavailableError
from propensity.service.predictions import BatchTooLargeError

log = logging.getLogger(__name__)

STATUS_BY_ERROR: tuple[tuple[type[PropensityError], int], ...] = (
    (UnauthorizedError, 401),
    (ForbiddenError, 403),
    (UnknownModelError, 404),
    (NotFoundError, 404),
    (InvalidInputError, 422),
    (DatasetError, 422),
    (BatchTooLargeError, 413),
    (ConflictError, 409),
    (ModelUnavailableError, 503),
    (ArtifactError, 503),
    (StorageError, 503),
)
_CALLER_ERRORS = (
    UnauthorizedError,
    ForbiddenError,
    UnknownModelError,
    NotFoundError,
    InvalidInputError,
    DatasetError,
    BatchTooLargeError,
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
        body = {
            "detail": [
                {"loc": ["body", *exc.field.split(".")], "msg": exc.reason, "type": "value_error"}
            ],
            "field": exc.field,
            "reason": exc.reason,
        }
    elif isinstance(exc, DatasetError):
        problems = getattr(exc, "problems", None) or [exc]
        body = {
            "detail": str(exc),
            "row": exc.row,
            "column": exc.column,
            "reason": exc.reason,
            "problems": [{"row": p.row, "column": p.column, "reason": p.reason} for p in problems],
        }
    elif isinstance(exc, _CALLER_ERRORS):
        body = {"detail": str(exc)}
    else:
        log.error("service unavailable: %s", exc)
        body = {"detail": _public_message(exc), "request_id": _request_id(request)}
    headers = {"WWW-Authenticate": 'Bearer realm="propensity-admin"'} if status == 401 else None
    return JSONResponse(status_code=status, content=body, headers=headers)


def _public_message(exc: PropensityError) -> str:
    if isinstance(exc, ModelUnavailableError):
        return str(exc)
    return "a storage or artifact dependency is unavailable; retry later"


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(
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
            "loc": list(e.get("loc", ())),
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]
    return JSONResponse(status_code=422, content={"detail": errors})


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse(
        status_code=exc.status_code, content={"detail": exc.detail}, headers=exc.headers
    )
