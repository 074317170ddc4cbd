"""The usual design, for comparison: a Lambda handler that serves a scikit-learn pipeline.

FastAPI + Mangum like ``functions/predict/handler.py`` so that only the model path differs:
pandas, scikit-learn and joblib are imported at module level, ``model.joblib`` is downloaded
from S3 and unpickled at cold start, and each request builds a one-row ``DataFrame`` and calls
``pipeline.predict_proba``. It writes no prediction log (the benchmark reports ours with and
without that write). Configuration: ``BASELINE_BUCKET`` and ``BASELINE_MODEL_KEY``.
"""

from __future__ import annotations

import io
import os
import time
from typing import Annotated, Any

import boto3
import joblib
import pandas as pd
import sklearn  # noqa: F401  (imported up front, as such handlers do)
from fastapi import Body, FastAPI
from mangum import Mangum

_t0 = time.perf_counter()
_s3 = boto3.client("s3")
_body = _s3.get_object(Bucket=os.environ["BASELINE_BUCKET"], Key=os.environ["BASELINE_MODEL_KEY"])[
    "Body"
].read()
FETCH_SECONDS = time.perf_counter() - _t0
_t1 = time.perf_counter()
pipeline = joblib.load(io.BytesIO(_body))
LOAD_SECONDS = time.perf_counter() - _t1
FEATURES: list[str] = [str(c) for c in pipeline.feature_names_in_]
THRESHOLD = float(os.environ.get("BASELINE_THRESHOLD", "0.5"))

app = FastAPI(root_path=os.environ.get("API_BASE_PATH", ""))


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=FEATURES)


@app.post("/models/{model}/predict")
def predict(model: str, payload: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    features = payload.get("features", payload)
    probability = float(pipeline.predict_proba(_frame([features]))[0, 1])
    return {
        "model": model,
        "probability": probability,
        "prediction": int(probability >= THRESHOLD),
        "threshold": THRESHOLD,
    }


@app.post("/models/{model}/predict/batch")
def predict_batch(model: str, payload: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    rows = payload["rows"]
    probabilities = pipeline.predict_proba(_frame(rows))[:, 1]
    return {
        "model": model,
        "count": len(rows),
        "predictions": [
            {"probability": float(p), "prediction": int(p >= THRESHOLD)} for p in probabilities
        ],
    }


asgi = Mangum(app, lifespan="off", api_gateway_base_path=os.environ.get("API_BASE_PATH", "") or "/")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return asgi(event, context)
