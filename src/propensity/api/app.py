"""FastAPI applications for the HTTP functions.

Each function serves only its own routers, but ``/openapi.json`` documents the whole API (all
routers), so one document describes what API Gateway exposes. The routers a function does not
serve are imported only when that document is first built: importing the admin router (and its
services, and FastAPI's multipart check for uploads) would otherwise be paid by every cold start
of the predict function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi

from propensity import __version__
from propensity.api.dependencies import Services
from propensity.api.errors import register_error_handlers


def all_routers() -> tuple[APIRouter, ...]:
    """Every router of the API, in the order ``/openapi.json`` documents them."""
    from propensity.api.routes import (
        admin,
        admin_challengers,
        admin_feedback,
        admin_models,
        admin_tokens,
        dashboard,
        feedback,
        predict,
    )

    return (
        dashboard.router,
        predict.router,
        feedback.router,
        admin.router,
        admin_challengers.router,
        admin_feedback.router,
        admin_models.router,
        admin_tokens.router,
    )


TITLE = "propensity"
DESCRIPTION = "Customer-propensity models: predict, feedback, retraining, model registry."


def create_app(services: Services, routers: Sequence[APIRouter], *, root_path: str = "") -> FastAPI:
    app = FastAPI(
        title=TITLE,
        description=DESCRIPTION,
        version=__version__,
        root_path=root_path,
        # /docs is ours (api/routes/docs.py, predict function): FastAPI's loads a CDN.
        docs_url=None,
        swagger_ui_oauth2_redirect_url=None,
        openapi_url="/openapi.json",
        redoc_url=None,
    )
    app.state.services = services
    register_error_handlers(app)
    for router in routers:
        app.include_router(router)

    def whole_api_openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            documented = FastAPI()
            for router in all_routers():
                documented.include_router(router)
            app.openapi_schema = get_openapi(
                title=TITLE,
                version=app.version,
                description=DESCRIPTION,
                routes=documented.routes,
                servers=[{"url": root_path}] if root_path else None,
            )
        return app.openapi_schema

    app.openapi = whole_api_openapi  # type: ignore[method-assign]
    return app
