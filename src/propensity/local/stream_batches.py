"""What Lambda reads from a stream batch's answer, and what it sends when a batch gives up."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from propensity.local.stream_positions import ShardPosition, StreamMapping
from propensity.local.template import StreamSource


def first_failed_index(
    source: StreamSource, response: Any, sequence_numbers: Sequence[str]
) -> int | None:
    """Lambda's reading of a partial batch response; None means the batch succeeded."""
    if not source.report_item_failures or response is None:
        return None
    if not isinstance(response, Mapping):
        return 0  # not an object: Lambda treats the batch as failed
    failures = response.get("batchItemFailures")
    if not failures:
        return None  # missing, null or empty: complete success
    indexes = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not identifier or identifier not in sequence_numbers:
            return 0  # malformed or unknown identifier: the whole batch failed
        indexes.append(sequence_numbers.index(identifier))
    return min(indexes)


def on_failure_message(
    function_arn: str,
    mapping: StreamMapping,
    shard: ShardPosition,
    batch: list[dict[str, Any]],
    invoke_count: int,
    error: str | None,
) -> dict[str, Any]:
    """The on-failure destination's message: the batch's metadata, not its records."""
    arrivals = [int(r["dynamodb"].get("ApproximateCreationDateTime", 0)) for r in batch]
    message: dict[str, Any] = {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled" if error else "",
        },
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "DDBStreamBatchInfo": {
            "shardId": shard.shard_id,
            "startSequenceNumber": batch[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": batch[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso(min(arrivals)),
            "approximateArrivalOfLastRecord": _iso(max(arrivals)),
            "batchSize": len(batch),
            "streamArn": mapping.stream_arn,
        },
        "destination": mapping.destination,
    }
    return message


def _iso(epoch_seconds: int) -> str:
    return (
        datetime.fromtimestamp(epoch_seconds, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )
