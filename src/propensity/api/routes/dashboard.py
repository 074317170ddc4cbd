"""The dashboard: one HTML page and its static assets, served by the predict function.

No build step and no CDN: the page, its script modules and its stylesheet are package data,
served from memory, and the Content-Security-Policy forbids loading anything from elsewhere.
"""

from __future__ import annotations

import html
from functools import cache
from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response

from propensity import __version__
from propensity.api import dependencies as deps
from propensity.errors import NotFoundError

router = APIRouter(tags=["dashboard"])

# Everything the page may load comes from this API; inline scripts and styles are refused too.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)
ASSET_TYPES = {
    "app.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "charts.js": "text/javascript; charset=utf-8",
    "dom.js": "text/javascript; charset=utf-8",
    "metrics.js": "text/javascript; charset=utf-8",
    "models.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
AssetName = Annotated[str, Path(pattern=r"^[a-z]+\.(js|css)$", max_length=20)]
DefaultModel = Annotated[str, Depends(deps.default_model)]


@cache
def static_text(name: str) -> str:
    """A file of ``propensity/api/static`` as text, read on first use."""
    return (files("propensity.api") / "static" / name).read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, default: DefaultModel) -> HTMLResponse:
    """The dashboard (Predict, Chat, Metrics, Models & retraining, Drift) for every model."""
    # The API Gateway stage (/dev) prefixes every URL the page calls; the page reads it here.
    base = str(request.scope.get("root_path", "")).rstrip("/")
    page = (
        static_text("index.html")
        .replace("__API_BASE__", html.escape(base, quote=True))
        .replace("__DEFAULT_MODEL__", html.escape(default, quote=True))
        .replace("__VERSION__", html.escape(__version__, quote=True))
    )
    return HTMLResponse(page, headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


@router.get("/ui/{asset}", response_class=Response, responses={404: {"description": "no asset"}})
def dashboard_asset(asset: AssetName) -> Response:
    media_type = ASSET_TYPES.get(asset)
    if media_type is None:
        raise NotFoundError(f"no dashboard asset named {asset!r}")
    return Response(
        static_text(asset),
        media_type=media_type,
        headers={**SECURITY_HEADERS, "Cache-Control": "public, max-age=300"},
    )
