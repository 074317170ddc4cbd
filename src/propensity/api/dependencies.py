"""What each route needs, taken from the app's wiring (tests wire fakes or moto adapters)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from fastapi import Request

if TYPE_CHECKING:
    # Named for the type checker only: each function's root imports just the services it wires,
    # and FastAPI reads only the parameters (a Request) of these dependency functions.
    from propensity.service.admin_auth import AdminAuthenticator, AdminIdentity
    from propensity.service.catalog import ModelCatalog
    from propensity.service.drift_reports import DriftReports
    from propensity.service.feedback import FeedbackService
    from propensity.service.predictions import PredictionService
    from propensity.service.registry_admin import RegistryAdmin
    from propensity.service.uploads import UploadService

T = TypeVar("T")


@dataclass
class Services:
    default_model: str
    predictions: PredictionService | None = None
    catalog: ModelCatalog | None = None
    feedback: FeedbackService | None = None
    admin: RegistryAdmin | None = None
    authenticator: AdminAuthenticator | None = None
    # Feedback without a credential (FEEDBACK_AUTH=off, for demos): stored as "anonymous".
    anonymous_feedback: bool = False
    uploads: UploadService | None = None
    drift: DriftReports | None = None


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _wired(service: T | None, name: str) -> T:
    if service is None:  # a route wired into the wrong function: a deployment bug
        raise RuntimeError(f"{name} is not wired into this function")
    return service


# The dependencies of the predict path are coroutines: FastAPI runs a plain function dependency
# in a worker thread, and under Mangum (one request per invocation) that thread hop is pure cost.
async def predictions(request: Request) -> PredictionService:
    return _wired(_services(request).predictions, "predictions")


async def catalog(request: Request) -> ModelCatalog:
    return _wired(_services(request).catalog, "catalog")


def feedback(request: Request) -> FeedbackService:
    return _wired(_services(request).feedback, "feedback")


def admin(request: Request) -> RegistryAdmin:
    return _wired(_services(request).admin, "admin")


def drift_reports(request: Request) -> DriftReports:
    return _wired(_services(request).drift, "drift")


def uploads(request: Request) -> UploadService:
    return _wired(_services(request).uploads, "uploads")


def _presented_identity(request: Request) -> AdminIdentity:
    """The caller's identity: X-Admin-Token, or Authorization: Bearer (401 otherwise).

    Behind API Gateway's JWT authorizer the Authorization header carries the JWT, so the
    service credential travels in X-Admin-Token there.
    """
    authenticator = _services(request).authenticator
    if authenticator is None:
        raise RuntimeError("authentication is not wired into this function")
    bearer = request.headers.get("authorization", "")
    scheme, _, token = bearer.partition(" ")
    candidates = [
        request.headers.get("x-admin-token"),
        token if scheme.lower() == "bearer" else None,
    ]
    return authenticator.authenticate(candidates)


def admin_identity(request: Request) -> AdminIdentity:
    """An admin-scoped credential (401 without one, 403 for a feedback-scoped token)."""
    identity = _presented_identity(request)
    identity.require_scope("admin")
    return identity


def feedback_identity(request: Request) -> AdminIdentity:
    """Who sends feedback: a feedback- or admin-scoped credential, unless feedback is open."""
    if _services(request).anonymous_feedback:
        # Imported here: the other functions never need it.
        from propensity.service.admin_auth import ANONYMOUS, AdminIdentity

        # Behind API Gateway's JWT authorizer the token's subject is still known.
        event = request.scope.get("aws.event") or {}
        claims = event.get("requestContext", {}).get("authorizer", {}).get("jwt", {})
        subject = claims.get("claims", {}).get("sub")
        return AdminIdentity(f"jwt:{subject}", None, "feedback") if subject else ANONYMOUS
    identity = _presented_identity(request)
    identity.require_scope("feedback")
    return identity


async def default_model(request: Request) -> str:
    return _services(request).default_model
