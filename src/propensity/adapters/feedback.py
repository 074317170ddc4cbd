"""Labelled feedback in DynamoDB, with the per-model counter the retrain stream watches.

Items: ``FEEDBACK#<id>`` (one labelled example), ``SEQ#<n>`` (a pointer to feedback number n)
and ``COUNTER`` (``pending`` since the last training, ``total``, and ``seq``: the highest
feedback number committed). A feedback item, its pointer and its counter increment are written
in one transaction that fails when the id exists, so a retried request is stored and counted
once, and that holds only while the counter's ``seq`` is still the one read: numbers commit in
order, without gaps, and a training snapshot reads only those above its watermark
(``adapters.feedback_log``). Admins'
``EXCLUSION#<id>`` (feedback kept out of training) and ``ERASURE#<id>`` (an erasure's audit
entry) live beside them; ``adapters.feedback_curation`` writes those and deletes feedback.

With a retention period, a feedback item carries ``expires_at`` (epoch seconds: its
``created_at`` plus the period), the table's TTL attribute; no other item has one, so counters,
jobs, uploads, exclusions and erasure audits never expire.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from propensity.adapters import dynamo
from propensity.adapters.errors import error_code, translate
from propensity.adapters.feedback_items import (
    COUNTER,
    ERASURE_PREFIX,
    EXCLUSION_PREFIX,
    FEEDBACK_PREFIX,
    JOB_PREFIX,
    UPLOAD_PREFIX,
    exclusion_from_item,
    exclusion_item,
    feedback_from_item,
    feedback_item,
    job_from_item,
    job_item,
    sequence_item,
)
from propensity.errors import NotFoundError, StorageError
from propensity.records import (
    FeedbackCounted,
    FeedbackExclusion,
    FeedbackRecord,
    RetrainEvent,
    RetrainJob,
    RetrainJobQueued,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Re-exported: the curation adapter and tests name them from here.
__all__ = [
    "ERASURE_PREFIX",
    "EXCLUSION_PREFIX",
    "FEEDBACK_PREFIX",
    "DynamoFeedbackStore",
    "exclusion_from_item",
    "exclusion_item",
    "feedback_from_item",
    "parse_stream_keys",
    "query_prefix",
]
# DynamoDB cancels a transaction that meets another one on the same item (every write here
# touches the model's counter) with reason TransactionConflict; the SDK does not retry that.
# Feedback also loses when another item took the next sequence number first (its condition on
# the counter fails): it reads the counter again and retries, so concurrent writers take turns.
CONFLICT_ATTEMPTS = 12
CONFLICT_BACKOFF_SECONDS = 0.02
CONFLICT_BACKOFF_MAX_SECONDS = 0.5


class DynamoFeedbackStore:
    def __init__(
        self, table: str, client: DynamoDBClient | None = None, *, retention_days: int = 0
    ) -> None:
        self.table = table
        self._db = client or dynamo.client()
        self.retention_days = retention_days

    def _key(self, model: str, item: str) -> dict[str, Any]:
        return {"model": {"S": model}, "item": {"S": item}}

    def _put_and_count(
        self,
        model: str,
        puts: Callable[[int], list[dict[str, Any]]],
        rows: int,
        where: str,
        *,
        numbered: bool = False,
    ) -> bool:
        """Put new items and add ``rows`` to the counter, atomically; False if the first existed.

        ``puts(seq)`` builds the items; ``numbered``: they are feedback number ``seq``, the
        counter's ``seq`` plus one, and the transaction holds only while the counter is still at
        ``seq - 1``, so numbers are committed in order, with no gaps. A transaction cancelled
        because another one was writing the counter at the same moment, or took that number
        first, is retried with jittered backoff: concurrent feedback is all stored and counted.
        """
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            last = committed_sequence(self._db, self.table, model) if numbered else None
            number = 0 if last is None else last + 1
            writes: list[Any] = [{"Put": self._new(item)} for item in puts(number)]
            writes.append({"Update": self._count(model, rows, last)})
            try:
                self._db.transact_write_items(TransactItems=writes)
            except ClientError as exc:
                if error_code(exc) == "TransactionCanceledException":
                    if _first_failed_condition(exc):
                        return False
                    if _retriable(exc, numbered) and attempt < CONFLICT_ATTEMPTS:
                        _backoff(attempt)
                        continue
                raise translate(exc, where) from exc
            except BotoCoreError as exc:
                raise translate(exc, where) from exc
            return True
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _new(self, item: dict[str, Any]) -> dict[str, Any]:
        return {
            "TableName": self.table,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(#i)",
            "ExpressionAttributeNames": {"#i": "item"},
        }

    def _count(self, model: str, rows: int, last: int | None) -> dict[str, Any]:
        """The counter's update; with ``last``, it also takes the next number, if still free."""
        names = {"#t": "total"}
        values = {":n": {"N": str(rows)}, ":at": {"S": _now()}}
        update: dict[str, Any] = {
            "TableName": self.table,
            "Key": self._key(model, COUNTER),
            "UpdateExpression": "ADD pending :n, #t :n SET updated_at = :at",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if last is not None:
            update["UpdateExpression"] += ", #s = :next"
            names["#s"] = "seq"
            values[":next"] = {"N": str(last + 1)}
            update["ConditionExpression"] = "attribute_not_exists(#s)"
            if last:
                update["ConditionExpression"] = "#s = :last"
                values[":last"] = {"N": str(last)}
        return update

    def add(self, record: FeedbackRecord) -> tuple[FeedbackRecord, bool]:
        expires = self._expiry(record.created_at)

        def numbered(seq: int) -> list[dict[str, Any]]:
            return [
                feedback_item(record, seq=seq, expires_at=expires),
                sequence_item(record.model, record.feedback_id, seq=seq, expires_at=expires),
            ]

        where = f"feedback {record.model}/{record.feedback_id}"
        if not self._put_and_count(record.model, numbered, 1, where, numbered=True):
            return self.get(record.model, record.feedback_id), False
        return record, True

    def _expiry(self, created_at: str) -> int | None:
        """When DynamoDB may delete a feedback item: from its own timestamp, so a retried write
        stores the same value; None (no attribute, kept) without a retention period."""
        if self.retention_days <= 0:
            return None
        created = datetime.fromisoformat(created_at)
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        return int(created.timestamp()) + self.retention_days * 86_400

    def get(self, model: str, feedback_id: str) -> FeedbackRecord:
        try:
            response = self._db.get_item(
                TableName=self.table,
                Key=self._key(model, FEEDBACK_PREFIX + feedback_id),
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"feedback {model}/{feedback_id}") from exc
        item = response.get("Item")
        if not item:
            raise StorageError(f"feedback {model}/{feedback_id} vanished after a duplicate write")
        return feedback_from_item(dynamo.from_item(item))

    def _items(self, model: str, prefix: str, what: str) -> list[dict[str, Any]]:
        return query_prefix(self._db, self.table, model, prefix, what)

    def list_for_model(self, model: str) -> list[FeedbackRecord]:
        return [feedback_from_item(i) for i in self._items(model, FEEDBACK_PREFIX, "feedback")]

    def list_exclusions(self, model: str) -> list[FeedbackExclusion]:
        items = self._items(model, EXCLUSION_PREFIX, "feedback exclusions")
        return [exclusion_from_item(i) for i in items]

    def pending(self, model: str) -> int:
        try:
            response = self._db.get_item(
                TableName=self.table, Key=self._key(model, COUNTER), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"feedback counter of {model}") from exc
        item = response.get("Item")
        return int(dynamo.from_item(item).get("pending", 0)) if item else 0

    def consume(self, model: str, count: int) -> None:
        """Take ``count`` off the pending counter once a version trained on them is written.

        Feedback that arrived during training stays pending, so it triggers the next retrain.
        """
        if count <= 0:
            return
        try:
            self._db.update_item(
                TableName=self.table,
                Key=self._key(model, COUNTER),
                UpdateExpression="ADD pending :minus SET trained_at = :at",
                ExpressionAttributeValues={":minus": {"N": str(-count)}, ":at": {"S": _now()}},
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"feedback counter of {model}") from exc

    def add_upload(self, model: str, upload_id: str, description: dict[str, Any]) -> bool:
        """The upload item and its rows added to the counter, in one conditional transaction."""
        rows = int(description["rows"])
        item = dynamo.to_item(
            {
                "model": model,
                "item": UPLOAD_PREFIX + upload_id,
                "upload_id": upload_id,
                **description,
            }
        )
        return self._put_and_count(model, lambda _: [item], rows, f"upload {model}/{upload_id}")

    def list_uploads(self, model: str) -> list[dict[str, Any]]:
        return self._items(model, UPLOAD_PREFIX, "uploads")

    def put_job(self, job: RetrainJob) -> None:
        try:
            self._db.put_item(
                TableName=self.table,
                Item=job_item(job),
                ConditionExpression="attribute_not_exists(#i)",
                ExpressionAttributeNames={"#i": "item"},
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"retrain job {job.model}/{job.job_id}") from exc

    def update_job(self, job: RetrainJob) -> None:
        try:
            self._db.put_item(
                TableName=self.table,
                Item=job_item(job),
                ConditionExpression="attribute_exists(#i)",
                ExpressionAttributeNames={"#i": "item"},
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"retrain job {job.model}/{job.job_id}") from exc

    def get_job(self, model: str, job_id: str) -> RetrainJob:
        try:
            response = self._db.get_item(
                TableName=self.table, Key=self._key(model, JOB_PREFIX + job_id), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"retrain job {model}/{job_id}") from exc
        item = response.get("Item")
        if not item:
            raise NotFoundError(f"model {model!r} has no retrain job {job_id!r}")
        return job_from_item(dynamo.from_item(item))

    def list_jobs(self, model: str) -> list[RetrainJob]:
        return [job_from_item(i) for i in self._items(model, JOB_PREFIX, "retrain jobs")]


def query_prefix(
    db: DynamoDBClient,
    table: str,
    model: str,
    prefix: str,
    what: str,
    *,
    attributes: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Every item of ``model`` whose sort key starts with ``prefix`` (consistent read); only
    ``attributes`` of each when given."""
    names = {"#m": "model", "#i": "item"}
    projection: dict[str, Any] = {}
    if attributes:
        wanted = {f"#a{n}": name for n, name in enumerate(attributes)}
        names.update(wanted)
        projection = {"ProjectionExpression": ", ".join(wanted)}
    try:
        return list(
            dynamo.query_all(
                db,
                TableName=table,
                KeyConditionExpression="#m = :m AND begins_with(#i, :p)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={":m": {"S": model}, ":p": {"S": prefix}},
                ConsistentRead=True,
                **projection,
            )
        )
    except (ClientError, BotoCoreError) as exc:
        raise translate(exc, f"{what} of {model}") from exc


def parse_stream_keys(keys: dict[str, Any]) -> RetrainEvent | None:
    """The typed event a stream record of this table stands for (None: nothing to do).

    ``keys`` are the record's ``Keys`` as plain values (``{"model": "bank", "item": "COUNTER"}``).
    Only the counter and jobs mean anything: feedback items, uploads, exclusions and erasure
    audits (and the REMOVE records of erased feedback, which carry the same keys) do not.
    """
    model, item = keys.get("model"), keys.get("item")
    if not isinstance(model, str) or not isinstance(item, str) or not model:
        return None
    if item == COUNTER:
        return FeedbackCounted(model)
    if item.startswith(JOB_PREFIX) and len(item) > len(JOB_PREFIX):
        return RetrainJobQueued(model, item.removeprefix(JOB_PREFIX))
    return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _first_failed_condition(exc: ClientError) -> bool:
    reasons: list[Any] = list(exc.response.get("CancellationReasons", []))
    return bool(reasons) and reasons[0].get("Code") == "ConditionalCheckFailed"


def _conflicted(exc: ClientError) -> bool:
    reasons: list[Any] = list(exc.response.get("CancellationReasons", []))
    return any(r.get("Code") == "TransactionConflict" for r in reasons)


def _retriable(exc: ClientError, numbered: bool) -> bool:
    """Another writer was on the counter (a conflict), or took the next number first (the
    counter's condition, the transaction's last item, failed)."""
    reasons: list[Any] = list(exc.response.get("CancellationReasons", []))
    taken = numbered and bool(reasons) and reasons[-1].get("Code") == "ConditionalCheckFailed"
    return taken or _conflicted(exc)


def _backoff(attempt: int) -> None:
    delay = min(CONFLICT_BACKOFF_SECONDS * 2**attempt, CONFLICT_BACKOFF_MAX_SECONDS)
    time.sleep(random.uniform(delay / 2, delay))  # noqa: S311 (jitter)


def committed_sequence(db: DynamoDBClient, table: str, model: str) -> int:
    """The model's highest committed feedback number (0: none yet), read consistently."""
    try:
        response = db.get_item(
            TableName=table,
            Key={"model": {"S": model}, "item": {"S": COUNTER}},
            ConsistentRead=True,
            ProjectionExpression="#s",
            ExpressionAttributeNames={"#s": "seq"},
        )
    except (ClientError, BotoCoreError) as exc:
        raise translate(exc, f"feedback counter of {model}") from exc
    value = response.get("Item", {}).get("seq", {}).get("N")
    return int(value) if value else 0
