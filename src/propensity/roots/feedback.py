"""The feedback function's wiring: the feedback store and the prediction log it joins."""

from __future__ import annotations

from propensity.adapters.feedback import DynamoFeedbackStore
from propensity.adapters.predictions import DynamoPredictionLog
from propensity.api.dependencies import Services
from propensity.roots import authenticator, model_config_source
from propensity.service.feedback import FeedbackService
from propensity.settings import FeedbackSettings


def feedback_services(settings: FeedbackSettings) -> Services:
    feedback = FeedbackService(
        model_config_source(settings),
        DynamoFeedbackStore(
            settings.feedback_table, retention_days=settings.feedback_retention_days
        ),
        DynamoPredictionLog(settings.predictions_table),
    )
    if settings.feedback_auth == "off":
        return Services(
            default_model=settings.default_model, feedback=feedback, anonymous_feedback=True
        )
    return Services(
        default_model=settings.default_model,
        feedback=feedback,
        authenticator=authenticator(settings),
    )
