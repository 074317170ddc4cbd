"""The predict function's cold start imports only what it serves (what the benchmark measures)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from propensity.local.template import REPO_ROOT

HEAVY = ("numpy", "pandas", "sklearn", "scipy", "joblib")
# Not served by predict, or not needed before the first chat request.
NOT_SERVED = (
    "propensity.api.routes.admin",
    "propensity.api.routes.feedback",
    "propensity.chat",
)

# A fresh interpreter: moto resources from the template, the predict handler executed from its
# file as Lambda does, one prediction (503: no champion in an empty registry), then the docs.
CODE = f"""
import copy, importlib.util, json, os, sys
from moto import mock_aws
import boto3
from propensity.local.template import Stack

class Context:
    function_name = "test"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "test"
    def get_remaining_time_in_millis(self):
        return 10000

def loaded(prefixes):
    return sorted(m for m in sys.modules if m.split(".")[0] in prefixes or m in prefixes)

with mock_aws():
    stack = Stack()
    stack.create_resources(boto3.client("dynamodb"), boto3.client("s3"))
    os.environ.update(stack.functions()["PredictFunction"].environment)
    path = os.path.join({str(REPO_ROOT)!r}, "functions", "predict", "handler.py")
    # snapshot_restore_py: Lambda's runtime provides it; the local run's stand-in here
    runtime_modules = ("src", "propensity", "local", "lambda_runtime")
    sys.path.append(os.path.join({str(REPO_ROOT)!r}, *runtime_modules))
    spec = importlib.util.spec_from_file_location("predict_handler", path)
    handler = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(handler)
    with open(os.path.join({str(REPO_ROOT)!r}, "events", "predict-bank.json")) as f:
        event = json.load(f)
    predicted = handler.lambda_handler(copy.deepcopy(event), Context())["statusCode"]
    report = {{"predict_status": predicted, "heavy": loaded({HEAVY!r}),
               "not_served": loaded({NOT_SERVED!r})}}
    docs = copy.deepcopy(event)
    docs["rawPath"] = docs["requestContext"]["http"]["path"] = "/dev/openapi.json"
    docs["routeKey"] = docs["requestContext"]["routeKey"] = "GET /openapi.json"
    docs["requestContext"]["http"]["method"] = "GET"
    docs.pop("body", None)
    docs["pathParameters"] = {{}}
    answer = handler.lambda_handler(docs, Context())
    report["docs_status"] = answer["statusCode"]
    report["documented_paths"] = sorted(json.loads(answer["body"])["paths"])
    assets = sys.modules["propensity.api.routes.docs"].asset_bytes
    report["docs_files_read_before"] = assets.cache_info().currsize
    bundle = copy.deepcopy(docs)
    bundle["rawPath"] = bundle["requestContext"]["http"]["path"] = "/dev/docs/swagger-ui-bundle.js"
    report["bundle_status"] = handler.lambda_handler(bundle, Context())["statusCode"]
    report["docs_files_read_after"] = assets.cache_info().currsize
    report["docs_distribution_imported"] = loaded(("fastapi_offline",))
print(json.dumps(report))
"""


def test_predict_cold_start_imports_no_heavy_module_and_no_router_it_does_not_serve() -> None:
    # When a fresh interpreter executes the predict handler and serves one prediction
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "API_BASE_PATH": "/dev",
    }
    result = subprocess.run(
        [sys.executable, "-c", CODE],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["predict_status"] == 503  # served (no champion yet in an empty registry)
    # Then neither numpy/pandas/scikit-learn nor the admin and feedback routers were imported
    assert report["heavy"] == []
    assert report["not_served"] == []
    # And /openapi.json still documents the whole API, admin and feedback routes included
    assert report["docs_status"] == 200
    paths = report["documented_paths"]
    assert "/models/{model}/feedback" in paths
    assert "/models/{model}/versions/{version}/promote" in paths
    assert "/models/{model}/predict" in paths
    # And the docs' files were read only when asked for, from a distribution never imported
    assert report["docs_files_read_before"] == 0
    assert (report["bundle_status"], report["docs_files_read_after"]) == (200, 1)
    assert report["docs_distribution_imported"] == []
