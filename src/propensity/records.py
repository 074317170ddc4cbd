"""What the service stores: predictions, feedback, versions and the champion alias."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# Items of the feedback table (whose stream drives the retrain function).
COUNTER_ITEM = "COUNTER"
FEEDBACK_ITEM_PREFIX = "FEEDBACK#"
JOB_ITEM_PREFIX = "JOB#"

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
