"""The API docs (Swagger UI) from files we ship, served by the predict function at ``/docs``.

FastAPI's own ``/docs`` page loads Swagger UI from a public CDN: blank without internet, and a
script nobody pinned running on the origin where the dashboard keeps the admin credential.
Here the Swagger UI bundle and stylesheet come from the pinned ``fastapi-offline`` distribution
(its copy of swagger-ui-dist, in the CoreLayer); the page and the few lines that start Swagger
UI are ours (package data next to the dashboard's). Everything is served from this API under
the dashboard's Content-Security-Policy, under the stage prefix.

Nothing is read at import: each file is read on its first request, then kept in memory (the
bundle is 1.5 MB, and most cold starts never serve it). The distribution is located, never
imported: none of its code runs.
"""

from __future__ import annotations

import html
import importlib.util
from functools import cache
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from propensity import __version__
from propensity.api.routes.dashboard import SECURITY_HEADERS, static_text
from propensity.errors import NotFoundError

router = APIRouter(include_in_schema=False)

# The distribution that carries Swagger UI (pinned in pyproject.toml and the CoreLayer).
SWAGGER_UI_DISTRIBUTION = "fastapi-offline"
SWAGGER_UI_PACKAGE = "fastapi_offline"
# File served → (where it comes from: "ours" or the distribution's static/ folder, media type).
ASSETS: dict[str, tuple[str, str]] = {
    "swagger-ui-bundle.js": ("swagger", "text/javascript; charset=utf-8"),
    "swagger-ui.css": ("swagger", "text/css; charset=utf-8"),
    "favicon.png": ("swagger", "image/png"),
    "docs.js": ("ours", "text/javascript; charset=utf-8"),
}
# Worth compressing: the bundle shrinks from 1.5 MB to 0.41 MB, the stylesheet to 27 kB.
COMPRESSED_TYPES = ("text/",)
DocsAsset = Annotated[str, Path(pattern=r"^[a-z-]+\.(js|css|png)$", max_length=30)]


@cache
def asset_version() -> str:
    """Ours and the pinned distribution's version: the assets' URLs change with either."""
    from importlib import metadata  # on the first /docs request, not at cold start

    return f"{__version__}-{metadata.version(SWAGGER_UI_DISTRIBUTION)}"


@cache
def _swagger_ui_dir() -> FilePath:
    spec = importlib.util.find_spec(SWAGGER_UI_PACKAGE)  # finds it without running it
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the API docs need the {SWAGGER_UI_DISTRIBUTION} distribution")
    return FilePath(next(iter(spec.submodule_search_locations))) / "static"


@cache
def asset_bytes(name: str) -> bytes:
    """The bytes of a served file, read on first use."""
    source, _ = ASSETS[name]
    if source == "ours":
        return static_text(name).encode("utf-8")
    return (_swagger_ui_dir() / name).read_bytes()


@cache
def _gzipped(name: str) -> bytes:
    import gzip

    return gzip.compress(asset_bytes(name), compresslevel=6, mtime=0)


@router.get("/docs", response_class=HTMLResponse)
def docs_page(request: Request) -> HTMLResponse:
    """Swagger UI over ``/openapi.json``: every operation of the API, with Try it out."""
    base = str(request.scope.get("root_path", "")).rstrip("/")
    page = (
        static_text("docs.html")
        .replace("__API_BASE__", html.escape(base, quote=True))
        .replace("__ASSET_VERSION__", html.escape(asset_version(), quote=True))
    )
    return HTMLResponse(page, headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


@router.get("/docs/{asset}", response_class=Response)
def docs_asset(asset: DocsAsset, request: Request) -> Response:
    if asset not in ASSETS:
        raise NotFoundError(f"no docs asset named {asset!r}")
    source, media_type = ASSETS[asset]
    # The page asks with ?v=<versions>, so a new pin is a new URL: its files are kept a day.
    max_age = 300 if source == "ours" else 86_400
    headers = {
        **SECURITY_HEADERS,
        "Cache-Control": f"public, max-age={max_age}",
        "Vary": "Accept-Encoding",
    }
    accepts_gzip = "gzip" in request.headers.get("accept-encoding", "")
    if accepts_gzip and media_type.startswith(COMPRESSED_TYPES):
        headers["Content-Encoding"] = "gzip"
        return Response(_gzipped(asset), media_type=media_type, headers=headers)
    return Response(asset_bytes(asset), media_type=media_type, headers=headers)
