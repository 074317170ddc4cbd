"""The admin function's wiring: registry operations, feedback curation, uploads and the admin
credential."""

from __future__ import annotations

from propensity.adapters.feedback import DynamoFeedbackStore
from propensity.adapters.feedback_curation import DynamoFeedbackCuration
from propensity.adapters.object_store import ObjectStore
from propensity.adapters.registry import DynamoRegistry
from propensity.api.dependencies import Services
from propensity.roots import model_configs
from propensity.service.admin_auth import AdminAuthenticator
from propensity.service.feedback_admin import FeedbackCuration
from propensity.service.registry_admin import RegistryAdmin
from propensity.service.uploads import UploadService
from propensity.settings import AdminSettings


def admin_services(settings: AdminSettings, admin_secret: str) -> Services:
    configs = model_configs()
    artifacts = ObjectStore(settings.artifacts_bucket)
    feedback = DynamoFeedbackStore(settings.feedback_table)
    curation = FeedbackCuration(configs, DynamoFeedbackCuration(settings.feedback_table))
    return Services(
        default_model=settings.default_model,
        admin=RegistryAdmin(
            configs,
            DynamoRegistry(settings.registry_table),
            artifacts,
            feedback,
            curation=curation,
        ),
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
