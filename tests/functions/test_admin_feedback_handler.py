"""AdminFunction's feedback routes: provenance, exclusions honoured by the next retrain, erasure
(and its stream records, which never reach the retrain function)."""

from __future__ import annotations

import gzip
import io
import json
from typing import Any

import boto3
import pandas as pd
import pytest

from propensity.adapters.feedback import DynamoFeedbackStore
from propensity.local.events import dynamodb_stream_record
from propensity.local.filters import matches_any
from propensity.local.template import Stack
from propensity.records import FeedbackRecord
from propensity.service.admin_auth import AdminAuthenticator
from propensity.service.retraining import RetrainOrchestrator
from tests.conftest import DATA_ROOT
from tests.functions.conftest import ADMIN_TOKEN, body_of, invoke, load_handler, route_event

ADMIN = {"X-Admin-Token": ADMIN_TOKEN}


def telecom_rows(n: int) -> list[dict[str, Any]]:
    raw = gzip.decompress((DATA_ROOT / "users_behavior.csv.gz").read_bytes())
    frame = pd.read_csv(io.BytesIO(raw)).iloc[:n]
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def store_feedback(stack: Stack, senders: dict[str, int], source: str = "api") -> list[str]:
    """Telecom feedback written as the feedback function stores it: ``n`` items per subject."""
    store = DynamoFeedbackStore(stack.names["FeedbackTable"])
    ids = []
    rows = iter(telecom_rows(sum(senders.values())))
    for subject, n in senders.items():
        for i in range(n):
            row = next(rows)
            label = int(row.pop("is_ultra"))
            feedback_id = f"{subject}{i:03d}"
            store.add(
                FeedbackRecord(
                    feedback_id,
                    "telecom",
                    label,
                    row,
                    f"2026-11-{1 + i % 28:02d}T10:00:00.000+00:00",
                    source=source,
                    subject=subject,
                )
            )
            ids.append(feedback_id)
    return ids


def call(method: str, path: str, *, body: Any = None, query: str = "") -> dict[str, Any]:
    event = route_event(method, path, body=body, headers=ADMIN)
    event["rawQueryString"] = query
    response: dict[str, Any] = invoke(load_handler("admin"), event)
    return response


def feedback_ids(stack: Stack) -> list[str]:
    items = boto3.client("dynamodb").query(
        TableName=stack.names["FeedbackTable"],
        KeyConditionExpression="#m = :m AND begins_with(#i, :p)",
        ExpressionAttributeNames={"#m": "model", "#i": "item"},
        ExpressionAttributeValues={":m": {"S": "telecom"}, ":p": {"S": "FEEDBACK#"}},
    )["Items"]
    return sorted(i["feedback_id"]["S"] for i in items)


FEEDBACK_ROUTES = [
    ("GET", "/models/telecom/feedback/sources", None),
    ("GET", "/models/telecom/feedback", None),
    ("POST", "/models/telecom/feedback/exclusions", {"subject": "alice", "reason": "r"}),
    ("GET", "/models/telecom/feedback/exclusions", None),
    ("DELETE", "/models/telecom/feedback/exclusions/" + "0" * 32, None),
    ("POST", "/models/telecom/feedback/erasures", {"subject": "alice", "reason": "r"}),
    ("POST", "/models/telecom/feedback/erasures", None),  # a body that is not valid
    ("GET", "/models/telecom/feedback/erasures", None),
]


@pytest.mark.parametrize(("method", "path", "body"), FEEDBACK_ROUTES)
@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"X-Admin-Token": "x" * 40}, 401),
        ({"X-Admin-Token": AdminAuthenticator(ADMIN_TOKEN).issue("ops", 86_400, ["bank"])}, 403),
    ],
)
def test_feedback_routes_refuse_bad_and_out_of_scope_credentials_and_change_nothing(
    stack: Stack, method: str, path: str, body: Any, headers: dict[str, str], status: int
) -> None:
    # Given alice's stored feedback
    store_feedback(stack, {"alice": 2})
    before = boto3.client("dynamodb").scan(TableName=stack.names["FeedbackTable"])["Items"]
    # When a feedback route is called without a credential covering telecom
    response = invoke(load_handler("admin"), route_event(method, path, body=body, headers=headers))
    # Then it is refused (before any body is looked at), and the table is unchanged
    assert response["statusCode"] == status
    after = boto3.client("dynamodb").scan(TableName=stack.names["FeedbackTable"])["Items"]
    assert after == before


def test_sources_and_listing_show_who_sent_what(stack: Stack) -> None:
    # Given telecom feedback from alice (3, api) and bob (2, dashboard)
    store_feedback(stack, {"alice": 3})
    store_feedback(stack, {"bob": 2}, source="dashboard")
    # When an admin asks for the sources
    sources = call("GET", "/models/telecom/feedback/sources")
    # Then each subject and route is counted, with its first and last time
    assert sources["statusCode"] == 200
    answer = body_of(sources)
    assert answer["total"] == 5
    assert [(r["subject"], r["source"], r["items"]) for r in answer["sources"]] == [
        ("alice", "api", 3),
        ("bob", "dashboard", 2),
    ]
    assert answer["sources"][0]["first_at"] == "2026-11-01T10:00:00.000+00:00"
    assert answer["sources"][0]["last_at"] == "2026-11-03T10:00:00.000+00:00"
    # When the items are listed by subject and window (a Z time), newest first, limited
    listed = call(
        "GET",
        "/models/telecom/feedback",
        query="subject=alice&since=2026-11-02T00:00:00Z&limit=1",
    )
    # Then the newest of alice's matching items comes back, with its features
    assert listed["statusCode"] == 200
    page = body_of(listed)
    assert (page["matching"], page["count"]) == (2, 1)
    (item,) = page["items"]
    assert item["feedback_id"] == "alice002" and item["subject"] == "alice"
    assert set(item["features"]) == {"calls", "minutes", "messages", "mb_used"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=yesterday", "since"),
        ("until=2026-02-30", "until"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("source=fax", "source"),
        ("subject=", "subject"),
    ],
)
@pytest.mark.usefixtures("stack")
def test_bad_listing_parameters_answer_422_naming_the_parameter(query: str, field: str) -> None:
    response = call("GET", "/models/telecom/feedback", query=query)
    assert response["statusCode"] == 422
    assert [e["loc"] for e in body_of(response)["detail"]] == [["query", field]]


@pytest.mark.usefixtures("stack")
def test_a_backwards_window_answers_422_naming_until() -> None:
    response = call("GET", "/models/telecom/feedback", query="since=2026-11-03&until=2026-11-01")
    assert response["statusCode"] == 422 and body_of(response)["field"] == "until"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subject": "mallory"}, "reason"),
        ({"subject": "mallory", "reason": "  "}, "reason"),
        ({"reason": "no criterion"}, "subject"),
        ({"source": "fax", "reason": "r"}, "source"),
        ({"since": "last week", "reason": "r"}, "since"),
        ({"since": "2026-11-03", "until": "2026-11-03T00:00:00Z", "reason": "r"}, "until"),
        ({"subject": "mallory", "reason": "r", "model": "bank"}, "model"),
    ],
)
def test_bad_exclusions_answer_422_naming_the_field_and_store_nothing(
    stack: Stack, body: dict[str, Any], field: str
) -> None:
    response = call("POST", "/models/telecom/feedback/exclusions", body=body)
    assert response["statusCode"] == 422
    answer = body_of(response)
    named = answer.get("field") or ".".join(str(p) for p in answer["detail"][0]["loc"][1:])
    assert named == field
    assert body_of(call("GET", "/models/telecom/feedback/exclusions"))["exclusions"] == []


def test_an_exclusion_made_by_the_admin_route_is_honoured_by_the_next_retrain(
    published: RetrainOrchestrator, stack: Stack
) -> None:
    # Given telecom feedback from mallory (12 items) and alice (8)
    store_feedback(stack, {"mallory": 12, "alice": 8})
    # When an admin excludes mallory's feedback
    created = call(
        "POST",
        "/models/telecom/feedback/exclusions",
        body={"subject": "mallory", "reason": "label flipping"},
    )
    # Then it is recorded, saying who and how many stored items it matches
    assert created["statusCode"] == 201
    exclusion = body_of(created)
    assert (exclusion["created_by"], exclusion["matches_now"], exclusion["active"]) == (
        "admin",
        12,
        True,
    )
    # When telecom is retrained
    outcome = published.retrain("telecom", trigger="admin")
    # Then the version's lineage (as the admin versions route shows it) names the exclusion and
    # what it removed, and only alice's items were trained on
    versions = body_of(call("GET", "/models/telecom/versions"))["versions"]
    lineage = next(v for v in versions if v["version"] == outcome.version)["extra"]["lineage"]
    assert lineage["exclusions"] == [{"exclusion_id": exclusion["exclusion_id"], "removed": 12}]
    assert lineage["feedback"]["items"] == 8 and lineage["feedback"]["excluded"] == 12
    trained = published.training_set(published.config("telecom"))
    assert set(trained.feedback.subject) == {"alice"}
    # When the exclusion is lifted (twice: the repeat changes nothing)
    path = f"/models/telecom/feedback/exclusions/{exclusion['exclusion_id']}"
    lifted, again = call("DELETE", path), call("DELETE", path)
    assert lifted["statusCode"] == again["statusCode"] == 200
    assert body_of(lifted)["lifted_by"] == "admin" and body_of(again) == body_of(lifted)
    # Then the record stays in the list, lifted, and the next training set has all 20 again
    (listed,) = body_of(call("GET", "/models/telecom/feedback/exclusions"))["exclusions"]
    assert listed["active"] is False and listed["lifted_at"] == body_of(lifted)["lifted_at"]
    assert len(published.training_set(published.config("telecom")).feedback) == 20
    # And an unknown exclusion id is not found
    assert call("DELETE", "/models/telecom/feedback/exclusions/" + "0" * 32)["statusCode"] == 404


def stream_records(stack: Stack) -> list[dict[str, Any]]:
    """Every record of the feedback table's stream so far, as Lambda would receive it."""
    table = stack.names["FeedbackTable"]
    arn = boto3.client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams")
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        records.extend(dynamodb_stream_record(r, event_source_arn=arn) for r in page["Records"])
    return records


def test_erasure_deletes_every_item_of_the_subject_audits_it_and_never_triggers_a_retrain(
    published: RetrainOrchestrator, stack: Stack
) -> None:
    # Given feedback from carol (5) and dave (3)
    store_feedback(stack, {"carol": 5, "dave": 3})
    pending = published.pending_feedback("telecom")
    # When carol's erasure request is carried out
    erased = call(
        "POST",
        "/models/telecom/feedback/erasures",
        body={"subject": "carol", "reason": "erasure request #42"},
    )
    # Then her five items are deleted, dave's stay, and the answer says how many
    assert erased["statusCode"] == 201
    answer = body_of(erased)
    assert (answer["deleted"], answer["remaining"], answer["requested_by"]) == (5, 0, "admin")
    assert feedback_ids(stack) == ["dave000", "dave001", "dave002"]
    # And the audit entry is listed, naming carol only by hash: "carol" is nowhere in the table
    (audit,) = body_of(call("GET", "/models/telecom/feedback/erasures"))["erasures"]
    assert audit == answer
    scanned = boto3.client("dynamodb").scan(TableName=stack.names["FeedbackTable"])["Items"]
    assert "carol" not in json.dumps(scanned)
    # When the request is repeated, nothing more is deleted and it is no error
    repeated = call(
        "POST",
        "/models/telecom/feedback/erasures",
        body={"subject": "carol", "reason": "erasure request #42"},
    )
    assert repeated["statusCode"] == 201 and body_of(repeated)["deleted"] == 0
    # And the stream's REMOVE records of the erased items do not pass the retrain function's
    # event filter (nor do the audit entries' INSERTs)
    records = stream_records(stack)
    # (each item and its pointer in commit order, SEQ#<n>, both go)
    removals = [r for r in records if r["eventName"] == "REMOVE"]
    removed = sorted(r["dynamodb"]["Keys"]["item"]["S"].split("#")[0] for r in removals)
    assert removed == ["FEEDBACK"] * 5 + ["SEQ"] * 5
    (source,) = stack.stream_sources()
    delivered = [r for r in records if matches_any(source.filters, r)]
    assert all(r["dynamodb"]["Keys"]["item"]["S"] == "COUNTER" for r in delivered)
    # And even delivered to it, they are ignored: no failure, no version, the counter unchanged
    versions = len(published._registry.list_versions("telecom"))
    handled = invoke(load_handler("retrain"), {"Records": removals})
    assert handled == {"batchItemFailures": []}
    assert len(published._registry.list_versions("telecom")) == versions
    assert published.pending_feedback("telecom") == pending


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "r"}, "subject"),
        ({"subject": "carol"}, "reason"),
        ({"subject": "", "reason": "r"}, "subject"),
    ],
)
@pytest.mark.usefixtures("stack")
def test_a_bad_erasure_request_answers_422_naming_the_field(
    body: dict[str, Any], field: str
) -> None:
    response = call("POST", "/models/telecom/feedback/erasures", body=body)
    assert response["statusCode"] == 422
    assert [e["loc"] for e in body_of(response)["detail"]] == [["body", field]]
    assert body_of(call("GET", "/models/telecom/feedback/erasures"))["erasures"] == []
