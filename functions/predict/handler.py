"""PredictFunction: API Gateway HTTP API → Mangum → FastAPI → champion scorecard (+ dashboard).

Everything heavy happens once per container, at import: settings are validated, clients
created and the default model's champion scorecard loaded from S3 into memory.
"""

from __future__ import annotations

from typing import Any

from mangum import Mangum

from propensity.api.app import create_app
from propensity.api.routes import dashboard, docs, predict
from propensity.observability import observed_http
from propensity.roots.predict import predict_services
from propensity.settings import PredictSettings

settings = PredictSettings()  # type: ignore[call-arg]  # values come from the environment
services = predict_services(settings)
assert services.predictions is not None
services.predictions.champion_cache.preload([settings.default_model])
app = create_app(
    services, [dashboard.router, docs.router, predict.router], root_path=settings.api_base_path
)
asgi = Mangum(app, lifespan="off", api_gateway_base_path=settings.api_base_path or "/")


@observed_http
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return asgi(event, context)
