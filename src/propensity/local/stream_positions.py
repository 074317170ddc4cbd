"""Where each stream mapping stands: its shards' positions, kept across a restart.

An event source mapping keeps its position in AWS; locally the poller's positions are saved
after each poll (``positions()``) and given back at the next start (``restore_shards``), so a
persistent local stack neither replays what it delivered nor misses what was written while it
was stopped. Saved after delivery, so a stop in the middle of a batch delivers it again (at
least once, as Lambda does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from propensity.local.template import Stack, StreamSource

# {"<function>:<table name>": {"stream_arn": ..., "shards": {shard id: position}}}
Positions = dict[str, dict[str, Any]]


@dataclass
class ShardPosition:
    shard_id: str
    # The last record read (delivered, filtered out or given up on); None: read from the start.
    last_sequence: str | None = None
    last_event_id: str | None = None
    closed: bool = False  # closed and read to its end


@dataclass
class StreamMapping:
    """One event source mapping: a stream, its shards' positions and the target function."""

    source: StreamSource
    table_name: str
    stream_arn: str
    destination: str | None
    shards: dict[str, ShardPosition] = field(default_factory=dict)


def on_failure_destination(stack: Stack, source: StreamSource) -> str | None:
    """``DestinationConfig.OnFailure.Destination`` of the source (StreamSource leaves it out)."""
    events = stack.resources[source.function].get("Properties", {}).get("Events", {})
    for event in events.values():
        if event.get("Type") != "DynamoDB":
            continue
        props = event.get("Properties", {})
        stream = props.get("Stream")
        table = stream["Fn::GetAtt"][0] if isinstance(stream, dict) else str(stream)
        if table == source.table:
            destination = props.get("DestinationConfig", {}).get("OnFailure", {})
            if destination.get("Destination") is not None:
                return str(stack.resolve(destination["Destination"]))
    return None


def mapping_key(mapping: StreamMapping) -> str:
    return f"{mapping.source.function}:{mapping.table_name}"


def saved_positions(mappings: list[StreamMapping]) -> Positions:
    return {
        mapping_key(m): {
            "stream_arn": m.stream_arn,
            "shards": {
                shard.shard_id: {
                    "last_sequence": shard.last_sequence,
                    "last_event_id": shard.last_event_id,
                    "closed": shard.closed,
                }
                for shard in m.shards.values()
            },
        }
        for m in mappings
    }


def restore_shards(mapping: StreamMapping, saved: Positions) -> bool:
    """Put the mapping's saved shard positions back; False when there are none for its stream
    (a first start, or a table made anew since: its stream has another ARN)."""
    entry = saved.get(mapping_key(mapping))
    if not entry or entry.get("stream_arn") != mapping.stream_arn:
        return False
    for shard_id, position in dict(entry["shards"]).items():
        mapping.shards[shard_id] = ShardPosition(
            shard_id,
            last_sequence=position.get("last_sequence"),
            last_event_id=position.get("last_event_id"),
            closed=bool(position.get("closed")),
        )
    return True
