"""Admins' side of the feedback table: provenance listings, exclusions, erasure.

The key layout is ``adapters.feedback``'s (this module uses its prefixes). Erased items are
deleted with BatchWriteItem, each with its ``SEQ#`` pointer; their stream records are REMOVEs
of ``FEEDBACK#`` and ``SEQ#`` keys, which the retrain function's event filter drops (and
``parse_stream_keys`` ignores): erasure never triggers a retrain, and the pending counter is
left as it is. The rows leave the training snapshot at the next retrain, which reads the
erasure's audit entry (``service.training_snapshot``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from propensity.adapters import dynamo
from propensity.adapters.batch_reads import BATCH_GET, UNPROCESSED_ATTEMPTS, backoff, batch_get
from propensity.adapters.errors import error_code, translate
from propensity.adapters.feedback import (
    ERASURE_PREFIX,
    EXCLUSION_PREFIX,
    FEEDBACK_PREFIX,
    exclusion_from_item,
    exclusion_item,
    feedback_from_item,
    query_prefix,
)
from propensity.adapters.feedback_items import sequence_key
from propensity.errors import NotFoundError, StorageError
from propensity.records import FeedbackErasure, FeedbackExclusion, FeedbackRecord, FeedbackStamp

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

STAMP_ATTRIBUTES = ("feedback_id", "created_at", "source", "subject", "label")
BATCH_WRITE = 25  # DynamoDB's BatchWriteItem limit


class DynamoFeedbackCuration:
    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        self.table = table
        self._db = client or dynamo.client()

    def _key(self, model: str, item: str) -> dict[str, Any]:
        return {"model": {"S": model}, "item": {"S": item}}

    # --- provenance -----------------------------------------------------------------------

    def stamps(self, model: str) -> list[FeedbackStamp]:
        items = query_prefix(
            self._db, self.table, model, FEEDBACK_PREFIX, "feedback", attributes=STAMP_ATTRIBUTES
        )
        return [
            FeedbackStamp(
                feedback_id=i["feedback_id"],
                created_at=i.get("created_at", ""),
                source=i.get("source", "api"),
                subject=i.get("subject", "anonymous"),
                label=int(i["label"]),
            )
            for i in items
        ]

    def get_many(self, model: str, feedback_ids: Sequence[str]) -> list[FeedbackRecord]:
        return [
            feedback_from_item(dynamo.from_item(item))
            for item in self._batch_get(model, feedback_ids)
        ]

    def _batch_get(
        self, model: str, feedback_ids: Sequence[str], attributes: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """The stored feedback items of those ids (only ``attributes`` when given), raw."""
        keys = [self._key(model, FEEDBACK_PREFIX + i) for i in feedback_ids]
        return list(
            batch_get(self._db, self.table, keys, f"feedback of {model}", projection=attributes)
        )

    # --- exclusions -----------------------------------------------------------------------

    def list_exclusions(self, model: str) -> list[FeedbackExclusion]:
        items = query_prefix(self._db, self.table, model, EXCLUSION_PREFIX, "feedback exclusions")
        return [exclusion_from_item(i) for i in items]

    def put_exclusion(self, exclusion: FeedbackExclusion) -> None:
        try:
            self._db.put_item(
                TableName=self.table,
                Item=exclusion_item(exclusion),
                ConditionExpression="attribute_not_exists(#i)",
                ExpressionAttributeNames={"#i": "item"},
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"exclusion {exclusion.model}/{exclusion.exclusion_id}") from exc

    def lift_exclusion(
        self, model: str, exclusion_id: str, *, lifted_by: str, lifted_at: str
    ) -> FeedbackExclusion:
        where = f"exclusion {model}/{exclusion_id}"
        try:
            response = self._db.update_item(
                TableName=self.table,
                Key=self._key(model, EXCLUSION_PREFIX + exclusion_id),
                UpdateExpression="SET lifted_by = :by, lifted_at = :at",
                ConditionExpression="attribute_exists(#i) AND attribute_not_exists(lifted_at)",
                ExpressionAttributeNames={"#i": "item"},
                ExpressionAttributeValues={":by": {"S": lifted_by}, ":at": {"S": lifted_at}},
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise translate(exc, where) from exc
            return self._lifted_already(model, exclusion_id)
        except BotoCoreError as exc:
            raise translate(exc, where) from exc
        return exclusion_from_item(dynamo.from_item(response["Attributes"]))

    def _lifted_already(self, model: str, exclusion_id: str) -> FeedbackExclusion:
        """After a failed condition: no such exclusion (404), or one lifted before (as is)."""
        try:
            response = self._db.get_item(
                TableName=self.table,
                Key=self._key(model, EXCLUSION_PREFIX + exclusion_id),
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"exclusion {model}/{exclusion_id}") from exc
        item = response.get("Item")
        if not item:
            raise NotFoundError(f"model {model!r} has no feedback exclusion {exclusion_id!r}")
        return exclusion_from_item(dynamo.from_item(item))

    # --- erasure --------------------------------------------------------------------------

    def delete_feedback(self, model: str, feedback_ids: Sequence[str]) -> int:
        """Each item and its ``SEQ#`` pointer (read first: the number is in the item)."""
        for start in range(0, len(feedback_ids), BATCH_GET):
            chunk = feedback_ids[start : start + BATCH_GET]
            numbers = [
                int(i["seq"]["N"]) for i in self._batch_get(model, chunk, ["seq"]) if "seq" in i
            ]
            keys = [FEEDBACK_PREFIX + i for i in chunk] + [sequence_key(n) for n in numbers]
            for first in range(0, len(keys), BATCH_WRITE):
                self._delete(model, keys[first : first + BATCH_WRITE])
        return len(feedback_ids)

    def _delete(self, model: str, items: Sequence[str]) -> None:
        request: dict[str, Any] = {
            self.table: [{"DeleteRequest": {"Key": self._key(model, i)}} for i in items]
        }
        for attempt in range(1, UNPROCESSED_ATTEMPTS + 1):
            try:
                response = self._db.batch_write_item(RequestItems=request)
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc, f"feedback of {model}") from exc
            request = dict(response.get("UnprocessedItems") or {})
            if not request:
                return
            if attempt == UNPROCESSED_ATTEMPTS:
                raise StorageError(f"feedback of {model}: deletes left unprocessed")
            backoff(attempt)

    def put_erasure(self, erasure: FeedbackErasure) -> None:
        item = dynamo.to_item(
            {
                "model": erasure.model,
                "item": ERASURE_PREFIX + erasure.erasure_id,
                "erasure_id": erasure.erasure_id,
                "subject_sha256": erasure.subject_sha256,
                "deleted": erasure.deleted,
                "remaining": erasure.remaining,
                "reason": erasure.reason,
                "requested_by": erasure.requested_by,
                "created_at": erasure.created_at,
            }
        )
        try:
            self._db.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(#i)",
                ExpressionAttributeNames={"#i": "item"},
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"erasure {erasure.model}/{erasure.erasure_id}") from exc

    def list_erasures(self, model: str) -> list[FeedbackErasure]:
        items = query_prefix(self._db, self.table, model, ERASURE_PREFIX, "feedback erasures")
        return [
            FeedbackErasure(
                erasure_id=i["erasure_id"],
                model=i["model"],
                subject_sha256=i["subject_sha256"],
                deleted=int(i["deleted"]),
                remaining=int(i.get("remaining", 0)),
                reason=i.get("reason", ""),
                requested_by=i.get("requested_by", ""),
                created_at=i.get("created_at", ""),
            )
            for i in items
        ]
