"""RetrainFunction: stream records, schedule and bootstrap events."""

from __future__ import annotations

import copy

import pytest

from propensity.local.template import Stack
from propensity.service.retraining import RetrainOrchestrator
from tests.functions.conftest import invoke, load_event, load_handler

BANK_ROW = {
    "age": 45,
    "job": "technician",
    "marital": "married",
    "education": "secondary",
    "default": "no",
    "balance": 1200,
    "housing": "yes",
    "loan": "no",
    "contact": "cellular",
    "day": 15,
    "month": "may",
    "campaign": 2,
    "pdays": -1,
    "previous": 0,
    "poutcome": "unknown",
}


def add_feedback(service: RetrainOrchestrator, model: str, n: int, *, start: int = 0) -> None:
    from propensity.adapters.feedback import DynamoFeedbackStore
    from propensity.records import FeedbackRecord

    store: DynamoFeedbackStore = service._feedback  # type: ignore[assignment]
    for i in range(start, start + n):
        store.add(
            FeedbackRecord(
                f"fb{i}", model, i % 2, {**BANK_ROW, "age": 30 + i}, "2026-01-01T00:00:00"
            )
        )


def test_stream_record_retrains_the_model_once(
    published: RetrainOrchestrator, stack: Stack
) -> None:
    # Given three pending feedback items for bank
    add_feedback(published, "bank", 3)
    handler = load_handler("retrain")
    # When the counter's stream record arrives
    result = invoke(handler, load_event("feedback-stream.json"))
    # Then no record failed, v2 was written and the counter consumed
    assert result == {"batchItemFailures": []}
    versions = published._registry.list_versions("bank")
    assert [v.version for v in versions] == ["v2", "v1"]
    assert versions[0].trigger == "stream"
    # (fb0..fb2 all hash outside the feedback hold-out at bank's share of 0.2: all are trained on)
    assert versions[0].extra["feedback_rows"] == 3
    assert versions[0].extra["lineage"]["feedback_held_out_selected"] == 0
    assert published.pending_feedback("bank") == 0
    # And the same record delivered again finds nothing pending: no third version
    assert invoke(handler, load_event("feedback-stream.json")) == {"batchItemFailures": []}
    assert len(published._registry.list_versions("bank")) == 2


@pytest.mark.usefixtures("published")
def test_a_poison_record_fails_alone() -> None:
    event = load_event("feedback-stream.json")
    poison = copy.deepcopy(event["Records"][0])
    poison["dynamodb"]["Keys"]["model"]["S"] = "no-such-model"
    poison["dynamodb"]["SequenceNumber"] = "999"
    event["Records"].append(poison)
    result = invoke(load_handler("retrain"), event)
    assert result == {"batchItemFailures": [{"itemIdentifier": "999"}]}


def test_schedule_retrains_only_models_with_new_feedback(published: RetrainOrchestrator) -> None:
    handler = load_handler("retrain")
    assert invoke(handler, load_event("schedule.json"))["outcomes"] == []
    add_feedback(published, "bank", 2)
    result = invoke(handler, load_event("schedule.json"))
    assert [(o["model"], o["version"]) for o in result["outcomes"]] == [("bank", "v2")]


def test_bootstrap_trains_and_promotes_every_model(retrain_service: RetrainOrchestrator) -> None:
    result = invoke(load_handler("retrain"), load_event("bootstrap.json"))
    assert {(o["model"], o["version"], o["promoted"]) for o in result["outcomes"]} == {
        ("bank", "v1", True),
        ("telecom", "v1", True),
    }
    # a second bootstrap finds champions and does nothing
    assert invoke(load_handler("retrain"), load_event("bootstrap.json"))["outcomes"] == []
