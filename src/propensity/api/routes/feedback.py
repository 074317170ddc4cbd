"""Routes of the feedback function: labelled examples for retraining.

Feedback changes the next model, so it needs a credential: a token scoped to feedback (or the
admin credential), unless the stack runs with FeedbackAuth=off. Each item records who sent it
(the credential's subject) and by which route.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Response

from propensity.api import dependencies as deps
from propensity.api.schemas import FeedbackIn, FeedbackOut, error_responses
from propensity.config import MODEL_NAME_PATTERN
from propensity.service.admin_auth import AdminIdentity
from propensity.service.feedback import FeedbackService

router = APIRouter()

ModelName = Annotated[str, Path(pattern=MODEL_NAME_PATTERN, max_length=40)]
Feedback = Annotated[FeedbackService, Depends(deps.feedback)]
DefaultModel = Annotated[str, Depends(deps.default_model)]
Sender = Annotated[AdminIdentity, Depends(deps.feedback_identity)]
# The client that collected the label (the header the predict routes read too); a label for a
# chat or batch prediction takes that prediction's source.
Channel = Annotated[
    Literal["api", "dashboard"] | None,
    Header(alias="X-Propensity-Source", description="'dashboard' from the dashboard's buttons"),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key", max_length=128, description="repeat it on retries: counted once"
    ),
]


def _submit(
    model: str,
    body: FeedbackIn,
    service: FeedbackService,
    sender: AdminIdentity,
    channel: str | None,
    key: str | None,
    response: Response,
) -> dict[str, Any]:
    sender.require(model)
    record, created = service.submit(
        model,
        label=body.y,
        prediction_id=body.prediction_id,
        features=body.features,
        idempotency_key=key,
        source=channel,
        subject=sender.subject,
    )
    response.status_code = 201 if created else 200
    return {
        "feedback_id": record.feedback_id,
        "model": record.model,
        "y": record.label,
        "prediction_id": record.prediction_id,
        "created_at": record.created_at,
        "source": record.source,
        "subject": record.subject,
        "duplicate": not created,
    }


@router.post(
    "/models/{model}/feedback",
    response_model=FeedbackOut,
    status_code=201,
    tags=["feedback"],
    responses={
        200: {"model": FeedbackOut, "description": "a repeat of an earlier request"},
        **error_responses(400, 401, 403, 404, 409, 422, 503),
    },
)
def submit_feedback(
    model: ModelName,
    body: FeedbackIn,
    service: Feedback,
    sender: Sender,
    response: Response,
    channel: Channel = None,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    return _submit(model, body, service, sender, channel, idempotency_key, response)


@router.post(
    "/feedback",
    response_model=FeedbackOut,
    status_code=201,
    tags=["bank reference aliases"],
    responses={
        200: {"model": FeedbackOut, "description": "a repeat of an earlier request"},
        **error_responses(400, 401, 403, 404, 409, 422, 503),
    },
)
def submit_feedback_default(
    body: FeedbackIn,
    service: Feedback,
    default: DefaultModel,
    sender: Sender,
    response: Response,
    channel: Channel = None,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    return _submit(default, body, service, sender, channel, idempotency_key, response)
