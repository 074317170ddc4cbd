"""The stream poller against the emulator: position, filters, batches, partial failures."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from propensity.local.stack_run import LocalStack
from propensity.local.streams import StreamPoller
from propensity.local.template import Stack

Invoke = Callable[[str, Any], Any]


@pytest.fixture(scope="module")
def bare_stack() -> Iterator[LocalStack]:
    """Emulator and the template's resources; no models, no HTTP, no poller of its own."""
    with LocalStack(
        port=0,
        bootstrap=False,
        serve_http=False,
        poll_streams=False,
        run_schedules=False,
        quiet=True,
    ) as stack:
        yield stack


@pytest.fixture(scope="module")
def table(bare_stack: LocalStack) -> str:
    return bare_stack.stack.names["FeedbackTable"]


def dynamodb() -> Any:
    return boto3.client("dynamodb")


def bump_counter(table: str, model: str, by: int = 1) -> None:
    """What the feedback store does: ADD pending (moto: two INSERTs on a new item)."""
    dynamodb().update_item(
        TableName=table,
        Key={"model": {"S": model}, "item": {"S": "COUNTER"}},
        UpdateExpression="ADD pending :n",
        ExpressionAttributeValues={":n": {"N": str(by)}},
    )


def put_counter(table: str, model: str, pending: int) -> None:
    dynamodb().put_item(
        TableName=table,
        Item={"model": {"S": model}, "item": {"S": "COUNTER"}, "pending": {"N": str(pending)}},
    )


def poller_for(stack: Stack, invoke: Invoke) -> StreamPoller:
    poller = StreamPoller(
        stack, invoke, dynamodb=dynamodb(), streams=boto3.client("dynamodbstreams")
    )
    poller.start_positions()
    return poller


class Recorder:
    """A fake retrain function: records events, answers with scripted responses."""

    def __init__(self, respond: Callable[[dict[str, Any], int], Any] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self._respond = respond

    def __call__(self, function: str, event: dict[str, Any]) -> Any:
        assert function == "RetrainFunction"
        self.events.append(event)
        if self._respond is None:
            return {"batchItemFailures": []}
        return self._respond(event, len(self.events))

    def models(self, index: int) -> list[str]:
        return [r["dynamodb"]["Keys"]["model"]["S"] for r in self.events[index]["Records"]]


def test_latest_position_skips_older_records_but_never_misses_newer_ones(
    bare_stack: LocalStack, table: str
) -> None:
    # Given a matching counter written before the mapping exists
    put_counter(table, "before", 5)
    recorder = Recorder()
    poller = poller_for(bare_stack.stack, recorder)
    # When another is written after the positions were taken, before any poll
    put_counter(table, "after", 5)
    deliveries = poller.drain()
    # Then only the newer one is delivered, as one Lambda event
    assert [d.succeeded for d in deliveries] == [True]
    assert recorder.models(0) == ["after"]


def test_filters_drop_resets_and_feedback_items_and_events_have_lambda_shape(
    bare_stack: LocalStack, table: str
) -> None:
    recorder = Recorder()
    poller = poller_for(bare_stack.stack, recorder)
    # Given a feedback item, a counter reset to 0 and a counter with pending feedback
    dynamodb().put_item(TableName=table, Item={"model": {"S": "f"}, "item": {"S": "FEEDBACK#1"}})
    put_counter(table, "reset", 0)
    bump_counter(table, "pending")  # moto: a key-only INSERT, then the full one
    # When drained
    poller.drain()
    # Then one event with the one counter record that has pending feedback
    assert len(recorder.events) == 1
    (record,) = recorder.events[0]["Records"]
    assert record["eventName"] == "INSERT"
    assert record["eventVersion"] == "1.1"
    assert record["eventSource"] == "aws:dynamodb"
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
    assert record["dynamodb"]["NewImage"]["pending"] == {"N": "1"}
    assert record["eventSourceARN"].startswith(
        f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}/stream/"
    )


def test_records_are_batched_by_batch_size(bare_stack: LocalStack, table: str) -> None:
    # Given the template with BatchSize 2
    template = copy.deepcopy(bare_stack.stack.template)
    template["Resources"]["RetrainFunction"]["Properties"]["Events"]["FeedbackStream"][
        "Properties"
    ]["BatchSize"] = 2
    stack = Stack(template)
    recorder = Recorder()
    poller = poller_for(stack, recorder)
    # When five counters change
    for n in range(5):
        put_counter(table, f"batch{n}", 1)
    poller.drain()
    # Then three events of 2, 2 and 1 records, in order
    assert [len(e["Records"]) for e in recorder.events] == [2, 2, 1]
    assert recorder.models(0) + recorder.models(1) + recorder.models(2) == [
        f"batch{n}" for n in range(5)
    ]


def test_batch_item_failures_retry_from_the_first_failed_record(
    bare_stack: LocalStack, table: str
) -> None:
    # Given a function that fails the second record once
    def respond(event: dict[str, Any], call: int) -> Any:
        if call == 1:
            return {
                "batchItemFailures": [
                    {"itemIdentifier": event["Records"][1]["dynamodb"]["SequenceNumber"]}
                ]
            }
        return {"batchItemFailures": []}

    recorder = Recorder(respond)
    poller = poller_for(bare_stack.stack, recorder)
    for name in ("p1", "p2", "p3"):
        put_counter(table, name, 1)
    # When drained
    deliveries = poller.drain()
    # Then the batch is retried from the failed record on, and then succeeds
    assert recorder.models(0) == ["p1", "p2", "p3"]
    assert recorder.models(1) == ["p2", "p3"]
    assert [(d.attempt, d.succeeded) for d in deliveries] == [(0, False), (1, True)]
    assert deliveries[0].retry_from == deliveries[1].sequence_numbers[0]
    assert poller.failures == []


def test_exhausted_retries_go_to_the_on_failure_destination(
    bare_stack: LocalStack, table: str
) -> None:
    # Given a function that always reports the record as failed
    def respond(event: dict[str, Any], call: int) -> Any:
        return {
            "batchItemFailures": [
                {"itemIdentifier": event["Records"][0]["dynamodb"]["SequenceNumber"]}
            ]
        }

    recorder = Recorder(respond)
    poller = poller_for(bare_stack.stack, recorder)
    put_counter(table, "poison", 1)
    # When drained
    deliveries = poller.drain()
    # Then it is tried 1 + MaximumRetryAttempts (2) times, then sent to the DLQ, once
    assert [d.attempt for d in deliveries] == [0, 1, 2]
    (failure,) = poller.failures
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    info = failure["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert (
        info["startSequenceNumber"]
        == info["endSequenceNumber"]
        == deliveries[0].sequence_numbers[0]
    )
    assert failure["destination"] == bare_stack.stack.resolve(
        {"Fn::GetAtt": ["RetrainDeadLetterQueue", "Arn"]}
    )
    # And the shard moves on: nothing is redelivered
    assert poller.drain() == []


def test_function_errors_bisect_the_batch_to_isolate_the_poison_record(
    bare_stack: LocalStack, table: str
) -> None:
    # Given a function that raises whenever its batch holds the poison record
    def respond(event: dict[str, Any], call: int) -> Any:
        if any(r["dynamodb"]["Keys"]["model"]["S"] == "bad" for r in event["Records"]):
            raise RuntimeError("poison")
        return None  # a null response is a complete success

    recorder = Recorder(respond)
    poller = poller_for(bare_stack.stack, recorder)
    for name in ("ok1", "bad", "ok2", "ok3"):
        put_counter(table, name, 1)
    # When drained
    poller.drain()
    # Then the batch is split until the good records got through and the bad one alone failed
    delivered_ok = {
        m
        for i, e in enumerate(recorder.events)
        for m in recorder.models(i)
        if "bad" not in recorder.models(i)
    }
    assert delivered_ok == {"ok1", "ok2", "ok3"}
    (failure,) = poller.failures
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1
    assert failure["responseContext"]["functionError"] == "Unhandled"


def test_the_poller_thread_delivers_without_drain(bare_stack: LocalStack, table: str) -> None:
    # Given a running poller thread
    delivered = threading.Event()

    def respond(event: dict[str, Any], call: int) -> Any:
        delivered.set()
        return {"batchItemFailures": []}

    poller = poller_for(bare_stack.stack, Recorder(respond))
    poller.poll_interval = 0.05
    poller.start()
    try:
        # When a counter changes / Then the thread delivers it on its own
        put_counter(table, "threaded", 2)
        assert delivered.wait(10)
    finally:
        poller.stop()


def add_feedback(table: str, model: str, item: str, rows: int = 1) -> bool:
    """What the feedback store does: put a new item and count it, in one transaction."""
    try:
        dynamodb().transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"model": {"S": model}, "item": {"S": item}},
                        "ConditionExpression": "attribute_not_exists(#i)",
                        "ExpressionAttributeNames": {"#i": "item"},
                    }
                },
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"model": {"S": model}, "item": {"S": "COUNTER"}},
                        "UpdateExpression": "ADD pending :n",
                        "ExpressionAttributeValues": {":n": {"N": str(rows)}},
                    }
                },
            ]
        )
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "TransactionCanceledException"
        return False
    return True


def test_a_cancelled_transaction_does_not_strand_the_shard_position(
    bare_stack: LocalStack, table: str
) -> None:
    # Given a function that resets the counters it is handed, as a retrain does
    def respond(event: dict[str, Any], call: int) -> Any:
        for record in event["Records"]:
            image = record["dynamodb"]["NewImage"]
            if image["item"]["S"] == "COUNTER":
                bump_counter(table, image["model"]["S"], -int(image["pending"]["N"]))
        return {"batchItemFailures": []}

    recorder = Recorder(respond)
    poller = poller_for(bare_stack.stack, recorder)
    # And feedback, then its retry: a duplicate, the transaction is cancelled (moto rolls the
    # table back to a copy, stream shard included, after applying the counter update)
    assert add_feedback(table, "rollback", "FEEDBACK#1")
    assert not add_feedback(table, "rollback", "FEEDBACK#1")
    # When drained: the counter is delivered, the function resets it to 0
    poller.drain()
    # And later writes: an upload counted in, its job
    dynamodb().put_item(
        TableName=table, Item={"model": {"S": "rollback"}, "item": {"S": "UPLOAD#u1"}}
    )
    bump_counter(table, "rollback", 300)
    dynamodb().put_item(TableName=table, Item={"model": {"S": "rollback"}, "item": {"S": "JOB#j1"}})
    deliveries = poller.drain()
    # Then the later counter and the job are delivered too; neither the resets to "0" nor the
    # rolled-back (never committed) counter update are
    assert [d.succeeded for d in deliveries] == [True]
    delivered = [
        (r["dynamodb"]["Keys"]["item"]["S"], r["dynamodb"]["NewImage"].get("pending"))
        for e in recorder.events
        for r in e["Records"]
    ]
    assert delivered == [("COUNTER", {"N": "1"}), ("COUNTER", {"N": "300"}), ("JOB#j1", None)]
    assert poller.drain() == []
