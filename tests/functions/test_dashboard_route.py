"""The dashboard as the predict function serves it behind API Gateway (stage /dev).

The browser tests (tests/local/test_dashboard_browser.py) drive the page; these check what
API Gateway gets from the handler: text bodies, headers that keep every load on our origin,
and the evaluation route the Metrics tab draws from.
"""

from __future__ import annotations

import json
import re
from importlib.resources import files

import boto3
import pytest

from propensity.api.routes.dashboard import ASSET_TYPES
from propensity.local.template import Stack
from propensity.service.retraining import RetrainOrchestrator
from tests.functions.conftest import body_of, get_route, invoke, load_handler

STATIC = files("propensity.api") / "static"
# The only absolute URL the assets may hold is the SVG namespace, an identifier never fetched.
ALLOWED_ABSOLUTE = {"http://www.w3.org/2000/svg"}


@pytest.mark.usefixtures("published")
def test_the_page_is_served_as_text_with_the_stage_as_api_base() -> None:
    # Given the predict function behind the /dev stage
    handler = load_handler("predict")

    # When API Gateway asks for the root
    response = invoke(handler, get_route("/"))

    # Then it gets the HTML page as text, pointing every call at /dev
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is False
    headers = {k.lower(): v for k, v in response["headers"].items()}
    assert headers["content-type"].startswith("text/html")
    assert 'data-api-base="/dev"' in response["body"]
    assert 'data-default-model="bank"' in response["body"]
    assert 'src="/dev/ui/app.js' in response["body"]
    # and a policy that lets it load and call nothing but this API
    policy = headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy


@pytest.mark.usefixtures("published")
def test_no_placeholder_is_left_in_the_page() -> None:
    response = invoke(load_handler("predict"), get_route("/"))
    assert re.findall(r"__[A-Z_]+__", response["body"]) == []


@pytest.mark.usefixtures("published")
@pytest.mark.parametrize("asset", sorted(ASSET_TYPES))
def test_each_asset_is_served_as_text_with_its_type(asset: str) -> None:
    response = invoke(load_handler("predict"), get_route(f"/ui/{asset}"))

    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is False
    headers = {k.lower(): v for k, v in response["headers"].items()}
    assert headers["content-type"] == ASSET_TYPES[asset]
    assert headers["x-content-type-options"] == "nosniff"
    assert response["body"] == (STATIC / asset).read_text(encoding="utf-8")


@pytest.mark.usefixtures("published")
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/ui/missing.js", 404),
        ("/ui/index.html", 422),  # the page itself is only served at /, with its base filled in
        ("/ui/..%2Fdashboard.py", 404),  # decoded to /ui/../dashboard.py: no such route
        ("/ui/APP.JS", 422),
    ],
)
def test_only_the_listed_assets_are_served(path: str, status: int) -> None:
    response = invoke(load_handler("predict"), get_route(path))
    assert response["statusCode"] == status
    assert "import" not in response["body"]  # no source file leaks out


def test_every_asset_the_page_loads_is_ours() -> None:
    # Given every file of the dashboard
    texts = {
        name: (STATIC / name).read_text(encoding="utf-8") for name in [*ASSET_TYPES, "index.html"]
    }
    for name, text in texts.items():
        # Then none names another origin (no CDN, fonts or analytics)
        absolute = set(re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s\"'`)]*", text))
        assert absolute <= ALLOWED_ABSOLUTE, f"{name} refers to {absolute - ALLOWED_ABSOLUTE}"
        # and nothing needs a build step (no bare-module imports)
        imports = re.findall(r"^import .* from \"([^\"]+)\"", text, flags=re.MULTILINE)
        assert all(spec.startswith("./") for spec in imports), imports


@pytest.mark.usefixtures("published")
def test_evaluation_of_the_champion_has_what_the_metrics_tab_draws() -> None:
    response = invoke(load_handler("predict"), get_route("/models/bank/evaluation"))

    assert response["statusCode"] == 200
    evaluation = body_of(response)
    assert evaluation["model"] == "bank"
    assert evaluation["version"] == "v1"
    assert evaluation["status"] == "promoted"
    for name in ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "brier"):
        assert 0.0 <= evaluation[name] <= 1.0
    matrix = evaluation["confusion_matrix"]
    assert sum(matrix.values()) == evaluation["evaluated_on"]["rows"]
    roc = evaluation["curves"]["roc"]
    assert len(roc["fpr"]) == len(roc["tpr"]) > 10
    assert len(evaluation["curves"]["pr"]["recall"]) > 10
    binned = sum(b["count"] for b in evaluation["calibration"]["bins"])
    assert binned == evaluation["evaluated_on"]["rows"]
    assert set(evaluation["class_balance"]) == {"train", "test"}


@pytest.mark.usefixtures("published")
def test_evaluation_of_a_named_version_and_of_missing_ones() -> None:
    handler = load_handler("predict")

    named = invoke(handler, get_route("/models/telecom/evaluation", "version=v1"))
    missing = invoke(handler, get_route("/models/telecom/evaluation", "version=v9"))
    malformed = invoke(handler, get_route("/models/telecom/evaluation", "version=9"))

    assert (named["statusCode"], body_of(named)["version"]) == (200, "v1")
    assert missing["statusCode"] == 404
    assert malformed["statusCode"] == 422
    assert invoke(handler, get_route("/models/churn/evaluation"))["statusCode"] == 404


def test_a_tampered_evaluation_is_refused(stack: Stack, published: RetrainOrchestrator) -> None:
    # Given bank v1's metrics.json rewritten in the bucket behind the registry's back
    bucket = stack.names["ArtifactsBucket"]
    s3 = boto3.client("s3")
    key = next(
        o["Key"]
        for o in s3.list_objects_v2(Bucket=bucket, Prefix="models/bank/")["Contents"]
        if o["Key"].endswith("/metrics.json")
    )
    forged = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    forged["roc_auc"] = 0.99
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(forged).encode())

    # When the Metrics tab asks for it
    response = invoke(load_handler("predict"), get_route("/models/bank/evaluation"))

    # Then the service refuses to show numbers the registry never recorded
    assert response["statusCode"] == 503
    assert "0.99" not in response["body"]
