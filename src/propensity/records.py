"""What the service stores: predictions, feedback, versions and the champion alias."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

# "challenger": passed the offline gate and is on trial against live traffic.
VersionStatus = Literal["candidate", "challenger", "promoted", "rejected", "retired"]
Trigger = Literal["bootstrap", "stream", "schedule", "drift", "admin", "upload"]
# The routes feedback arrives by (FeedbackRecord.source); admins filter and exclude by them.
FeedbackSource = Literal["api", "dashboard", "chat", "batch", "upload"]
FEEDBACK_SOURCES: tuple[str, ...] = get_args(FeedbackSource)


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
    # During a challenger trial: every version that scored the row → its probability (the
    # answering ``version`` included), what scoring the challenger raised, and how long it took.
    scores: dict[str, float] = field(default_factory=dict)
    challenger_error: str = ""
    challenger_micros: float | None = None


@dataclass(frozen=True)
class FeedbackRecord:
    feedback_id: str
    model: str
    label: int
    features: dict[str, Any]
    created_at: str
    prediction_id: str | None = None
    # Provenance: the route it came by (api, dashboard, chat, batch) and the credential's subject.
    source: str = "api"
    subject: str = "anonymous"


@dataclass(frozen=True)
class FeedbackStamp:
    """One feedback item's provenance and label, without its features (what summaries read)."""

    feedback_id: str
    created_at: str
    source: str
    subject: str
    label: int


@dataclass(frozen=True)
class FeedbackCriteria:
    """Which feedback items are selected: every given field must match (None: any).

    ``since`` is inclusive and ``until`` exclusive, both ISO 8601 in UTC.
    """

    subject: str | None = None
    source: str | None = None
    since: str | None = None
    until: str | None = None


@dataclass(frozen=True)
class FeedbackExclusion:
    """Feedback kept out of training by an admin: recorded, and lifted rather than deleted."""

    exclusion_id: str
    model: str
    criteria: FeedbackCriteria
    reason: str
    created_by: str
    created_at: str
    lifted_by: str | None = None
    lifted_at: str | None = None

    @property
    def active(self) -> bool:
        return self.lifted_at is None


@dataclass(frozen=True)
class AppliedExclusion:
    """An active exclusion as one training set met it: how many stored items it held back."""

    exclusion_id: str
    removed: int


@dataclass(frozen=True)
class FeedbackErasure:
    """The audit entry of an erasure request: the subject only as its SHA-256, never in clear."""

    erasure_id: str
    model: str
    subject_sha256: str
    deleted: int
    remaining: int
    reason: str
    requested_by: str
    created_at: str


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
class ChallengerPointer:
    """The version on trial, as the champion alias carries it: one read serves both."""

    version: str
    scorecard_key: str
    scorecard_sha256: str
    mode: Literal["shadow", "canary"]
    fraction: float  # of callers the challenger answers (0 in shadow)
    started_at: str


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
    challenger: ChallengerPointer | None = None


TrialStatus = Literal["active", "promoted", "rolled_back", "expired", "killed", "superseded"]


@dataclass(frozen=True)
class ChallengerTrial:
    """A challenger's trial on live traffic: how it was set up, what was measured, the verdict.

    ``live`` holds the latest live comparison (refreshed by every scheduled run while active);
    ``evidence`` the numbers the final decision was made on, with every guard.
    """

    model: str
    version: str
    champion_version: str
    mode: Literal["shadow", "canary"]
    fraction: float
    started_at: str
    expires_at: str
    min_live_labels: int
    feedback_seq: int  # the model's committed feedback number when the trial began
    started_by: str
    status: TrialStatus = "active"
    decided_at: str = ""
    reason: str = ""
    live: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)


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


@dataclass(frozen=True)
class TokenRevocation:
    """An operator refused a signed token by its id (``jti``) from ``revoked_at`` on."""

    jti: str
    revoked_at: str  # ISO 8601, for people
    revoked_epoch: int  # seconds since the epoch, for the check
    actor: str
    reason: str = ""


@dataclass(frozen=True)
class SecretVersions:
    """The admin secret as stored: the current value and, after a rotation, the previous one.

    ``current_since`` (seconds since the epoch) is when the current value was stored: the
    previous one stays accepted for a grace window from then.
    """

    current: str
    previous: str | None = None
    current_since: float | None = None


@dataclass(frozen=True)
class SecretStaging:
    """A secret's versions as a rotation sees them: each version id with its staging labels
    (``AWSCURRENT``, ``AWSPENDING``, ``AWSPREVIOUS``), and whether rotation is enabled."""

    rotation_enabled: bool
    stages: Mapping[str, tuple[str, ...]]

    def holding(self, stage: str) -> str | None:
        """The id of the version labelled ``stage``; None when no version is."""
        return next((v for v, labels in self.stages.items() if stage in labels), None)


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


# EMR Serverless job run states after which nothing more happens.
SPARK_FINAL_STATES = ("SUCCESS", "FAILED", "CANCELLED")


@dataclass(frozen=True)
class SparkJobFinished:
    """A Spark training job run reached a final state (EventBridge's "EMR Serverless Job Run
    State Change", parsed at the edge)."""

    application_id: str
    job_run_id: str
    state: str  # one of SPARK_FINAL_STATES
    reason: str = ""  # the run's stateDetails, when EMR gives one

    @property
    def succeeded(self) -> bool:
        return self.state == "SUCCESS"


@dataclass(frozen=True)
class UploadedData:
    """An accepted upload's bytes, as a retrain reads them (checked against its SHA-256)."""

    upload_id: str
    sha256: str
    delimiter: str
    payload: bytes
    # Provenance, matched by exclusions like a feedback item's.
    subject: str = "anonymous"
    created_at: str = ""
    source: str = "upload"


@dataclass(frozen=True)
class Candidate:
    """A trained version ready to publish: rendered artifacts, metrics, and how the models it
    must beat scored on the very same held-out rows."""

    model: str
    version: str
    files: Mapping[str, bytes]
    artifacts: Mapping[str, str]  # file name → SHA-256
    metrics: Mapping[str, float]
    comparisons: Mapping[str, Mapping[str, float]]  # e.g. "champion" → its metrics
    threshold: float
    rows_train: int
    extra_rows: int
    data_sha256: str
    lineage: Mapping[str, Any] = field(default_factory=dict)
    # The gate's numbers (training.gate_evidence), measured on the same held-out rows.
    evidence: Mapping[str, Any] = field(default_factory=dict)
    # Candidate and comparators on the held-out share of the feedback (training.feedback_holdout):
    # reported beside the base split, never read by the gate.
    feedback_holdout: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RetrainOutcome:
    model: str
    version: str
    promoted: bool
    reason: str
    metrics: dict[str, float]
    champion_metrics: dict[str, float] | None
    feedback_rows: int
    # The challenger mode it went on trial in ("shadow", "canary"); "" when decided here.
    trial: str = ""
    # A Spark training job was submitted: the version is published when the job completes.
    pending: bool = False


@dataclass(frozen=True)
class StoredModel:
    """A model added at run time: its config and dataset (by SHA-256), who added it and when.

    ``first_job_id`` is the retrain job its first version comes from (derived from the config's
    hash, so a repeated add queues nothing new).
    """

    name: str
    config_sha256: str
    dataset_sha256: str
    dataset_rows: int
    added_by: str
    added_at: str
    first_job_id: str


@dataclass(frozen=True)
class ModelArchival:
    """Who archived a model, when and why: it is no longer served; its versions are kept."""

    name: str
    archived_by: str
    archived_at: str
    reason: str = ""


@dataclass(frozen=True)
class ModelCatalogue:
    """The models added at run time and the archived ones (packaged models may be archived).

    ``revision`` is the store's token for the version read (None: never written); a write
    succeeds only while it is current, so two admins never overwrite each other's change.
    """

    stored: Mapping[str, StoredModel] = field(default_factory=dict)
    archived: Mapping[str, ModelArchival] = field(default_factory=dict)
    revision: str | None = None
