"""The admin function's wiring: registry operations, feedback curation, uploads and the admin
credential."""

from __future__ import annotations

from propensity.adapters.challengers import DynamoTrials
from propensity.adapters.feedback import DynamoFeedbackStore
from propensity.adapters.feedback_curation import DynamoFeedbackCuration
from propensity.adapters.feedback_log import DynamoFeedbackLog
from propensity.adapters.object_store import ObjectStore
from propensity.adapters.registry import DynamoRegistry
from propensity.api.dependencies import Services
from propensity.roots import authenticator, model_config_source, model_config_store
from propensity.service.challenger_trials import ChallengerTrials
from propensity.service.feedback_admin import FeedbackCuration
from propensity.service.model_admin import ModelAdmin
from propensity.service.registry_admin import RegistryAdmin
from propensity.service.uploads import UploadService
from propensity.settings import AdminSettings


def admin_services(settings: AdminSettings) -> Services:
    store = model_config_store(settings)
    # The admin function reads the catalogue again right after its own writes.
    configs = model_config_source(settings, store, miss_refresh_seconds=0)
    artifacts = ObjectStore(settings.artifacts_bucket)
    feedback = DynamoFeedbackStore(settings.feedback_table)
    curation = FeedbackCuration(configs, DynamoFeedbackCuration(settings.feedback_table))
    registry = DynamoRegistry(settings.registry_table)
    return Services(
        default_model=settings.default_model,
        trials=ChallengerTrials(
            configs,
            registry,
            DynamoTrials(settings.registry_table),
            DynamoFeedbackLog(settings.feedback_table),
        ),
        admin=RegistryAdmin(
            configs,
            registry,
            artifacts,
            feedback,
            curation=curation,
        ),
        authenticator=authenticator(settings),
        admin_jwt_scope=settings.admin_jwt_scope,
        uploads=UploadService(configs, artifacts, feedback, incoming=artifacts),
        models=ModelAdmin(configs, store, feedback),
    )
