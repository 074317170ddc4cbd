"""The admin function's policy on the feedback table covers every call feedback curation makes,
and no more: the calls are recorded from a real run (moto), not listed by hand."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from propensity.adapters.feedback import DynamoFeedbackStore
from propensity.adapters.feedback_curation import DynamoFeedbackCuration
from propensity.config import load_model_config
from propensity.local.template import Stack
from propensity.records import FeedbackRecord
from propensity.service.feedback_admin import FeedbackCuration
from tests.functions.conftest import apply_environment
from tests.infra.test_template_guarantees import allowed

FEATURES = {"calls": 40.0, "minutes": 311.9, "messages": 83.0, "mb_used": 19915.42}


def curation_calls(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The DynamoDB operations of every curation action, on a template-made table."""
    apply_environment(monkeypatch)
    with mock_aws():
        stack = Stack()
        stack.create_resources(boto3.client("dynamodb"), boto3.client("s3"))
        table = stack.names["FeedbackTable"]
        for i in range(30):  # more than one BatchWriteItem of deletes
            DynamoFeedbackStore(table).add(
                FeedbackRecord(f"f{i}", "telecom", i % 2, FEATURES, "2026-11-01T00:00:00Z")
            )
        client = boto3.client("dynamodb")
        calls: set[str] = set()
        client.meta.events.register(
            "before-call.dynamodb", lambda model, **_: calls.add(model.name)
        )
        service = FeedbackCuration(
            {"telecom": load_model_config("telecom")}, DynamoFeedbackCuration(table, client)
        )
        service.sources("telecom")
        service.items("telecom", source="api", limit=5)
        exclusion = service.exclude("telecom", subject="anonymous", reason="r", actor="ops")
        service.exclusions("telecom")
        service.lift("telecom", exclusion["exclusion_id"], actor="ops")
        service.lift("telecom", exclusion["exclusion_id"], actor="ops")  # lifted already
        assert service.erase("telecom", "anonymous", reason="r", actor="dpo")["deleted"] == 30
        service.erasures("telecom")
    return calls


def test_admin_policy_on_the_feedback_table_covers_curation_and_deletes_only_in_batches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the actions AdminFunction may take on the feedback table
    granted = {a for a, r in allowed("AdminFunction") if "FeedbackTable" in r}
    # When every curation action runs against a table made from the template
    used = {f"dynamodb:{operation}" for operation in curation_calls(monkeypatch)}
    # Then each call it made is granted
    assert used <= granted, sorted(used - granted)
    assert {"dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"} <= used
    # And nothing it does not need: no single deletes, scans or table-level actions
    assert not granted & {"dynamodb:DeleteItem", "dynamodb:Scan", "dynamodb:DeleteTable"}
    assert not any(a == "dynamodb:*" for a in granted)
