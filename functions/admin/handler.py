"""AdminFunction: versions, manual promotion, rollback, retrain jobs, feedback curation
(provenance, exclusions, erasure), models added and archived at run time and token revocation,
all behind the admin credential."""

from __future__ import annotations

from typing import Any

from mangum import Mangum

from propensity.api.app import create_app
from propensity.api.routes import (
    admin,
    admin_challengers,
    admin_feedback,
    admin_models,
    admin_tokens,
)
from propensity.observability import observed_http
from propensity.roots.admin import admin_services
from propensity.settings import AdminSettings

settings = AdminSettings()  # type: ignore[call-arg]  # values come from the environment
app = create_app(
    admin_services(settings),
    [
        admin.router,
        admin_challengers.router,
        admin_feedback.router,
        admin_models.router,
        admin_tokens.router,
    ],
    root_path=settings.api_base_path,
)
asgi = Mangum(app, lifespan="off", api_gateway_base_path=settings.api_base_path or "/")


@observed_http
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return asgi(event, context)
