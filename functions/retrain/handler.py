"""RetrainFunction: the DynamoDB stream (feedback counter, queued jobs), the schedule, bootstrap,
and (with the Spark backend) EMR Serverless job run state changes.

Events become typed values here, at the edge; the orchestrator never sees a storage key. Stream
records are processed one by one and failures reported per record (``batchItemFailures``), so
one poison record does not make Lambda retry the whole batch.
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

from propensity.adapters.emr_serverless import is_job_run_event, parse_job_run_event
from propensity.adapters.feedback import parse_stream_keys
from propensity.observability import logger, metrics, observed
from propensity.records import RetrainJob
from propensity.roots.retrain import retrain_orchestrator
from propensity.service.scheduled_runs import summary
from propensity.settings import RetrainSettings

settings = RetrainSettings()  # type: ignore[call-arg]  # values come from the environment
orchestrator = retrain_orchestrator(settings)
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def _on_feedback_table_record(record: DynamoDBRecord) -> None:
    event = parse_stream_keys(record.dynamodb.keys if record.dynamodb else {})
    if event is None:
        logger.info("stream record ignored", extra={"event_id": record.event_id})
        return
    outcome = orchestrator.handle(event)
    if isinstance(outcome, RetrainJob):
        logger.info("retrain job done", extra={"job": asdict(outcome)})
    elif outcome is not None:
        metrics.add_metric(
            name="VersionsPromoted" if outcome.promoted else "VersionsRejected",
            unit="Count",
            value=1,
        )
        logger.info("retrained from stream", extra={"outcome": asdict(outcome)})


def _trigger(event: dict[str, Any]) -> str | None:
    """What a non-stream event asks for: the EventBridge schedule, the bootstrap command, or
    the challenger kill switch (its schedule, or its alarm going into ALARM)."""
    records = event.get("Records")
    if isinstance(records, list) and records and records[0].get("eventSource") == "aws:dynamodb":
        return "stream"
    if event.get("detail-type") == "Scheduled Event" or event.get("trigger") == "schedule":
        return "schedule"
    if event.get("trigger") == "bootstrap":
        return "bootstrap"
    if event.get("trigger") in ("challenger-guard", "challenger-review"):
        return str(event["trigger"])
    if event.get("detail-type") == "CloudWatch Alarm State Change":
        state = (event.get("detail") or {}).get("state") or {}
        return "challenger-guard" if state.get("value") == "ALARM" else "ignored-alarm"
    if is_job_run_event(event):
        return "spark"
    return None


def _on_spark_job(event: dict[str, Any]) -> dict[str, Any]:
    """A Spark training run changed state: a final one publishes (or records) its version."""
    try:
        finished = parse_job_run_event(event)
    except ValueError as exc:
        logger.warning("job run event rejected", extra={"reason": str(exc)})
        return {"status": "rejected", "reason": str(exc)}
    if finished is None:
        return {"status": "ignored", "reason": "not a final job run state"}
    outcome = orchestrator.complete_spark_job(finished)
    if outcome is None:
        return {"status": "ok", "trigger": "spark", "job_run_id": finished.job_run_id}
    metrics.add_metric(
        name="VersionsPromoted" if outcome.promoted else "VersionsRejected", unit="Count", value=1
    )
    return {"status": "ok", "trigger": "spark", "outcome": asdict(outcome)}


@observed
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    trigger = _trigger(event)
    if trigger == "stream":
        return dict(
            process_partial_response(
                event=event,
                record_handler=_on_feedback_table_record,
                processor=processor,
                context=context,
            )
        )
    if trigger == "schedule":
        report = summary(orchestrator.run_schedule())
        # Counted, not raised: the other models' outcomes stand, and an alarm watches this.
        metrics.add_metric(name="ScheduledRetrainFailures", unit="Count", value=report["failures"])
        return {"status": "ok", "trigger": trigger, **report}
    if trigger == "bootstrap":
        outcomes = orchestrator.bootstrap()
        return {"status": "ok", "trigger": trigger, "outcomes": [asdict(o) for o in outcomes]}
    if trigger in ("challenger-guard", "challenger-review"):
        # The review decides on live labels too; the guard (schedule, alarm) only kills.
        reviews = orchestrator.review_trials(guard_only=trigger == "challenger-guard")
        metrics.add_metric(
            name="ChallengersKilled", unit="Count", value=sum(r.action == "killed" for r in reviews)
        )
        return {"status": "ok", "trigger": trigger, "reviews": [asdict(r) for r in reviews]}
    if trigger == "ignored-alarm":
        return {"status": "ignored", "reason": "the alarm left the ALARM state"}
    if trigger == "spark":
        return _on_spark_job(event)
    logger.warning("unrecognised event ignored", extra={"keys": sorted(event)})
    return {"status": "ignored", "reason": "not a stream, schedule, bootstrap or job run event"}
