"""Admin routes over stored feedback: provenance, exclusions from training, erasure.

Served by the admin function beside ``routes.admin``, with the same credential. Every route
takes ``Scoped``: the admin identity, already checked to cover the path's model, so a credential
for another model gets 403 before a body is validated (never a 422 that tells it more).
Exclusions are recorded and lifted, never deleted; the next retrain leaves out what the active
ones match, and its version's lineage says so.

Erasure is ``POST .../feedback/erasures`` with the subject in the body: it creates an audit
entry (who, when, why, how many), and keeps the subject out of URLs and access logs.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from propensity.api.routes.admin import AUTH_RESPONSES, BODY_RESPONSES, Admin, Identity, ModelName
from propensity.api.schemas import (
    ErasureIn,
    ErasureOut,
    ErasuresOut,
    ExclusionIn,
    ExclusionOut,
    ExclusionsOut,
    FeedbackListOut,
    FeedbackSourcesOut,
    IsoTime,
    Subject,
)
from propensity.records import FeedbackSource
from propensity.service.admin_auth import AdminIdentity
from propensity.service.feedback_admin import MAX_LIST, FeedbackCuration

router = APIRouter(tags=["admin"])


def _curation(admin: Admin) -> FeedbackCuration:
    return admin.curation


def _scoped(model: ModelName, identity: Identity) -> AdminIdentity:
    """The admin identity, refused (403) unless its credential covers ``model``."""
    identity.require(model)
    return identity


Curation = Annotated[FeedbackCuration, Depends(_curation)]
Scoped = Annotated[AdminIdentity, Depends(_scoped)]
ExclusionId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


@router.get(
    "/models/{model}/feedback/sources", response_model=FeedbackSourcesOut, responses=AUTH_RESPONSES
)
def feedback_sources(model: ModelName, curation: Curation, identity: Scoped) -> dict[str, Any]:
    """Stored feedback counted per (subject, source), with when each first and last sent some."""
    return curation.sources(model)


@router.get("/models/{model}/feedback", response_model=FeedbackListOut, responses=AUTH_RESPONSES)
def list_feedback(
    model: ModelName,
    curation: Curation,
    identity: Scoped,
    subject: Annotated[Subject | None, Query()] = None,
    source: Annotated[FeedbackSource | None, Query()] = None,
    since: Annotated[IsoTime | None, Query(description="inclusive, ISO 8601")] = None,
    until: Annotated[IsoTime | None, Query(description="exclusive, ISO 8601")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 50,
) -> dict[str, Any]:
    """Stored feedback items, newest first, with their features (for review before excluding)."""
    return curation.items(
        model, subject=subject, source=source, since=since, until=until, limit=limit
    )


@router.post(
    "/models/{model}/feedback/exclusions",
    status_code=201,
    response_model=ExclusionOut,
    responses=BODY_RESPONSES,
)
def exclude_feedback(
    model: ModelName, body: ExclusionIn, curation: Curation, identity: Scoped
) -> dict[str, Any]:
    """Keep matching feedback (already stored or still to come) out of every retrain from now."""
    return curation.exclude(
        model,
        subject=body.subject,
        source=body.source,
        since=body.since,
        until=body.until,
        reason=body.reason,
        actor=identity.subject,
    )


@router.get(
    "/models/{model}/feedback/exclusions", response_model=ExclusionsOut, responses=AUTH_RESPONSES
)
def list_exclusions(model: ModelName, curation: Curation, identity: Scoped) -> dict[str, Any]:
    return curation.exclusions(model)


@router.delete(
    "/models/{model}/feedback/exclusions/{exclusion_id}",
    response_model=ExclusionOut,
    responses=AUTH_RESPONSES,
)
def lift_exclusion(
    model: ModelName, exclusion_id: ExclusionId, curation: Curation, identity: Scoped
) -> dict[str, Any]:
    """Lift an exclusion: the record stays, marked with who lifted it and when (idempotent)."""
    return curation.lift(model, exclusion_id, actor=identity.subject)


@router.post(
    "/models/{model}/feedback/erasures",
    status_code=201,
    response_model=ErasureOut,
    responses=BODY_RESPONSES,
)
def erase_feedback(
    model: ModelName, body: ErasureIn, curation: Curation, identity: Scoped
) -> dict[str, Any]:
    """Delete every feedback item of a subject (an erasure request); repeating it deletes 0."""
    return curation.erase(model, body.subject, reason=body.reason, actor=identity.subject)


@router.get(
    "/models/{model}/feedback/erasures", response_model=ErasuresOut, responses=AUTH_RESPONSES
)
def list_erasures(model: ModelName, curation: Curation, identity: Scoped) -> dict[str, Any]:
    return curation.erasures(model)
