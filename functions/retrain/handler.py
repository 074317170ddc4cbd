"""RetrainFunction: DynamoDB stream (feedback counter), EventBridge schedule, bootstrap.

Stream records are processed one by one and failures reported per record
(``batchItemFailures``), so one poison record does not make Lambda retry the whole batch.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from propensity.adapters.feedback import parse_stream_keys
from propensity.observability import logger, metrics, observed
from propensity.records import RetrainJob
from propensity.service.retraining import bootstrap, on_feedback_table_change, run_schedule
from propensity.settings import RetrainSettings
from propensity.wiring import drift_monitor, retrain_service

settings = RetrainSettings()  # type: ignore[call-arg]  # values come from the environment
service = retrain_service(settings)
monitor = drift_monitor(settings)
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def _on_feedback_table_record(record: DynamoDBRecord) -> None:
    event = parse_stream_keys(record.dynamodb.keys if record.dynamodb else {})
    if event is None:
        logger.info("stream record ignored", extra={"event_id": record.event_id})
        return
    outcome = on_feedback_table_change(service, event)
    if isinstance(outcome, RetrainJob):
        logger.info("retrain job done", extra={"job": asdict(outcome)})
    elif outcome is not None:
        metrics.add_metric(
            name="VersionsPromoted" if outcome.promoted else "VersionsRejected",
            unit="Count",
            value=1,
        )
        logger.info("retrained from stream", extra={"outcome": asdict(outcome)})


def _is_stream(event: dict[str, Any]) -> bool:
    records = event.get("Records")
    return (
        isinstance(records, list)
        and bool(records)
        and records[0].get("eventSource") == "aws:dynamodb"
    )


@observed
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if _is_stream(event):
        return dict(
            process_partial_response(
                event=event,
                record_handler=_on_feedback_table_record,
                processor=processor,
                context=context,
            )
        )
    trigger = event.get("trigger") or (
        "schedule" if event.get("detail-type") == "Scheduled Event" else None
    )
    if trigger == "schedule":
        outcomes = run_schedule(service, monitor)
    elif trigger == "bootstrap":
        outcomes = bootstrap(service)
    else:
        logger.warning("unrecognised event ignored", extra={"keys": sorted(event)})
        return {"status": "ignored", "reason": "not a stream, schedule or bootstrap event"}
    return {"status": "ok", "trigger": trigger, "outcomes": [asdict(o) for o in outcomes]}
