"""Composition root: settings → adapters → services. Handlers call these at cold start.

What only the feedback, admin or retrain functions use is imported inside their functions, so
the predict function's cold start imports only what it wires.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from propensity.adapters import dynamo
from propensity.adapters.datasets import BucketDatasets
from propensity.adapters.object_store import ObjectStore
from propensity.adapters.predictions import DynamoPredictionLog
from propensity.adapters.registry import DynamoRegistry, DynamoRetrainLock
from propensity.api.dependencies import Services
from propensity.config import ModelConfig, available_models, load_model_config
from propensity.service.catalog import ModelCatalog
from propensity.service.champions import ChampionCache
from propensity.service.drift_reports import DriftReports, is_not_found_or_access_denied
from propensity.service.predictions import PredictionService
from propensity.settings import AdminSettings, FeedbackSettings, PredictSettings, RetrainSettings

if TYPE_CHECKING:
    from propensity.service.drift_monitor import DriftMonitor
    from propensity.service.retraining import RetrainService


def model_configs() -> dict[str, ModelConfig]:
    return {name: load_model_config(name) for name in available_models()}


def predict_services(settings: PredictSettings) -> Services:
    configs = model_configs()
    # One DynamoDB client for the registry and the prediction log: a second client would cost
    # the cold start another client class and endpoint resolver for the same service.
    dynamodb = dynamo.client()
    registry = DynamoRegistry(settings.registry_table, dynamodb)
    artifacts = ObjectStore(settings.artifacts_bucket)
    champions = ChampionCache(registry, artifacts, refresh_seconds=settings.model_refresh_seconds)
    predictions = PredictionService(
        champions,
        DynamoPredictionLog(settings.predictions_table, dynamodb),
        models=sorted(configs),
        log_ttl_days=settings.prediction_log_ttl_days,
        batch_limit=settings.batch_limit,
    )
    return Services(
        default_model=settings.default_model,
        predictions=predictions,
        catalog=ModelCatalog(configs, registry, predictions, artifacts),
        # This role has no s3:ListBucket: S3 answers a not-yet-written report with AccessDenied.
        drift=DriftReports(
            artifacts, models=sorted(configs), is_missing=is_not_found_or_access_denied
        ),
    )


def feedback_services(settings: FeedbackSettings) -> Services:
    from propensity.adapters.feedback import DynamoFeedbackStore
    from propensity.service.feedback import FeedbackService

    feedback = FeedbackService(
        model_configs(),
        DynamoFeedbackStore(settings.feedback_table),
        DynamoPredictionLog(settings.predictions_table),
    )
    return Services(default_model=settings.default_model, feedback=feedback)


def retrain_service(settings: RetrainSettings) -> RetrainService:
    # Imported here: only the retrain function has the scikit-learn layer.
    from propensity.adapters.feedback import DynamoFeedbackStore
    from propensity.service.retraining import RetrainService

    feedback = DynamoFeedbackStore(settings.feedback_table)
    return RetrainService(
        model_configs(),
        DynamoRegistry(settings.registry_table),
        ObjectStore(settings.artifacts_bucket),
        feedback,
        datasets=BucketDatasets(ObjectStore(settings.artifacts_bucket), settings.datasets_prefix),
        lock=DynamoRetrainLock(settings.registry_table),
        uploads=feedback,
        jobs=feedback,
        min_feedback=settings.retrain_min_feedback,
    )


def admin_services(settings: AdminSettings, admin_secret: str) -> Services:
    from propensity.adapters.feedback import DynamoFeedbackStore
    from propensity.service.admin_auth import AdminAuthenticator
    from propensity.service.registry_admin import RegistryAdmin
    from propensity.service.uploads import UploadService

    configs = model_configs()
    artifacts = ObjectStore(settings.artifacts_bucket)
    feedback = DynamoFeedbackStore(settings.feedback_table)
    return Services(
        default_model=settings.default_model,
        admin=RegistryAdmin(configs, DynamoRegistry(settings.registry_table), artifacts, feedback),
        authenticator=AdminAuthenticator(admin_secret),
        uploads=UploadService(configs, artifacts, feedback, presign=artifacts.presigned_put),
    )


def admin_secret(settings: AdminSettings) -> str:
    """The admin secret: given directly (local run), or read once from Secrets Manager."""
    if settings.admin_token:
        return settings.admin_token
    if settings.admin_token_secret_arn:
        from propensity.adapters.secrets import read_secret

        return read_secret(settings.admin_token_secret_arn)
    raise RuntimeError("set ADMIN_TOKEN or ADMIN_TOKEN_SECRET_ARN for the admin function")


def drift_monitor(settings: RetrainSettings) -> DriftMonitor:
    # Imported here: pandas and scipy exist only in the retrain function.
    from propensity.service.drift_monitor import DriftMonitor

    return DriftMonitor(
        model_configs(),
        DynamoPredictionLog(settings.predictions_table),
        ObjectStore(settings.artifacts_bucket),
        datasets=BucketDatasets(ObjectStore(settings.artifacts_bucket), settings.datasets_prefix),
    )
