"""What each route needs, taken from the app's wiring (tests wire fakes or moto adapters)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from fastapi import Request

if TYPE_CHECKING:
    # Named for the type checker only: each function's root imports just the services it wires,
    # and FastAPI reads only the parameters (a Request) of these dependency functions.
    from propensity.service.admin_auth import AdminAuthenticator, AdminIdentity, JwtPrincipal
    from propensity.service.catalog import ModelCatalog
    from propensity.service.challenger_trials import ChallengerTrials
    from propensity.service.drift_reports import DriftReports
    from propensity.service.feedback import FeedbackService
    from propensity.service.model_admin import ModelAdmin
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
    # A scope the JWT must carry on the admin routes (ADMIN_JWT_SCOPE; empty: none).
    admin_jwt_scope: str = ""
    uploads: UploadService | None = None
    drift: DriftReports | None = None
    models: ModelAdmin | None = None
    trials: ChallengerTrials | None = None


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


def trials(request: Request) -> ChallengerTrials:
    return _wired(_services(request).trials, "challenger trials")


def model_admin(request: Request) -> ModelAdmin:
    return _wired(_services(request).models, "model admin")


def authenticator(request: Request) -> AdminAuthenticator:
    return _wired(_services(request).authenticator, "authentication")


def _jwt_principal(request: Request) -> JwtPrincipal | None:
    """Who API Gateway's JWT authorizer let through (Mangum keeps the event in the scope)."""
    from propensity.service.admin_auth import JwtPrincipal

    event = request.scope.get("aws.event") or {}
    jwt = (event.get("requestContext") or {}).get("authorizer", {}).get("jwt")
    return JwtPrincipal.from_authorizer(jwt) if isinstance(jwt, dict) else None


def _presented_identity(request: Request) -> AdminIdentity:
    """The caller's identity: X-Admin-Token, or Authorization: Bearer (401 otherwise).

    Behind API Gateway's JWT authorizer the Authorization header carries the JWT, so the
    service credential travels in X-Admin-Token there.
    """
    bearer = request.headers.get("authorization", "")
    scheme, _, token = bearer.partition(" ")
    candidates = [
        request.headers.get("x-admin-token"),
        token if scheme.lower() == "bearer" else None,
    ]
    return authenticator(request).authenticate(candidates)


def admin_identity(request: Request) -> AdminIdentity:
    """An admin-scoped credential (401 without one, 403 for a feedback-scoped token).

    Behind the JWT authorizer the JWT's subject is the actor (what promotion history records),
    and ADMIN_JWT_SCOPE, when set, must be one of its scopes (403 otherwise).
    """
    from propensity.service.admin_auth import through_gateway

    identity = _presented_identity(request)
    identity.require_scope("admin")
    return through_gateway(identity, _jwt_principal(request), _services(request).admin_jwt_scope)


def feedback_identity(request: Request) -> AdminIdentity:
    """Who sends feedback: a feedback- or admin-scoped credential, unless feedback is open.

    The feedback item records the credential's subject (what exclusions and erasure select);
    with feedback open, the JWT's subject when there is one.
    """
    if _services(request).anonymous_feedback:
        # Imported here: the other functions never need it.
        from propensity.service.admin_auth import ANONYMOUS, AdminIdentity

        principal = _jwt_principal(request)
        return AdminIdentity(principal.actor, None, "feedback") if principal else ANONYMOUS
    identity = _presented_identity(request)
    identity.require_scope("feedback")
    return identity


async def default_model(request: Request) -> str:
    return _services(request).default_model
