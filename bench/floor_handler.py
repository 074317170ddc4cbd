"""The floor under any FastAPI + Mangum + boto3 Lambda handler, for the cold-start comparison.

The same frameworks and AWS clients as ``functions/predict/handler.py`` (FastAPI, Mangum,
pydantic-settings, powertools Logger and Metrics, one S3 and one DynamoDB client), and nothing
of ours: no propensity import, no model, one route that answers without reading its body. What
our cold start costs above this is ours (our modules, the model fetch, the prediction-log
write); this much is the price of the stack the issue prescribes (API Gateway → Mangum →
FastAPI) plus boto3.
"""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from botocore.config import Config
from fastapi import FastAPI
from mangum import Mangum
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    artifacts_bucket: str
    registry_table: str
    predictions_table: str
    api_base_path: str = ""


settings = Settings()  # type: ignore[call-arg]  # values come from the environment
s3 = boto3.client("s3", config=Config(signature_version="s3v4"))
dynamodb = boto3.client("dynamodb")
logger = Logger(service="floor")
metrics = Metrics(namespace="Floor", service="floor")
app = FastAPI(root_path=settings.api_base_path)


# A coroutine, as our predict routes are: a plain function would add FastAPI's worker-thread hop,
# and the floor would then be slower than it has to be.
@app.post("/models/{model}/predict")
async def predict(model: str) -> dict[str, str]:
    return {"model": model}


asgi = Mangum(app, lifespan="off", api_gateway_base_path=settings.api_base_path or "/")


@logger.inject_lambda_context
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return asgi(event, context)
