"""FeedbackFunction: labelled examples from the HTTP API into DynamoDB (and the retrain counter)."""

from __future__ import annotations

from typing import Any

from mangum import Mangum

from propensity.api.app import create_app
from propensity.api.routes import feedback
from propensity.observability import observed_http
from propensity.roots.feedback import feedback_services
from propensity.settings import FeedbackSettings

settings = FeedbackSettings()  # type: ignore[call-arg]  # values come from the environment
app = create_app(feedback_services(settings), [feedback.router], root_path=settings.api_base_path)
asgi = Mangum(app, lifespan="off", api_gateway_base_path=settings.api_base_path or "/")


@observed_http
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return asgi(event, context)
