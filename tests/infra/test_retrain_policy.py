"""The retrain function's table grants cover every DynamoDB call it makes, and no more: the calls
are recorded from the handler's real runs (stream, job, schedule) on moto, not listed by hand."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3

from propensity.local.template import Stack
from propensity.service.retraining import RetrainOrchestrator
from tests.functions.conftest import (  # noqa: F401 (fixtures)
    SIGNED_IN,
    body_of,
    invoke,
    load_event,
    load_handler,
    published,
    retrain_service,
    route_event,
    stack,
)
from tests.functions.test_admin_handler import BEARER, job_stream_event
from tests.functions.test_retrain_handler import add_feedback
from tests.infra.test_template_guarantees import allowed

# A transaction is authorised per contained action.
TRANSACT = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "ConditionCheck": "ConditionCheckItem",
    "Delete": "DeleteItem",
}


def actions(operation: str, params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(IAM action, table name) pairs one DynamoDB call needs."""
    if operation == "TransactWriteItems":
        for item in params["TransactItems"]:
            ((kind, body),) = item.items()
            yield f"dynamodb:{TRANSACT[kind]}", body["TableName"]
    elif "RequestItems" in params:
        for table in params["RequestItems"]:
            yield f"dynamodb:{operation}", table
    else:
        yield f"dynamodb:{operation}", params["TableName"]


def _put_on_trial_with_a_live_label(admin: Any) -> None:
    listed = body_of(invoke(admin, route_event("GET", "/models/bank/versions", headers=BEARER)))
    other = next(v["version"] for v in listed["versions"] if v["version"] != listed["champion"])
    trial = route_event(
        "PUT",
        "/models/bank/challenger",
        body={"version": other, "mode": "shadow", "override_gate": True},
        headers=BEARER,
    )
    assert invoke(admin, trial)["statusCode"] == 200
    predict = load_handler("predict")
    answer = body_of(invoke(predict, load_event("predict-bank.json")))
    feedback = load_handler("feedback")
    label = route_event(
        "POST",
        "/models/bank/feedback",
        body={"prediction_id": answer["prediction_id"], "y": "yes"},
        headers=SIGNED_IN,
    )
    assert invoke(feedback, label)["statusCode"] == 201


class Recorder:
    def __init__(self) -> None:
        self.on = False
        self.calls: set[tuple[str, str]] = set()

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        if self.on:
            self.calls.update(actions(model.name, params))


def test_the_retrain_role_is_granted_each_table_action_it_takes_and_nothing_more(
    published: RetrainOrchestrator,  # noqa: F811 (fixture)
    stack: Stack,  # noqa: F811 (fixture)
) -> None:
    # Given a recorder on every DynamoDB client the retrain handler creates
    recorder = Recorder()
    boto3.DEFAULT_SESSION.events.register("before-parameter-build.dynamodb", recorder)  # type: ignore[union-attr]
    retrain = load_handler("retrain")
    admin = load_handler("admin")

    def run(event: dict[str, Any]) -> Any:
        recorder.on = True
        try:
            return invoke(retrain, event)
        finally:
            recorder.on = False

    # When it retrains from the feedback stream, runs an admin's job and the schedule
    add_feedback(published, "bank", 3)
    assert run(load_event("feedback-stream.json")) == {"batchItemFailures": []}
    job = invoke(admin, route_event("POST", "/models/telecom/retrain", headers=BEARER))
    assert run(job_stream_event("telecom", body_of(job)["job_id"])) == {"batchItemFailures": []}
    # (new items: the schedule's retrain reads them past bank's training snapshot's watermark)
    add_feedback(published, "bank", 2, start=3)
    # (and a challenger on trial with one live label: the schedule reviews it first)
    _put_on_trial_with_a_live_label(admin)
    assert run(load_event("schedule.json"))["status"] == "ok"
    assert run(load_event("challenger-alarm.json"))["status"] == "ok"
    # Then every action it took on a table is granted on that table
    logical = {name: key for key, name in stack.names.items()}
    used = {(action, logical[table]) for action, table in recorder.calls}
    granted = allowed("RetrainFunction")
    for action, table in used:
        assert any(a == action and table in r for a, r in granted), (action, table)
    # And every table action it is granted was taken: nothing is granted "just in case"
    tables = {"RegistryTable", "FeedbackTable", "PredictionsTable"}
    for action, resource in granted:
        table = next((t for t in tables if t in resource), None)
        if action.startswith("dynamodb:") and table and "/index/" not in resource:
            assert (action, table) in used or (
                action == "dynamodb:Query" and table == "PredictionsTable"  # via its index
            ), (action, table)
