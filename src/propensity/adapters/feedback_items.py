"""The feedback table's items as plain values and back: feedback, exclusions, retrain jobs.

The key layout (sort key ``item``) is the adapters' business alone. A feedback item
``FEEDBACK#<id>`` carries the per-model sequence number ``seq`` it was committed with, and
``SEQ#<seq, 20 digits>`` points back at it: sort keys in commit order, so a training snapshot
queries only the items after its watermark (the ids are hashes or UUIDs, in no order).
"""

from __future__ import annotations

import json
from typing import Any

from propensity.adapters import dynamo
from propensity.records import (
    FeedbackCriteria,
    FeedbackExclusion,
    FeedbackRecord,
    RetrainJob,
)

COUNTER = "COUNTER"
JOB_PREFIX = "JOB#"
UPLOAD_PREFIX = "UPLOAD#"
FEEDBACK_PREFIX = "FEEDBACK#"
SEQUENCE_PREFIX = "SEQ#"
EXCLUSION_PREFIX = "EXCLUSION#"
ERASURE_PREFIX = "ERASURE#"


def sequence_key(seq: int) -> str:
    """The sort key of feedback number ``seq``: zero-padded, so text order is number order."""
    return f"{SEQUENCE_PREFIX}{seq:020d}"


def feedback_item(record: FeedbackRecord, *, seq: int, expires_at: int | None) -> dict[str, Any]:
    return dynamo.to_item(
        {
            "model": record.model,
            "item": FEEDBACK_PREFIX + record.feedback_id,
            "feedback_id": record.feedback_id,
            "seq": seq,
            "label": record.label,
            "features": dynamo.dumps(record.features),
            "created_at": record.created_at,
            "prediction_id": record.prediction_id,
            "source": record.source,
            "subject": record.subject,
            "expires_at": expires_at,
        }
    )


def sequence_item(
    model: str, feedback_id: str, *, seq: int, expires_at: int | None
) -> dict[str, Any]:
    """The pointer from feedback number ``seq`` to its item; it expires with it."""
    return dynamo.to_item(
        {
            "model": model,
            "item": sequence_key(seq),
            "feedback_id": feedback_id,
            "seq": seq,
            "expires_at": expires_at,
        }
    )


def exclusion_item(exclusion: FeedbackExclusion) -> dict[str, Any]:
    criteria = exclusion.criteria
    return dynamo.to_item(
        {
            "model": exclusion.model,
            "item": EXCLUSION_PREFIX + exclusion.exclusion_id,
            "exclusion_id": exclusion.exclusion_id,
            "subject": criteria.subject,
            "source": criteria.source,
            "since": criteria.since,
            "until": criteria.until,
            "reason": exclusion.reason,
            "created_by": exclusion.created_by,
            "created_at": exclusion.created_at,
            "lifted_by": exclusion.lifted_by,
            "lifted_at": exclusion.lifted_at,
        }
    )


def exclusion_from_item(values: dict[str, Any]) -> FeedbackExclusion:
    return FeedbackExclusion(
        exclusion_id=values["exclusion_id"],
        model=values["model"],
        criteria=FeedbackCriteria(
            subject=values.get("subject"),
            source=values.get("source"),
            since=values.get("since"),
            until=values.get("until"),
        ),
        reason=values.get("reason", ""),
        created_by=values.get("created_by", ""),
        created_at=values.get("created_at", ""),
        lifted_by=values.get("lifted_by"),
        lifted_at=values.get("lifted_at"),
    )


def job_from_item(values: dict[str, Any]) -> RetrainJob:
    return RetrainJob(
        job_id=values["job_id"],
        model=values["model"],
        status=values["status"],
        requested_at=values["requested_at"],
        requested_by=values.get("requested_by", ""),
        updated_at=values.get("updated_at", ""),
        version=values.get("version"),
        promoted=values.get("promoted"),
        reason=values.get("reason", ""),
    )


def job_item(job: RetrainJob) -> dict[str, Any]:
    return dynamo.to_item(
        {
            "model": job.model,
            "item": JOB_PREFIX + job.job_id,
            "job_id": job.job_id,
            "status": job.status,
            "requested_at": job.requested_at,
            "requested_by": job.requested_by,
            "updated_at": job.updated_at,
            "version": job.version,
            "promoted": job.promoted,
            "reason": job.reason,
        }
    )


def feedback_from_item(item: dict[str, Any]) -> FeedbackRecord:
    return FeedbackRecord(
        feedback_id=item["feedback_id"],
        model=item["model"],
        label=int(item["label"]),
        features=json.loads(item["features"]),
        created_at=item["created_at"],
        prediction_id=item.get("prediction_id"),
        source=item.get("source", "api"),
        subject=item.get("subject", "anonymous"),
    )
