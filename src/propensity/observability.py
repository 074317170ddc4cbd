"""Logger, tracer and metrics: created once, applied the same way to every handler."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from functools import wraps
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths


def tracing_enabled() -> bool:
    """Powertools' own switch. Honouring it here keeps the X-Ray SDK (about 0.3 s of imports)
    out of cold starts where tracing is off: the predict function, where Lambda's active tracing
    still records every invocation, and the local run."""
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() not in ("1", "true")


logger = Logger(service="propensity")
tracer = Tracer(service="propensity") if tracing_enabled() else None
metrics = Metrics(namespace="Propensity", service="propensity")

# Health checks and docs legitimately publish no business metric; powertools would warn each time.
warnings.filterwarnings("ignore", message="No application metrics to publish")

Handler = Callable[[dict[str, Any], Any], Any]


def count(name: str) -> Callable[..., None]:
    """A callback adding 1 to the EMF metric ``name`` (flushed with the invocation's metrics),
    for services that report an event through a plain callable."""

    def add(*_: object) -> None:
        metrics.add_metric(name=name, unit="Count", value=1)

    return add


def observed(handler: Handler, *, correlation_id_path: str | None = None) -> Handler:
    """Structured logs with the Lambda context, an X-Ray segment, and flushed EMF metrics."""

    traced = (
        handler
        if tracer is None
        else tracer.capture_lambda_handler(capture_response=False)(handler)
    )

    @logger.inject_lambda_context(correlation_id_path=correlation_id_path, clear_state=True)
    @metrics.log_metrics(raise_on_empty_metrics=False)
    @wraps(handler)
    def wrapped(event: dict[str, Any], context: Any) -> Any:
        return traced(event, context)

    return wrapped  # type: ignore[no-any-return]  # powertools decorators are untyped


def observed_http(handler: Handler) -> Handler:
    return observed(handler, correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
