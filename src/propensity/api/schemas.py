"""Request and response bodies (they also make the OpenAPI document)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
)

from propensity.clock import iso, parse_iso
from propensity.records import FeedbackSource

# Strict, so a value reaches the scorer and the feature checks as sent: lax validation would turn
# ``true`` into 1 in a batch row or a feedback example, which a single prediction refuses (422).
FeatureValue = StrictFloat | StrictInt | StrictStr | None


class Reason(BaseModel):
    feature: str
    value: Any = Field(description="the value scored (imputed values included)")
    contribution: float = Field(
        description="effect on the log-odds relative to the average training row"
    )
    text: str = Field(examples=["poutcome=success +1.91"])


class PredictionOut(BaseModel):
    """One scored row. It also carries ``probability_<target column>`` (e.g.
    ``probability_is_ultra``), the same number as ``probability``, as seed 002's API answered."""

    # Allowed extra: the seed-compatible probability field is named after the model's target.
    model_config = ConfigDict(extra="allow")
    prediction_id: str = Field(description="reference for feedback")
    model: str
    version: str
    probability: float = Field(ge=0, le=1)
    prediction: int = Field(ge=0, le=1)
    label: str
    threshold: float
    timestamp: str
    reasons: list[Reason]
    imputed: list[str] = Field(
        description="features that were missing and filled with training values"
    )
    unknown: list[str] = Field(
        default_factory=list, description="categorical values not seen in training"
    )
    ignored: list[str] = Field(
        default_factory=list, description="unknown fields ignored (lenient mode)"
    )
    logged: bool = Field(
        default=True,
        description="in the prediction log, so feedback may name its prediction_id (always, "
        "except batch rows beyond BATCH_LOG_ROWS: send their features as feedback instead)",
    )
    answered_by: Literal["champion", "challenger"] = Field(
        default="champion",
        description="which model answered: during a canary trial, a sticky share of callers "
        "is answered by the challenger (``version`` names it)",
    )


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: list[dict[str, FeatureValue]] = Field(description="one feature object per row")


class BatchOut(BaseModel):
    model: str
    version: str
    count: int
    predictions: list[PredictionOut]


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prediction_id: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$"
    )
    features: dict[str, FeatureValue] | None = None
    y: int | bool | str = Field(description="the true outcome: 1/0, yes/no or true/false")


class FeedbackOut(BaseModel):
    feedback_id: str
    model: str
    y: int
    prediction_id: str | None
    created_at: str
    source: str = Field(description="the route it came by: api, dashboard, chat or batch")
    subject: str = Field(description="whose credential sent it ('anonymous' when feedback is open)")
    duplicate: bool = Field(
        description="true when this request repeated an earlier one; nothing was stored again"
    )


class FeatureSchema(BaseModel):
    name: str
    type: str
    encoding: str
    range: dict[str, float | bool] | None = None
    categories: list[str] | None = None
    impute: Any = None


class ModelSummary(BaseModel):
    name: str
    title: str
    champion: str | None
    threshold: float | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    status: str = Field(description="serving, or the reason it cannot serve")


class ModelDetail(BaseModel):
    name: str
    title: str
    version: str
    threshold: float
    target: dict[str, str]
    metrics: dict[str, float]
    trained_at: str | None = None
    promoted_at: str
    features: list[FeatureSchema]
    library_versions: dict[str, str] = Field(default_factory=dict)
    chat_examples: list[str] = Field(
        default_factory=list, description="example chat messages, from the model's [chat] config"
    )


class VersionMetrics(BaseModel):
    version: str
    status: str
    created_at: str
    trigger: str
    champion: bool
    reason: str
    metrics: dict[str, float]
    feedback_holdout: dict[str, Any] | None = Field(
        default=None,
        description="the version's numbers on its held-out feedback (reported, not gated)",
    )
    gate: dict[str, Any] | None = Field(
        default=None,
        description="the gate's decision: every failed guard (value, limit, comparator) and the "
        "first passed ones, with counts (all of them: GET /models/{model}/versions)",
    )


class MetricsHistory(BaseModel):
    model: str
    champion: str | None
    versions: list[VersionMetrics]


class Health(BaseModel):
    status: str
    service: str = "propensity"
    version: str


# --- admin: feedback provenance, exclusions, erasure


def _iso_time(text: str) -> str:
    moment = parse_iso(text)
    if moment is None:
        raise ValueError("not an ISO 8601 date or time (e.g. 2026-01-15T09:30:00Z)")
    return iso(moment)


# An ISO 8601 time, answered in the canonical UTC form; a date alone is its midnight (UTC).
IsoTime = Annotated[str, StringConstraints(max_length=40), AfterValidator(_iso_time)]
Subject = Annotated[str, StringConstraints(min_length=1, max_length=256)]
AuditReason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
    Field(description="why (kept in the audit trail)"),
]


class FeedbackSourceCount(BaseModel):
    subject: str = Field(description="the credential's subject that sent it")
    source: str = Field(description="the route it came by: api, dashboard, chat, batch, upload")
    items: int
    positives: int
    first_at: str
    last_at: str


class FeedbackSourcesOut(BaseModel):
    model: str
    total: int
    sources: list[FeedbackSourceCount]


class FeedbackCriteriaOut(BaseModel):
    subject: str | None = None
    source: str | None = None
    since: str | None = Field(default=None, description="inclusive, UTC")
    until: str | None = Field(default=None, description="exclusive, UTC")


class StoredFeedbackOut(BaseModel):
    feedback_id: str
    created_at: str
    source: str
    subject: str
    y: int
    prediction_id: str | None
    features: dict[str, Any]


class FeedbackListOut(BaseModel):
    model: str
    criteria: FeedbackCriteriaOut
    matching: int = Field(description="stored items the criteria match")
    count: int = Field(description="items listed here (newest first, up to limit)")
    items: list[StoredFeedbackOut]


class ExclusionIn(BaseModel):
    """Feedback to keep out of training: at least one criterion; every given one must match."""

    model_config = ConfigDict(extra="forbid")
    subject: Subject | None = None
    source: FeedbackSource | None = None
    since: IsoTime | None = Field(default=None, description="inclusive")
    until: IsoTime | None = Field(default=None, description="exclusive; later than since")
    reason: AuditReason


class ExclusionOut(BaseModel):
    exclusion_id: str
    model: str
    criteria: FeedbackCriteriaOut
    reason: str
    created_by: str
    created_at: str
    active: bool
    lifted_by: str | None
    lifted_at: str | None
    matches_now: int = Field(description="stored items it matches now")


class ExclusionsOut(BaseModel):
    model: str
    active: int
    exclusions: list[ExclusionOut]


class ErasureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: Subject = Field(description="whose feedback to delete (every item of it)")
    reason: AuditReason


class ErasureOut(BaseModel):
    erasure_id: str
    model: str
    subject_sha256: str = Field(description="the audit keeps the subject only as its SHA-256")
    deleted: int
    remaining: int = Field(description="still stored: repeat the request to delete them")
    reason: str
    requested_by: str
    created_at: str


class ErasuresOut(BaseModel):
    model: str
    erasures: list[ErasureOut]


# --- error bodies (api/errors.py renders them; documented so clients and fuzzers can rely on them)


class ErrorOut(BaseModel):
    detail: str = Field(description="what went wrong")
    request_id: str | None = Field(
        default=None, description="server-side failures only: quote it when reporting"
    )


class ValidationIssue(BaseModel):
    loc: list[str | int] = Field(description="where: body/query/path/header, then the field")
    msg: str
    type: str


class ValidationErrorOut(BaseModel):
    detail: list[ValidationIssue]
    field: str | None = Field(default=None, description="the field at fault, dotted")
    reason: str | None = None


class DatasetProblemOut(BaseModel):
    row: int | None
    column: str | None
    reason: str


class DatasetErrorOut(BaseModel):
    detail: str = Field(description="the file, the first row and column at fault, the reason")
    row: int | None
    column: str | None
    reason: str
    problems: list[DatasetProblemOut] = Field(description="every problem found (up to 20)")


_ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "the body could not be parsed (malformed JSON or multipart, not UTF-8)",
    401: "missing, wrong or expired admin credential",
    403: "the credential does not cover this model",
    404: "unknown model, or no such record for this model",
    409: "conflicts with the current state (a repeat with other data, a lost race)",
    410: "the model was archived: no longer served (who archived it, when and why)",
    413: "more rows than the batch limit, or a part larger than the route takes inline",
    422: "invalid input: names the field and the reason",
    503: "the model or a storage dependency is unavailable; retry later",
}


def error_responses(*statuses: int, dataset: bool = False) -> dict[int | str, dict[str, Any]]:
    """The documented error answers of a route (``dataset``: 422 may also be a file's problems)."""
    responses: dict[int | str, dict[str, Any]] = {}
    # Wherever an unknown model is a 404, an archived one is a 410.
    for status in (*statuses, 410) if 404 in statuses else statuses:
        model: Any = ErrorOut
        if status == 422:
            model = ValidationErrorOut | DatasetErrorOut if dataset else ValidationErrorOut
        responses[status] = {"model": model, "description": _ERROR_DESCRIPTIONS[status]}
    return responses
