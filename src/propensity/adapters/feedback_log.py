"""Feedback in commit order, page by page into columns: what a training snapshot appends from.

``SEQ#<n>`` items point at feedback number n (``adapters.feedback_items``); a Query with a key
condition on them reads exactly the numbers after a watermark, then BatchGetItem reads those
feedback items (consistently: an item committed is an item read). Items are parsed straight
from DynamoDB's wire format into ``FeedbackColumns``, one page at a time: memory is bounded by
a page (1 MB of pointers, at most a few thousand feedback items), not by the table.

``reads`` counts what was read (items and the read capacity DynamoDB reports), for the
retrain's lineage and the scale benchmark.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from propensity.adapters import dynamo
from propensity.adapters.batch_reads import batch_get
from propensity.adapters.errors import translate
from propensity.adapters.feedback import committed_sequence
from propensity.adapters.feedback_curation import DynamoFeedbackCuration
from propensity.adapters.feedback_items import (
    COUNTER,
    FEEDBACK_PREFIX,
    UPLOAD_PREFIX,
    sequence_key,
)
from propensity.columns import FeedbackColumns
from propensity.records import FeedbackErasure

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Sequence numbers per Query: a few thousand pointers (well under a 1 MB page) per request.
SEQUENCE_WINDOW = 2_000
WINDOWS_IN_FLIGHT = 4


@dataclass
class ReadTally:
    items: int = 0  # items DynamoDB returned (pointers and feedback)
    capacity: float = 0.0  # read capacity units it reports consumed
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, response: Any, items: int) -> None:
        consumed = response.get("ConsumedCapacity")
        units = sum(
            float(entry.get("CapacityUnits", 0.0))
            for entry in (
                consumed if isinstance(consumed, list) else [consumed] if consumed else []
            )
        )
        with self._lock:  # windows are read from several threads
            self.items += items
            self.capacity += units


def _s(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return None if value is None else str(value.get("S"))


def _n(item: dict[str, Any], name: str) -> int | None:
    value = item.get(name)
    return None if value is None or "N" not in value else int(value["N"])


def append_item(columns: FeedbackColumns, item: dict[str, Any]) -> None:
    """One feedback item, in DynamoDB's wire format, as a row of ``columns``."""
    columns.append(
        {
            "feedback_id": _s(item, "feedback_id"),
            "seq": _n(item, "seq"),
            "label": _n(item, "label"),
            "created_at": _s(item, "created_at") or "",
            "source": _s(item, "source") or "api",
            "subject": _s(item, "subject") or "anonymous",
            "prediction_id": _s(item, "prediction_id"),
            "expires_at": _n(item, "expires_at"),
        },
        json.loads(_s(item, "features") or "{}"),
    )


class DynamoFeedbackLog:
    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        self.table = table
        self._db = client or dynamo.client()
        self.reads = ReadTally()

    def committed(self, model: str) -> int:
        return committed_sequence(self._db, self.table, model)

    def _pages(
        self, model: str, where: str, condition: str, values: dict[str, Any]
    ) -> Iterator[list[dict[str, Any]]]:
        paginator = self._db.get_paginator("query")
        try:
            for page in paginator.paginate(
                TableName=self.table,
                KeyConditionExpression=condition,
                ExpressionAttributeNames={"#m": "model", "#i": "item"},
                ExpressionAttributeValues={":m": {"S": model}, **values},
                ConsistentRead=True,
                ReturnConsumedCapacity="TOTAL",
            ):
                items: list[Any] = list(page.get("Items", []))
                self.reads.add(page, len(items))
                yield items
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"{where} of {model}") from exc

    def read_after(self, model: str, after: int, upto: int) -> Iterator[FeedbackColumns]:
        if upto <= after:
            return
        windows = [
            (first, min(upto, first + SEQUENCE_WINDOW - 1))
            for first in range(after + 1, upto + 1, SEQUENCE_WINDOW)
        ]
        if len(windows) == 1:
            yield from self._window(model, *windows[0])
            return
        # A few windows in flight, yielded in number order: each request is a round trip, so
        # a first snapshot read one window at a time waits on every one in turn. At most
        # WINDOWS_IN_FLIGHT windows are held, so memory stays bounded by them.
        with ThreadPoolExecutor(WINDOWS_IN_FLIGHT, thread_name_prefix="feedback-log") as pool:
            pending: deque[Future[list[FeedbackColumns]]] = deque()
            for window in windows:
                pending.append(pool.submit(self._window, model, *window))
                if len(pending) == WINDOWS_IN_FLIGHT:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()

    def _window(self, model: str, first: int, last: int) -> list[FeedbackColumns]:
        """Numbers ``first``..``last``: one bounded key range per query rather than one range
        paged through. The same items and read units, and an engine that materialises the rest
        of a range for every page (DynamoDB Local does) reads each item once, not once per page
        before it."""
        condition = "#m = :m AND #i BETWEEN :lo AND :hi"
        values = {":lo": {"S": sequence_key(first)}, ":hi": {"S": sequence_key(last)}}
        return [
            self._pointed(model, pointers)
            for pointers in self._pages(model, "feedback numbers", condition, values)
        ]

    def _pointed(self, model: str, pointers: list[dict[str, Any]]) -> FeedbackColumns:
        ids = [str(p["feedback_id"]["S"]) for p in pointers]
        found = {str(item["feedback_id"]["S"]): item for item in self._get_many(model, ids)}
        columns = FeedbackColumns()
        for feedback_id in ids:  # in number order; erased or expired since: left out
            if feedback_id in found:
                append_item(columns, found[feedback_id])
        return columns

    def read_all(self, model: str, upto: int) -> Iterator[FeedbackColumns]:
        values = {":p": {"S": FEEDBACK_PREFIX}}
        condition = "#m = :m AND begins_with(#i, :p)"
        for items in self._pages(model, "feedback", condition, values):
            columns = FeedbackColumns()
            for item in items:
                # Numbered after ``upto``: committed while this ran, read by the next refresh.
                if (_n(item, "seq") or 0) <= upto:
                    append_item(columns, item)
            yield columns

    def _get_many(self, model: str, feedback_ids: Sequence[str]) -> Iterator[dict[str, Any]]:
        keys = [{"model": {"S": model}, "item": {"S": FEEDBACK_PREFIX + i}} for i in feedback_ids]
        return batch_get(
            self._db,
            self.table,
            keys,
            f"feedback of {model}",
            on_response=self.reads.add,
            ReturnConsumedCapacity="TOTAL",
        )

    def list_erasures(self, model: str) -> list[FeedbackErasure]:
        return DynamoFeedbackCuration(self.table, self._db).list_erasures(model)

    def unnumbered(self, model: str) -> int:
        """The counter's ``total`` (every feedback item and upload row ever counted) less its
        ``seq`` (the numbered items) less the rows of the accepted uploads."""
        try:
            counter = self._db.get_item(
                TableName=self.table,
                Key={"model": {"S": model}, "item": {"S": COUNTER}},
                ConsistentRead=True,
                ProjectionExpression="#t, #s",
                ExpressionAttributeNames={"#t": "total", "#s": "seq"},
            ).get("Item", {})
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"feedback counter of {model}") from exc
        total, numbered = _n(counter, "total") or 0, _n(counter, "seq") or 0
        uploaded = 0
        values = {":p": {"S": UPLOAD_PREFIX}}
        for uploads in self._pages(model, "uploads", "#m = :m AND begins_with(#i, :p)", values):
            uploaded += sum(_n(u, "rows") or 0 for u in uploads)
        return max(0, total - numbered - uploaded)
