"""PredictFunction: API Gateway HTTP API → Mangum → FastAPI → champion scorecard (+ dashboard).

Everything heavy happens once per container, at import: settings are validated, clients
created and the default model's champion scorecard loaded from S3 into memory. With SnapStart
that init is snapshotted once per published version; the runtime hooks below make sure the
snapshot holds a loaded champion and that a restored environment re-checks it before serving.
"""

from __future__ import annotations

from typing import Any

from mangum import Mangum
from snapshot_restore_py import register_after_restore, register_before_snapshot

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


@register_before_snapshot
def _load_the_champion_into_the_snapshot() -> None:
    # The import above already tried; a registry that was unreachable then gets another chance,
    # so restored environments do not all start by loading it.
    assert services.predictions is not None
    services.predictions.champion_cache.preload([settings.default_model])


@register_after_restore
def _recheck_the_champion_after_a_restore() -> None:
    # The snapshot may be days old: re-read the alias now, not after ModelRefreshSeconds.
    # Nothing else is per environment: ids come from os.urandom (uuid4), and botocore
    # reconnects the pooled connections the snapshot holds on first use.
    assert services.predictions is not None
    services.predictions.champion_cache.recheck()


@observed_http
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return asgi(event, context)
