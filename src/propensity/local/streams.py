"""The DynamoDB stream → Lambda event source mapping, run as a poller thread.

Per ``StreamSource`` of the template: read the table's stream from the emulator, drop the
records the ``FilterCriteria`` reject, hand the rest to the function in batches of
``BatchSize`` as Lambda events, and honour partial batch responses (``batchItemFailures``):
the batch is retried from the first failed sequence number, bisected on a function error when
``BisectBatchOnFunctionError`` is set, at most ``MaximumRetryAttempts`` times; then it goes to
the on-failure destination, kept here as a list (``failures``) in the shape Lambda sends.

``StartingPosition: LATEST`` is honoured by noting every shard's last sequence number when the
poller starts (the moment the mapping is "deployed"): records written after that are never
missed, even those written before the thread's first poll.

Positions are kept as sequence numbers, not shard iterators: every poll takes a fresh
``AT_SEQUENCE_NUMBER`` iterator on the last record read (and skips that record when it is
still the same one, by ``eventID``). A long-lived iterator breaks against moto: a cancelled
transaction (``TransactionCanceledException``) rolls the table back to a deep copy, stream shard
included, and every iterator taken before (and every ``NextShardIterator`` derived from them)
stays bound to the discarded shard object, so the poller would never see another record, and
would deliver the rolled-back writes the discarded shard received. Same shard id and
sequence numbers on both, so only a fresh iterator finds the live shard; a sequence number
reused after a rollback carries a new ``eventID`` and is delivered.

Not emulated: ``MaximumBatchingWindowInSeconds`` (records go out at the next poll),
``MaximumRecordAgeInSeconds``, parallelisation. Known moto quirk: an ``update_item`` (or a
transaction update) on a missing item emits two INSERT records, a key-only one and the full
one; real DynamoDB emits one. Both are passed through untouched; for the feedback counter the
key-only image has no ``pending`` and the template's filter drops it.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from propensity.local.events import dynamodb_stream_event, dynamodb_stream_record
from propensity.local.filters import matches_any, validate
from propensity.local.stream_batches import first_failed_index, on_failure_message
from propensity.local.stream_positions import (
    Positions,
    ShardPosition,
    StreamMapping,
    on_failure_destination,
    restore_shards,
    saved_positions,
)
from propensity.local.template import Stack

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient

log = logging.getLogger("propensity-local")  # not under "propensity": powertools owns that one

Invoke = Callable[[str, Any], Any]

POLL_INTERVAL_SECONDS = 0.5
SHARD_DISCOVERY_EVERY = 20  # polls between DescribeStream calls (new shards are rare)
# MaximumRetryAttempts -1 means "until the record expires" (24 h): locally that would block
# the shard forever behind one poison record, so it is capped.
LOCAL_RETRY_CAP = 5
_GET_RECORDS_LIMIT = 1000


@dataclass(frozen=True)
class Delivery:
    """One invocation of a function with a batch of stream records."""

    function: str
    stream_arn: str
    sequence_numbers: tuple[str, ...]
    attempt: int  # 0 = first try
    response: Any
    error: str | None  # "ExceptionType: message" when the function raised
    retry_from: str | None  # first sequence number to retry; None when the batch succeeded

    @property
    def succeeded(self) -> bool:
        return self.retry_from is None


class StreamPoller:
    def __init__(
        self,
        stack: Stack,
        invoke: Invoke,
        *,
        dynamodb: DynamoDBClient,
        streams: DynamoDBStreamsClient,
        function_arns: Mapping[str, str] | None = None,
        poll_interval: float = POLL_INTERVAL_SECONDS,
        saved: Positions | None = None,
        on_positions: Callable[[Positions], None] | None = None,
    ) -> None:
        self._stack = stack
        self._invoke = invoke
        self._dynamodb = dynamodb
        self._streams = streams
        self._function_arns = dict(function_arns or {})
        self.poll_interval = poll_interval
        self._mappings: list[StreamMapping] | None = None
        self._lock = threading.RLock()  # one reader at a time: the thread or drain()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.deliveries: deque[Delivery] = deque(maxlen=1000)
        self.failures: list[dict[str, Any]] = []  # what the on-failure destination received
        # A persistent stack's saved positions, and where new ones go after each poll.
        self._saved = saved
        self._on_positions = on_positions
        self._last_saved: Positions | None = None

    # --- positions ---------------------------------------------------------------------------
    def start_positions(self) -> None:
        """Note every shard's position now (LATEST): the mapping starts reading from here.

        With saved positions for the same stream, the mapping goes on from those instead, and
        shards that appeared since are read from their start."""
        with self._lock:
            if self._mappings is not None:
                return
            mappings = []
            for source in self._stack.stream_sources():
                for pattern in source.filters:
                    validate(pattern)  # Lambda refuses a bad pattern when the mapping is created
                table_name = self._stack.names[source.table]
                description = self._dynamodb.describe_table(TableName=table_name)["Table"]
                stream_arn = description.get("LatestStreamArn")
                if not stream_arn:
                    raise RuntimeError(f"{source.table} ({table_name}) has no stream enabled")
                mapping = StreamMapping(
                    source, table_name, stream_arn, on_failure_destination(self._stack, source)
                )
                restored = self._saved is not None and restore_shards(mapping, self._saved)
                self._discover_shards(mapping, position="TRIM_HORIZON" if restored else "LATEST")
                mappings.append(mapping)
            self._mappings = mappings
            self._save_positions()

    def _save_positions(self) -> None:
        if self._on_positions is None or self._mappings is None:
            return
        positions = saved_positions(self._mappings)
        if positions != self._last_saved:
            self._on_positions(positions)
            self._last_saved = positions

    def _discover_shards(self, mapping: StreamMapping, *, position: str) -> None:
        """Add shards not seen yet; shards that appear later are read from their start."""
        kwargs: dict[str, Any] = {"StreamArn": mapping.stream_arn}
        while True:
            description = self._streams.describe_stream(**kwargs)["StreamDescription"]
            for shard in description.get("Shards", []):
                shard_id = shard["ShardId"]
                if shard_id in mapping.shards:
                    continue
                state = ShardPosition(shard_id)
                if position == "LATEST":
                    # Skip what is there now: read it to its end, keep the last position.
                    self._read(mapping, state)
                mapping.shards[shard_id] = state
            last = description.get("LastEvaluatedShardId")
            if not last:
                return
            kwargs["ExclusiveStartShardId"] = last

    # --- polling -----------------------------------------------------------------------------
    def poll_once(self, *, discover_shards: bool = True) -> list[Delivery]:
        """Read every shard to its current end and deliver what passes the filters."""
        with self._lock:
            self.start_positions()
            assert self._mappings is not None
            made: list[Delivery] = []
            for mapping in self._mappings:
                if discover_shards:
                    self._discover_shards(mapping, position="TRIM_HORIZON")
                for shard in mapping.shards.values():
                    records = self._read(mapping, shard)
                    if records:
                        made.extend(self._deliver_records(mapping, shard, records))
            self._save_positions()  # after delivery: a stop mid-batch delivers it again
            return made

    def drain(self, max_rounds: int = 10) -> list[Delivery]:
        """Deliver everything available now, synchronously, including records the deliveries
        themselves write (a retrain resets the counter), until a round finds nothing new."""
        made: list[Delivery] = []
        for _ in range(max_rounds):
            round_made = self.poll_once()
            if not round_made:
                break
            made.extend(round_made)
        return made

    def _read(self, mapping: StreamMapping, shard: ShardPosition) -> list[dict[str, Any]]:
        """The records after the shard's position, up to its current end; moves the position."""
        if shard.closed:
            return []
        kwargs: dict[str, Any] = {"StreamArn": mapping.stream_arn, "ShardId": shard.shard_id}
        if shard.last_sequence is None:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            kwargs["ShardIteratorType"] = "AT_SEQUENCE_NUMBER"
            kwargs["SequenceNumber"] = shard.last_sequence
        iterator: str | None = self._streams.get_shard_iterator(**kwargs)["ShardIterator"]
        records: list[dict[str, Any]] = []
        while iterator is not None:
            response = self._streams.get_records(ShardIterator=iterator, Limit=_GET_RECORDS_LIMIT)
            iterator = response.get("NextShardIterator")
            page = [dict(r) for r in response.get("Records", [])]
            records.extend(page)
            if not page:
                break
        if iterator is None:
            shard.closed = True
        if (
            records
            and shard.last_sequence is not None
            and _sequence(records[0]) == shard.last_sequence
            and records[0].get("eventID") == shard.last_event_id
        ):
            records = records[1:]  # the record at the position: read already
        if records:
            shard.last_sequence = _sequence(records[-1])
            shard.last_event_id = records[-1].get("eventID")
        return records

    def _deliver_records(
        self, mapping: StreamMapping, shard: ShardPosition, records: list[dict[str, Any]]
    ) -> list[Delivery]:
        source = mapping.source
        events = [dynamodb_stream_record(r, event_source_arn=mapping.stream_arn) for r in records]
        selected = [e for e in events if matches_any(source.filters, e)]
        dropped = len(events) - len(selected)
        if dropped:
            log.debug(
                "%s: filters dropped %d of %d record(s)", source.function, dropped, len(events)
            )
        made: list[Delivery] = []
        for start in range(0, len(selected), source.batch_size):
            batch = selected[start : start + source.batch_size]
            made.extend(self._deliver_batch(mapping, shard, batch, attempt=0))
        return made

    def _deliver_batch(
        self,
        mapping: StreamMapping,
        shard: ShardPosition,
        batch: list[dict[str, Any]],
        *,
        attempt: int,
    ) -> list[Delivery]:
        source = mapping.source
        sequence_numbers = tuple(str(r["dynamodb"]["SequenceNumber"]) for r in batch)
        response: Any = None
        error: str | None = None
        try:
            response = self._invoke(source.function, dynamodb_stream_event(batch))
            retry_index = first_failed_index(source, response, sequence_numbers)
        except Exception as exc:  # noqa: BLE001 (a function error: the whole batch failed)
            error = f"{type(exc).__name__}: {exc}"
            log.error(
                "%s failed on %d stream record(s):\n%s",
                source.function,
                len(batch),
                traceback.format_exc(),
            )
            retry_index = 0
        delivery = Delivery(
            source.function,
            mapping.stream_arn,
            sequence_numbers,
            attempt,
            response,
            error,
            None if retry_index is None else sequence_numbers[retry_index],
        )
        self.deliveries.append(delivery)
        log.info(
            "%s <- %d record(s) from %s [%s..%s] attempt %d: %s",
            source.function,
            len(batch),
            mapping.table_name,
            sequence_numbers[0],
            sequence_numbers[-1],
            attempt,
            "ok" if retry_index is None else f"retry from {sequence_numbers[retry_index]}",
        )
        made = [delivery]
        if retry_index is None:
            return made
        remaining = batch[retry_index:]
        max_retries = source.max_retries if source.max_retries >= 0 else LOCAL_RETRY_CAP
        if attempt >= max_retries:
            self._send_to_destination(mapping, shard, remaining, attempt + 1, error)
            return made
        if error is not None and source.bisect and len(remaining) > 1:
            middle = len(remaining) // 2
            for half in (remaining[:middle], remaining[middle:]):
                made.extend(self._deliver_batch(mapping, shard, half, attempt=attempt + 1))
        else:
            made.extend(self._deliver_batch(mapping, shard, remaining, attempt=attempt + 1))
        return made

    def _send_to_destination(
        self,
        mapping: StreamMapping,
        shard: ShardPosition,
        batch: list[dict[str, Any]],
        invoke_count: int,
        error: str | None,
    ) -> None:
        """Record what Lambda sends the on-failure destination: batch metadata, not records."""
        function_arn = self._function_arns.get(mapping.source.function, mapping.source.function)
        message = on_failure_message(function_arn, mapping, shard, batch, invoke_count, error)
        self.failures.append(message)
        log.warning(
            "%s: %d record(s) [%s..%s] exhausted their retries; sent to %s",
            mapping.source.function,
            len(batch),
            message["DDBStreamBatchInfo"]["startSequenceNumber"],
            message["DDBStreamBatchInfo"]["endSequenceNumber"],
            mapping.destination or "no on-failure destination (dropped)",
        )

    # --- thread ------------------------------------------------------------------------------
    def start(self) -> None:
        self.start_positions()
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="stream-poller", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        polls = 0
        while not self._stop.wait(self.poll_interval):
            polls += 1
            try:
                self.poll_once(discover_shards=polls % SHARD_DISCOVERY_EVERY == 0)
            except Exception:  # noqa: BLE001 (keep polling: a transient emulator error)
                if not self._stop.is_set():
                    log.error("stream poll failed:\n%s", traceback.format_exc())

    def stop(self, timeout: float = 10.0) -> None:
        """Stop polling; a delivery still running after ``timeout`` is abandoned (daemon)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)


def _sequence(record: Mapping[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])
