"""What the service stores: predictions, feedback, versions and the champion alias."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

VersionStatus = Literal["candidate", "promoted", "rejected", "retired"]
Trigger = Literal["bootstrap", "stream", "schedule", "drift", "admin", "upload"]


@dataclass(frozen=True)
class PredictionRecord:
    prediction_id: str
    model: str
    version: str
    created_at: str
    features: dict[str, Any]
    probability: float
    prediction: int
    expires_at: int
    # Where the request came from (api, batch, chat, dashboard): drift reads chosen sources only.
    source: str = "api"


@dataclass(frozen=True)
class FeedbackRecord:
    feedback_id: str
    model: str
    label: int
    features: dict[str, Any]
    created_at: str
    prediction_id: str | None = None
    source: str = "api"


@dataclass(frozen=True)
class VersionRecord:
    model: str
    version: str
    number: int
    status: VersionStatus
    created_at: str
    trigger: str
    artifact_prefix: str
    artifacts: dict[str, str]
    metrics: dict[str, float]
    data_sha256: str
    parent_version: str | None = None
    reason: str = ""
    threshold: float = 0.5
    rows_train: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def scorecard_key(self) -> str:
        return f"{self.artifact_prefix}scorecard.json"


@dataclass(frozen=True)
class ChampionAlias:
    model: str
    version: str
    scorecard_key: str
    scorecard_sha256: str
    revision: int
    updated_at: str
    previous_version: str | None = None
    reason: str = ""
    actor: str = ""


JobStatus = Literal["queued", "running", "succeeded", "failed"]


@dataclass(frozen=True)
class RetrainJob:
    job_id: str
    model: str
    status: JobStatus
    requested_at: str
    requested_by: str
    updated_at: str = ""
    version: str | None = None
    promoted: bool | None = None
    reason: str = ""


@dataclass(frozen=True)
class PromotionEvent:
    model: str
    version: str
    previous_version: str | None
    at: str
    actor: str
    reason: str
    action: Literal["promote", "rollback", "bootstrap", "manual"] = "promote"


# What arrives at the retrain function, parsed at the edge from a stream record or an
# EventBridge event; the service acts on these and never on a storage key.
@dataclass(frozen=True)
class FeedbackCounted:
    """The model's pending-feedback counter moved (feedback or an upload was stored)."""

    model: str


@dataclass(frozen=True)
class RetrainJobQueued:
    """An admin asked for a retrain of ``model``; ``job_id`` names the job to carry out."""

    model: str
    job_id: str


RetrainEvent = FeedbackCounted | RetrainJobQueued
