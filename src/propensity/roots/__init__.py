"""Composition roots: one per Lambda function, so each function imports only what it serves.

A root turns the function's validated settings into adapters and services. Handlers call their
root once, at cold start; tests build the same objects from the template's settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from propensity.config import ModelConfig, available_models, load_model_config

if TYPE_CHECKING:
    # The predict function imports this package too: it never checks credentials.
    from propensity.adapters.model_configs import BucketModelConfigs
    from propensity.service.admin_auth import AdminAuthenticator
    from propensity.service.model_configs import ModelConfigs
    from propensity.service.ports import SecretSource
    from propensity.settings import (
        AdminSettings,
        FeedbackSettings,
        PredictSettings,
        RetrainSettings,
    )


def model_configs() -> dict[str, ModelConfig]:
    """Every packaged model config, validated."""
    return {name: load_model_config(name) for name in available_models()}


def model_config_store(
    settings: PredictSettings | FeedbackSettings | AdminSettings | RetrainSettings,
) -> BucketModelConfigs:
    """Where models added at run time are kept: the stack's bucket."""
    from propensity.adapters.model_configs import BucketModelConfigs
    from propensity.adapters.object_store import ObjectStore

    return BucketModelConfigs(
        ObjectStore(settings.artifacts_bucket),
        datasets_prefix=getattr(settings, "datasets_prefix", "datasets/"),
    )


def model_config_source(
    settings: PredictSettings | FeedbackSettings | AdminSettings | RetrainSettings,
    store: BucketModelConfigs | None = None,
    *,
    miss_refresh_seconds: float = 1.0,
) -> ModelConfigs:
    """The packaged configs plus those added at run time, re-read every
    MODEL_CONFIG_REFRESH_SECONDS; a failed re-read counts ModelConfigRefreshFailures.

    An unknown name re-reads the catalogue at most every ``miss_refresh_seconds``: on the public
    functions that bounds what requests for made-up names cost; the retrain and admin functions
    (a job for a model added a moment ago) look every time."""
    from propensity.observability import count
    from propensity.service.model_configs import ModelConfigs

    return ModelConfigs(
        model_configs(),
        store or model_config_store(settings),
        refresh_seconds=settings.model_config_refresh_seconds,
        miss_refresh_seconds=miss_refresh_seconds,
        on_stale=count("ModelConfigRefreshFailures"),
    )


def authenticator(settings: AdminSettings | FeedbackSettings) -> AdminAuthenticator:
    """The credential check: the admin secret given directly (local run), or read from Secrets
    Manager and re-read every ADMIN_SECRET_REFRESH_SECONDS (AWS); revocations from the registry
    table, re-read every TOKEN_REVOCATION_REFRESH_SECONDS."""
    from propensity.adapters.revocations import DynamoTokenRevocations
    from propensity.service.admin_auth import AdminAuthenticator
    from propensity.service.admin_secret import AdminSecret, StaticSecret
    from propensity.service.revocations import RevocationList
    from propensity.service.tokens import audience

    source: SecretSource
    if settings.admin_token:
        source = StaticSecret(settings.admin_token)
    elif settings.admin_token_secret_arn:
        from propensity.adapters.secrets import SecretsManagerSecret

        source = SecretsManagerSecret(settings.admin_token_secret_arn)
    else:
        raise RuntimeError("set ADMIN_TOKEN or ADMIN_TOKEN_SECRET_ARN for this function")
    return AdminAuthenticator(
        AdminSecret(
            source,
            refresh_seconds=settings.admin_secret_refresh_seconds,
            grace_seconds=settings.admin_secret_grace_seconds,
        ),
        audience=audience(settings.stage),
        max_lifetime_seconds=settings.admin_token_max_lifetime_seconds,
        revocations=RevocationList(
            DynamoTokenRevocations(settings.registry_table),
            max_lifetime_seconds=settings.admin_token_max_lifetime_seconds,
            refresh_seconds=settings.token_revocation_refresh_seconds,
        ),
    )
