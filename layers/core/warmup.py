"""CoreLayer build check: runs against the built layer only (no site-packages, no boto3).

Imports what the functions load and serves one HTTP API v2 request through FastAPI + Mangum, so
lazily imported modules are exercised too. Fails the build on any error. The aws_lambda_powertools
modules loaded here are the only ones of that package compiled to bytecode (the package is mostly
utilities these functions do not use): import another one here if a handler starts using it.
"""

import json

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent, EventBridgeEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from fastapi import FastAPI
from mangum import Mangum
from pydantic import BaseModel
from pydantic_settings import BaseSettings

import propensity.scoring
from propensity.config import available_models, load_model_config


class Settings(BaseSettings):
    default_model: str = "bank"


class Echo(BaseModel):
    models: list[str]
    title: str


models = available_models()
assert models, "model_configs/*.toml missing from the layer (package data not copied?)"
config = load_model_config(Settings().default_model if "bank" in models else models[0])
assert propensity.scoring.Scorer

assert LambdaContext and DynamoDBStreamEvent and EventBridgeEvent
BatchProcessor(event_type=EventType.DynamoDBStreams)
Logger(service="propensity-build")
Metrics(namespace="PropensityBuild", service="propensity-build")
app = FastAPI(title="warmup")


@app.get("/models")
def list_models() -> Echo:
    return Echo(models=models, title=config.title)


handler = Mangum(app, lifespan="off")
event = {
    "version": "2.0",
    "routeKey": "GET /models",
    "rawPath": "/models",
    "rawQueryString": "",
    "headers": {"host": "example.execute-api.us-east-1.amazonaws.com", "accept": "*/*"},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "example",
        "domainName": "example.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "example",
        "http": {
            "method": "GET",
            "path": "/models",
            "protocol": "HTTP/1.1",
            "sourceIp": "192.0.2.1",
            "userAgent": "warmup",
        },
        "requestId": "warmup",
        "routeKey": "GET /models",
        "stage": "$default",
        "time": "01/Jan/2026:00:00:00 +0000",
        "timeEpoch": 1767225600000,
    },
    "isBase64Encoded": False,
}
response = handler(event, None)
assert response["statusCode"] == 200, response
assert json.loads(response["body"])["models"] == models, response
assert app.openapi()["paths"]
