"""Composition roots: one per Lambda function, so each function imports only what it serves.

A root turns the function's validated settings into adapters and services. Handlers call their
root once, at cold start; tests build the same objects from the template's settings.
"""

from __future__ import annotations

from propensity.config import ModelConfig, available_models, load_model_config
from propensity.service.admin_auth import AdminAuthenticator
from propensity.settings import AdminSettings, FeedbackSettings


def model_configs() -> dict[str, ModelConfig]:
    """Every packaged model config, validated."""
    return {name: load_model_config(name) for name in available_models()}


def authenticator(settings: AdminSettings | FeedbackSettings) -> AdminAuthenticator:
    """The credential check, from the admin secret: given directly (local run), or read once
    from Secrets Manager (AWS)."""
    if settings.admin_token:
        return AdminAuthenticator(settings.admin_token)
    if settings.admin_token_secret_arn:
        from propensity.adapters.secrets import read_secret

        return AdminAuthenticator(read_secret(settings.admin_token_secret_arn))
    raise RuntimeError("set ADMIN_TOKEN or ADMIN_TOKEN_SECRET_ARN for this function")
