"""The predict function's wiring: champion cache, prediction log, catalog, drift reports.

No feedback, admin or retrain code and no scientific stack: a test reads the import closure.
"""

from __future__ import annotations

from propensity.adapters import dynamo
from propensity.adapters.object_store import ObjectStore
from propensity.adapters.predictions import DynamoPredictionLog
from propensity.adapters.registry import DynamoRegistry
from propensity.api.dependencies import Services
from propensity.observability import count
from propensity.roots import model_config_source
from propensity.service.catalog import ModelCatalog
from propensity.service.champions import ChampionCache
from propensity.service.drift_reports import DriftReports, is_not_found_or_access_denied
from propensity.service.predictions import PredictionService
from propensity.settings import PredictSettings

_count_scoring, _count_error = count("ChallengerScorings"), count("ChallengerErrors")


def challenger_scored(failed: bool) -> None:
    _count_scoring()
    if failed:
        _count_error()


def predict_services(settings: PredictSettings) -> Services:
    configs = model_config_source(settings)
    # One DynamoDB client for the registry and the prediction log: a second client would cost
    # the cold start another client class and endpoint resolver for the same service.
    dynamodb = dynamo.client()
    registry = DynamoRegistry(settings.registry_table, dynamodb)
    artifacts = ObjectStore(settings.artifacts_bucket)
    # ChampionRefreshFailures: the ChampionStaleAlarm of infra/template.yaml watches it.
    champions = ChampionCache(
        registry,
        artifacts,
        refresh_seconds=settings.model_refresh_seconds,
        on_stale=count("ChampionRefreshFailures"),
    )
    predictions = PredictionService(
        champions,
        DynamoPredictionLog(settings.predictions_table, dynamodb),
        models=configs,
        log_ttl_days=settings.prediction_log_ttl_days,
        batch_limit=settings.batch_limit,
        batch_log_rows=settings.batch_log_rows,
        # ChallengerScorings/ChallengerErrors: the ChallengerErrorRateAlarm's metric math.
        on_challenger=challenger_scored,
    )
    return Services(
        default_model=settings.default_model,
        predictions=predictions,
        catalog=ModelCatalog(configs, registry, predictions, artifacts),
        # This role has no s3:ListBucket: S3 answers a not-yet-written report with AccessDenied.
        drift=DriftReports(artifacts, models=configs, is_missing=is_not_found_or_access_denied),
    )
