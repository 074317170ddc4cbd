"""Every storage call an admin retrain job makes, in order: the steps
``test_retrain_faults`` fails one at a time (``test_the_steps_are_every_storage_call_of_a_retrain``
proves the list complete)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tests.reliability.storage.faults import Step

Expect = Literal["failed", "redelivered", "succeeded"]


@dataclass(frozen=True)
class RetrainStep:
    step: Step
    what: str
    # failed: the job is marked failed naming the fault; redelivered: the record is reported
    # in batchItemFailures and its redelivery finishes the job; succeeded: outcome unchanged.
    expect: Expect

    @property
    def is_write(self) -> bool:
        return self.step.operation in {
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "TransactWriteItems",
            "PutObject",
        }


def _step(
    service: str, operation: str, target: str, what: str, expect: Expect = "failed", n: int = 1
) -> RetrainStep:
    return RetrainStep(Step(service, operation, target, n), what, expect)


_BEFORE_DECISION = [
    _step("dynamodb", "GetItem", "feedback JOB#", "read the job", "redelivered"),
    _step("dynamodb", "PutItem", "feedback JOB#", "mark the job running", "redelivered"),
    _step("dynamodb", "PutItem", "registry LOCK#retrain", "take the lock"),
    _step("dynamodb", "Query", "registry VERSION#*", "look for the job's version"),
    _step("dynamodb", "GetItem", "feedback COUNTER", "read the pending counter"),
    _step("s3", "GetObject", "datasets/users_behavior.csv.gz", "read the base data"),
    _step("dynamodb", "Query", "feedback EXCLUSION#*", "read the feedback exclusions"),
    # The training snapshot (service.training_snapshot): its manifest (none yet), how much
    # feedback was stored unnumbered (the counter, the uploads' rows), the erasures to apply,
    # the committed feedback number, the pointers up to it and their items, a part, the
    # manifest, then the listing that finds orphan parts (its failure is logged, never the
    # retrain's).
    _step("s3", "GetObject", "snapshots/telecom/manifest.json", "read the snapshot manifest"),
    _step("dynamodb", "GetItem", "feedback COUNTER", "count unnumbered feedback", n=2),
    _step("dynamodb", "Query", "feedback UPLOAD#*", "count the uploads' rows"),
    _step("dynamodb", "Query", "feedback ERASURE#*", "read the erasures"),
    _step("dynamodb", "GetItem", "feedback COUNTER", "read the committed number", n=3),
    _step("dynamodb", "Query", "feedback SEQ#*", "read the feedback numbers"),
    _step("dynamodb", "BatchGetItem", "feedback FEEDBACK#", "read the numbered feedback"),
    _step("s3", "PutObject", "snapshots/telecom/parts/…", "write a snapshot part"),
    _step("s3", "PutObject", "snapshots/telecom/manifest.json", "commit the snapshot manifest"),
    _step(
        "s3",
        "ListObjectsV2",
        "propensity-local-artifactsbucket",
        "list snapshot parts for orphans",
        "succeeded",
    ),
    _step("dynamodb", "Query", "feedback UPLOAD#*", "list the uploads", n=2),
    _step("s3", "GetObject", "uploads/telecom/…", "read an uploaded CSV"),
    _step("dynamodb", "GetItem", "registry ALIAS#champion", "read the champion alias"),
    _step("dynamodb", "Query", "registry PROMOTION#*", "find the approved reference"),
    _step("dynamodb", "GetItem", "registry VERSION#", "read the reference version"),
    _step("s3", "GetObject", "models/telecom/vN/scorecard.json", "read the champion scorecard"),
    _step(
        "s3", "GetObject", "models/telecom/vN/scorecard.json", "read the reference scorecard", n=2
    ),
    _step("dynamodb", "Query", "registry VERSION#*", "number the new version", n=2),
    _step("s3", "PutObject", "models/telecom/vN/scorecard.json", "write scorecard.json"),
    _step("s3", "PutObject", "models/telecom/vN/metrics.json", "write metrics.json"),
    _step("s3", "PutObject", "models/telecom/vN/model.joblib", "write model.joblib"),
    _step("s3", "PutObject", "models/telecom/vN/model_card.md", "write model_card.md"),
    _step("s3", "PutObject", "models/telecom/vN/manifest.json", "write manifest.json"),
    _step("dynamodb", "PutItem", "registry VERSION#", "write the version row"),
]
_PROMOTE = _step(
    "dynamodb",
    "TransactWriteItems",
    "registry ALIAS#champion + registry VERSION# + registry PROMOTION#",
    "promote (alias + status + history)",
)
REJECT = _step("dynamodb", "UpdateItem", "registry VERSION#", "mark the candidate rejected")
_AFTER_DECISION = [
    _step("dynamodb", "UpdateItem", "feedback COUNTER", "consume the pending counter"),
    _step("dynamodb", "DeleteItem", "registry LOCK#retrain", "release the lock", "succeeded"),
    _step("dynamodb", "PutItem", "feedback JOB#", "mark the job done", "redelivered", n=2),
]
STEPS = {
    "promoted": [*_BEFORE_DECISION, _PROMOTE, *_AFTER_DECISION],
    "rejected": [*_BEFORE_DECISION, REJECT, *_AFTER_DECISION],
}
