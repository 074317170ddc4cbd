"""What each route needs, taken from the app's wiring (tests wire fakes or moto adapters)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from propensity.service.admin_auth import AdminAuthenticator, AdminIdentity
from propensity.service.catalog import ModelCatalog
from propensity.service.drift_reports import DriftReports
from propensity.service.feedback import FeedbackService
from propensity.service.predictions import PredictionService
from propensity.service.registry_admin import RegistryAdmin
from propensity.service.uploads import UploadService


@dataclass
class Services:
    default_model: str
    predictions: PredictionService | None = None
    catalog: ModelCatalog | None = None
    feedback: FeedbackService | None = None
    admin: RegistryAdmin | None = None
    authenticator: AdminAuthenticator | None = None
    uploads: UploadService | None = None
    drift: DriftReports | None = None


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def predictions(request: Request) -> PredictionService:
    service = _services(request).predictions
    if service is None:  # a route wired into the wrong function: a deployment bug
        raise RuntimeError("prediction service is not wired into this function")
    return service


def catalog(request: Request) -> ModelCatalog:
    service = _services(request).catalog
    if service is None:
        raise RuntimeError("model catalog is not wired into this function")
    return service


def feedback(request: Request) -> FeedbackService:
    service = _services(request).feedback
    if service is None:
        raise RuntimeError("feedback service is not wired into this function")
    return service


def admin(request: Request) -> RegistryAdmin:
    service = _services(request).admin
    if service is None:
        raise RuntimeError("registry admin is not wired into this function")
    return service


def drift_reports(request: Request) -> DriftReports:
    service = _services(request).drift
    if service is None:
        raise RuntimeError("drift reports are not wired into this function")
    return service


def uploads(request: Request) -> UploadService:
    service = _services(request).uploads
    if service is None:
        raise RuntimeError("uploads are not wired into this function")
    return service


def admin_identity(request: Request) -> AdminIdentity:
    """The caller's admin identity: X-Admin-Token, or Authorization: Bearer (401 otherwise).

    Behind API Gateway's JWT authorizer the Authorization header carries the JWT, so the
    service credential travels in X-Admin-Token there.
    """
    authenticator = _services(request).authenticator
    if authenticator is None:
        raise RuntimeError("admin authentication is not wired into this function")
    bearer = request.headers.get("authorization", "")
    scheme, _, token = bearer.partition(" ")
    candidates = [
        request.headers.get("x-admin-token"),
        token if scheme.lower() == "bearer" else None,
    ]
    return authenticator.authenticate(candidates)


def default_model(request: Request) -> str:
    return _services(request).default_model
