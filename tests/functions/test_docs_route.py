"""/docs as the predict function serves it behind API Gateway (stage /dev).

The browser test (tests/local/test_dashboard_browser.py) opens the page and reads the operations
Swagger UI lists; these check what API Gateway gets: our page under the dashboard's policy, the
pinned distribution's files (compressed when the browser accepts it), nothing read before a
request asks for it.
"""

from __future__ import annotations

import base64
import gzip
import importlib.util
import re
from importlib import metadata
from importlib.resources import files
from pathlib import Path

import pytest

from propensity.api.routes import docs
from propensity.api.routes.dashboard import CONTENT_SECURITY_POLICY
from tests.functions.conftest import get_route, invoke, load_handler

STATIC = files("propensity.api") / "static"


def shipped(name: str) -> bytes:
    """A file of the pinned distribution's static folder, read the way an operator would."""
    spec = importlib.util.find_spec("fastapi_offline")
    assert spec is not None and spec.submodule_search_locations
    return (Path(next(iter(spec.submodule_search_locations))) / "static" / name).read_bytes()


def headers_of(response: dict[str, object]) -> dict[str, str]:
    raw = response["headers"]
    assert isinstance(raw, dict)
    return {str(k).lower(): str(v) for k, v in raw.items()}


@pytest.mark.usefixtures("published")
def test_the_page_is_ours_under_the_stage_with_the_dashboard_policy() -> None:
    # Given a cold predict function: nothing of the docs read yet
    docs.asset_bytes.cache_clear()
    handler = load_handler("predict")
    assert docs.asset_bytes.cache_info().currsize == 0

    # When API Gateway asks for /dev/docs
    response = invoke(handler, get_route("/docs"))

    # Then it gets our page, pointing at this API's files and document under /dev
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is False
    body = response["body"]
    version = f"-{metadata.version('fastapi-offline')}"
    assert 'data-openapi-url="/dev/openapi.json"' in body
    assert re.search(rf'src="/dev/docs/swagger-ui-bundle\.js\?v=[^"]+{version}"', body)
    assert re.search(r'src="/dev/docs/docs\.js\?v=', body)
    assert re.search(r'href="/dev/docs/swagger-ui\.css\?v=', body)
    assert re.findall(r"__[A-Z_]+__", body) == []
    # and no script of the page is inline: the policy would refuse it
    assert re.findall(r"<script>", body) == []
    headers = headers_of(response)
    assert headers["content-type"].startswith("text/html")
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    # And still no asset was read: serving the page does not load the 1.5 MB bundle
    assert docs.asset_bytes.cache_info().currsize == 0


@pytest.mark.usefixtures("published")
@pytest.mark.parametrize("asset", ["swagger-ui-bundle.js", "swagger-ui.css"])
def test_swagger_ui_files_are_the_pinned_distributions(asset: str) -> None:
    handler = load_handler("predict")

    # When a browser that does not accept gzip asks for a file
    plain = invoke(handler, get_route(f"/docs/{asset}"))
    # Then it gets the distribution's bytes as text, with the policy and their type
    assert plain["statusCode"] == 200
    assert plain["isBase64Encoded"] is False
    assert plain["body"].encode() == shipped(asset)
    headers = headers_of(plain)
    assert headers["content-type"] == docs.ASSETS[asset][1]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "max-age=86400" in headers["cache-control"]

    # When one that accepts gzip asks
    event = get_route(f"/docs/{asset}")
    event["headers"]["accept-encoding"] = "gzip, deflate, br"
    packed = invoke(handler, event)
    # Then the same bytes come compressed (base64 in the Lambda response, as API Gateway needs)
    assert packed["isBase64Encoded"] is True
    assert headers_of(packed)["content-encoding"] == "gzip"
    compressed = base64.b64decode(packed["body"])
    assert gzip.decompress(compressed) == shipped(asset)
    assert len(compressed) < len(shipped(asset)) / 2


@pytest.mark.usefixtures("published")
def test_the_initializer_is_ours_and_the_icon_binary() -> None:
    handler = load_handler("predict")
    script = invoke(handler, get_route("/docs/docs.js"))
    assert script["body"] == (STATIC / "docs.js").read_text(encoding="utf-8")
    assert "max-age=300" in headers_of(script)["cache-control"]
    icon = invoke(handler, get_route("/docs/favicon.png"))
    assert icon["isBase64Encoded"] is True
    assert base64.b64decode(icon["body"]) == shipped("favicon.png")


@pytest.mark.usefixtures("published")
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/docs/redoc.standalone.js", 422),  # shipped by the distribution, not served
        ("/docs/index.js", 404),
        ("/docs/core.py", 422),
        ("/docs/..%2Fcore.py", 404),
    ],
)
def test_only_the_listed_files_are_served(path: str, status: int) -> None:
    response = invoke(load_handler("predict"), get_route(path))
    assert response["statusCode"] == status
    assert "import" not in response["body"]


def test_the_page_and_initializer_name_no_other_origin() -> None:
    for name in ("docs.html", "docs.js"):
        text = (STATIC / name).read_text(encoding="utf-8")
        assert re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text) == [], name
