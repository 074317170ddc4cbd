"""Guarantee: duplicates and races resolve to exactly one effect, on AWS's own DynamoDB engine.

Every concurrent caller is a thread with its own boto3 clients and its own service objects
(FeedbackService / RegistryAdmin / RetrainOrchestrator), started together at a barrier against
DynamoDB Local; S3 is a moto server. The conditional writes and transactions under test are
DynamoDB's, not an emulation of them.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from typing import Any, TypeVar

import boto3
import pytest
from botocore.stub import Stubber

from propensity.adapters import feedback as feedback_adapter
from propensity.adapters.feedback import DynamoFeedbackStore
from propensity.adapters.predictions import DynamoPredictionLog
from propensity.errors import ConflictError, RetrainBusyError
from propensity.records import (
    ChampionAlias,
    FeedbackCounted,
    FeedbackRecord,
    PredictionRecord,
    RetrainJob,
    RetrainOutcome,
)
from propensity.service.feedback import FeedbackService
from propensity.service.registry_admin import RegistryAdmin
from propensity.service.retraining import RetrainOrchestrator
from propensity.training.candidate import candidate_from
from tests.functions.conftest import invoke, load_handler
from tests.reliability.figures import record
from tests.reliability.storage.conftest import (
    LocalBackend,
    Train,
    configs,
    job_stream_event,
    stream_event,
    telecom_feedback,
    telecom_v1,
)

MODEL = "telecom"
FEEDBACK_WORKERS = 50
PROMOTERS = 8
T = TypeVar("T")


def race(workers: list[Callable[[], T]]) -> list[T | Exception]:
    """Run each callable in its own thread, released together; results or exceptions."""
    barrier = threading.Barrier(len(workers))

    def run(work: Callable[[], T]) -> T | Exception:
        barrier.wait()
        try:
            return work()
        except Exception as exc:  # noqa: BLE001 (a loser's error is a result to count)
            return exc

    with ThreadPoolExecutor(max_workers=len(workers)) as pool:
        return list(pool.map(run, workers))


def counter(backend: LocalBackend) -> dict[str, int]:
    item = backend.dynamodb().get_item(
        TableName=backend.name("FeedbackTable"),
        Key={"model": {"S": MODEL}, "item": {"S": "COUNTER"}},
        ConsistentRead=True,
    )["Item"]
    return {k: int(item[k]["N"]) for k in ("pending", "total")}


def feedback_items(backend: LocalBackend) -> list[dict[str, Any]]:
    return [
        i for i in backend.items("FeedbackTable", MODEL) if i["item"]["S"].startswith("FEEDBACK#")
    ]


def feedback_service(backend: LocalBackend) -> FeedbackService:
    """A feedback function's service on its own DynamoDB client (one per concurrent caller)."""
    client = backend.dynamodb()
    return FeedbackService(
        configs(),
        DynamoFeedbackStore(backend.name("FeedbackTable"), client),
        DynamoPredictionLog(backend.name("PredictionsTable"), client),
    )


def row(i: int) -> dict[str, float]:
    return {"calls": 40.0 + i, "minutes": 311.9, "messages": 83.0, "mb_used": 19915.42}


# --- feedback -------------------------------------------------------------------------------
@pytest.mark.parametrize("identified_by", ["prediction_id", "idempotency_key"])
def test_50_identical_concurrent_feedback_requests_store_one_item_and_count_once(
    local_backend: LocalBackend, identified_by: str
) -> None:
    # Given one logged prediction and a counter already at 1 (an earlier feedback)
    local_backend.prediction_log().put_many(
        [PredictionRecord("pred-1", MODEL, "v1", "t", row(0), 0.7, 1, 2_000_000_000)]
    )
    local_backend.feedback_store().add(FeedbackRecord("earlier", MODEL, 0, row(1), "t"))
    before = counter(local_backend)
    request: dict[str, Any] = (
        {"prediction_id": "pred-1"}
        if identified_by == "prediction_id"
        else {"features": row(2), "idempotency_key": "retry-me"}
    )
    services = [feedback_service(local_backend) for _ in range(FEEDBACK_WORKERS)]

    # When 50 identical requests arrive at once, each handled by its own service and clients
    results = race([partial(s.submit, MODEL, label="1", **request) for s in services])

    # Then one stored it, 49 got that same record back, none failed
    errors = [r for r in results if isinstance(r, Exception)]
    created = [r for r in results if not isinstance(r, Exception) and r[1]]
    stored = {r[0].feedback_id for r in results if not isinstance(r, Exception)}
    items = feedback_items(local_backend)
    after = counter(local_backend)
    record(
        "races",
        {
            f"feedback_{identified_by}_requests": len(results),
            f"feedback_{identified_by}_errors": len(errors),
            f"feedback_{identified_by}_created": len(created),
            f"feedback_{identified_by}_items_stored": len(items) - 1,
            f"feedback_{identified_by}_counter_delta": after["pending"] - before["pending"],
        },
    )
    assert errors == []
    assert len(created) == 1 and len(stored) == 1
    assert len(items) == 2  # the earlier one and this one
    assert after == {"pending": before["pending"] + 1, "total": before["total"] + 1}


def test_50_different_concurrent_feedback_are_all_stored_and_counted(
    local_backend: LocalBackend,
) -> None:
    # Given 50 clients, each with a different labelled example
    services = [feedback_service(local_backend) for _ in range(FEEDBACK_WORKERS)]
    # When they all send at once (every transaction also updates the one counter item)
    results = race(
        [
            partial(s.submit, MODEL, label=i % 2, features=row(i), idempotency_key=f"k{i}")
            for i, s in enumerate(services)
        ]
    )
    # Then every one is stored once and the counter moved by exactly 50: no lost update
    errors = [r for r in results if isinstance(r, Exception)]
    after = counter(local_backend)
    record(
        "races",
        {
            "feedback_distinct_requests": len(results),
            "feedback_distinct_errors": len(errors),
            "feedback_distinct_items_stored": len(feedback_items(local_backend)),
            "feedback_distinct_counter": after["pending"],
        },
    )
    assert errors == []
    assert len(feedback_items(local_backend)) == FEEDBACK_WORKERS
    assert after == {"pending": FEEDBACK_WORKERS, "total": FEEDBACK_WORKERS}
    # And they took the numbers 1..50 once each, every one with its SEQ# pointer: the commit
    # order a training snapshot's watermark relies on has no gap and no repeat
    numbers = sorted(int(i["seq"]["N"]) for i in feedback_items(local_backend))
    pointers = [
        i for i in local_backend.items("FeedbackTable", MODEL) if i["item"]["S"][:4] == "SEQ#"
    ]
    assert (
        numbers
        == list(range(1, FEEDBACK_WORKERS + 1))
        == sorted(int(p["seq"]["N"]) for p in pointers)
    )


def test_a_transaction_conflict_is_retried_not_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real DynamoDB cancels a transaction that meets another on the same item with reason
    TransactionConflict (DynamoDB Local serialises them instead): concurrent feedback would all
    touch the counter, so such a cancellation is retried, never answered as a 409."""
    monkeypatch.setattr(feedback_adapter, "CONFLICT_BACKOFF_SECONDS", 0.0)
    client = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    store = DynamoFeedbackStore("feedback", client)
    # (the feedback item, its SEQ# pointer, the counter: the transaction's three writes)
    conflict = {
        "CancellationReasons": [{"Code": "None"}, {"Code": "None"}, {"Code": "TransactionConflict"}]
    }
    # Each attempt first reads the counter's committed number (none yet), then transacts
    no_number: dict[str, Any] = {}
    with Stubber(client) as stub:
        # Given two conflicting attempts, then one that commits
        for _ in range(2):
            stub.add_response("get_item", no_number)
            stub.add_client_error(
                "transact_write_items", "TransactionCanceledException", modeled_fields=conflict
            )
        stub.add_response("get_item", no_number)
        stub.add_response("transact_write_items", {})
        # When feedback is added, Then it is stored (created) after the retries
        assert store.add(FeedbackRecord("f1", MODEL, 1, row(0), "t")) == (
            FeedbackRecord("f1", MODEL, 1, row(0), "t"),
            True,
        )
        stub.assert_no_pending_responses()
        # And a conflict that never clears is a ConflictError after the bounded attempts
        for _ in range(feedback_adapter.CONFLICT_ATTEMPTS):
            stub.add_response("get_item", no_number)
            stub.add_client_error(
                "transact_write_items", "TransactionCanceledException", modeled_fields=conflict
            )
        with pytest.raises(ConflictError):
            store.add(FeedbackRecord("f2", MODEL, 1, row(0), "t"))
        stub.assert_no_pending_responses()
    record("races", {"transaction_conflicts_retried": 2 + feedback_adapter.CONFLICT_ATTEMPTS})


# --- promotions -----------------------------------------------------------------------------
def candidates(backend: LocalBackend, train: Train, n: int) -> tuple[ChampionAlias, list[str]]:
    """telecom v1 as champion, and v2..v(n+1) as complete candidate versions."""
    service = backend.retrain_service()
    service.publish(candidate_from(telecom_v1(train)), trigger="bootstrap")
    registry, objects = backend.registry(), backend.objects()
    v1 = registry.get_version(MODEL, "v1")
    scorecard = objects.get_bytes(v1.scorecard_key)
    names = []
    for number in range(2, n + 2):
        prefix = f"models/{MODEL}/v{number}/"
        objects.put_bytes(prefix + "scorecard.json", scorecard, "application/json")
        registry.put_version(
            replace(
                v1,
                version=f"v{number}",
                number=number,
                status="candidate",
                artifact_prefix=prefix,
                artifacts={"scorecard.json": hashlib.sha256(scorecard).hexdigest()},
                parent_version="v1",
            )
        )
        names.append(f"v{number}")
    champion = registry.get_champion(MODEL)
    assert champion is not None
    return champion, names


def admins(backend: LocalBackend) -> list[RegistryAdmin]:
    """One admin service per operator, each on its own clients."""
    return [
        RegistryAdmin(configs(), backend.registry(), backend.objects(), backend.feedback_store())
        for _ in range(PROMOTERS)
    ]


@pytest.mark.parametrize(
    ("contest", "saw_revision"),
    [("different versions", True), ("same version", False)],
    ids=["8-versions-expected-revision", "1-version-no-revision"],
)
def test_k_concurrent_promotions_have_exactly_one_winner(
    local_backend: LocalBackend, train: Train, contest: str, saw_revision: bool
) -> None:
    # Given a champion at revision r and 8 candidates
    champion, versions = candidates(local_backend, train, PROMOTERS)
    targets = [versions[0]] * PROMOTERS if contest == "same version" else versions
    expected = champion.revision if saw_revision else None

    # When 8 operators promote at the same moment (having seen revision r, or not saying)
    results = race(
        [
            partial(a.promote, MODEL, v, actor=f"op{i}", expected_revision=expected)
            for i, (a, v) in enumerate(zip(admins(local_backend), targets, strict=True))
        ]
    )

    # Then exactly one wins, the others get ConflictError, and the alias moved exactly once
    winners = [r for r in results if isinstance(r, ChampionAlias)]
    conflicts = [r for r in results if isinstance(r, ConflictError)]
    registry = local_backend.registry()
    alias = registry.get_champion(MODEL)
    history = registry.list_promotions(MODEL)
    statuses = Counter(registry.get_version(MODEL, v).status for v in versions)
    key = f"promotions_{contest.replace(' ', '_')}_{'expected' if saw_revision else 'no'}_revision"
    record(
        "races",
        {
            f"{key}_attempts": len(results),
            f"{key}_winners": len(winners),
            f"{key}_conflicts": len(conflicts),
            f"{key}_revision_delta": (alias.revision if alias else 0) - champion.revision,
            f"{key}_history_events": len(history) - 1,  # after the bootstrap's
        },
    )
    assert len(winners) == 1 and len(conflicts) == PROMOTERS - 1, results
    assert alias == winners[0]
    assert alias.revision == champion.revision + 1
    assert len(history) == 2
    assert (history[0].version, history[0].previous_version) == (alias.version, "v1")
    assert statuses == Counter({"promoted": 1, "candidate": PROMOTERS - 1})


def test_concurrent_promotions_without_a_revision_apply_one_at_a_time(
    local_backend: LocalBackend, train: Train
) -> None:
    """Without ``expected_revision`` an operator means "whatever is current": promotions that
    read the alias after another committed may win too, but never on the same revision."""
    # Given a champion at revision r and 8 candidates
    champion, versions = candidates(local_backend, train, PROMOTERS)
    # When 8 operators promote different versions at the same moment, without a revision
    results = race(
        [
            partial(a.promote, MODEL, v, actor="op")
            for a, v in zip(admins(local_backend), versions, strict=True)
        ]
    )
    # Then each winner moved the alias once, from the one before it (a chain, no lost update)
    winners = sorted((r for r in results if isinstance(r, ChampionAlias)), key=lambda a: a.revision)
    conflicts = [r for r in results if isinstance(r, ConflictError)]
    registry = local_backend.registry()
    alias = registry.get_champion(MODEL)
    history = list(reversed(registry.list_promotions(MODEL)))[1:]  # oldest first, no bootstrap
    record(
        "races",
        {
            "promotions_serialised_attempts": len(results),
            "promotions_serialised_winners": len(winners),
            "promotions_serialised_conflicts": len(conflicts),
            "promotions_serialised_history_events": len(history),
        },
    )
    assert len(winners) + len(conflicts) == PROMOTERS and winners, results
    assert [w.revision for w in winners] == list(
        range(champion.revision + 1, champion.revision + 1 + len(winners))
    )
    assert alias == winners[-1]
    assert [(e.previous_version, e.version) for e in history] == [
        (w.previous_version, w.version) for w in winners
    ]
    assert [w.previous_version for w in winners] == ["v1", *(w.version for w in winners[:-1])]


# --- the retrain stream ---------------------------------------------------------------------
def seeded(backend: LocalBackend, train: Train) -> None:
    """telecom v1 champion and three pending feedback items."""
    backend.retrain_service().publish(candidate_from(telecom_v1(train)), trigger="bootstrap")
    store = backend.feedback_store()
    for item in telecom_feedback(3):
        store.add(item)


def test_the_same_stream_batch_delivered_twice_writes_one_version(
    local_backend: LocalBackend, train: Train
) -> None:
    # Given pending feedback, and the counter's stream record
    seeded(local_backend, train)
    services = [local_backend.retrain_service() for _ in range(2)]

    # When two invocations handle that record at the same moment (a redelivered batch)
    results = race(
        [partial(RetrainOrchestrator.handle, s, FeedbackCounted(MODEL)) for s in services]
    )
    # And Lambda delivers the batch twice more (the loser's retry), to a cold handler
    handler = load_handler("retrain")
    replies = [invoke(handler, stream_event(MODEL, "COUNTER")) for _ in range(2)]

    # Then one of them trained; the other found the lock taken or nothing pending
    outcomes = [r for r in results if isinstance(r, RetrainOutcome)]
    others = [r for r in results if not isinstance(r, RetrainOutcome)]
    versions = local_backend.registry().list_versions(MODEL)
    record(
        "races",
        {
            "stream_deliveries": len(results) + len(replies),
            "stream_versions_written": len(versions) - 1,
            "stream_pending_after": counter(local_backend)["pending"],
        },
    )
    assert len(outcomes) == 1, results
    assert all(o is None or isinstance(o, RetrainBusyError) for o in others), others
    assert replies == [{"batchItemFailures": []}] * 2
    assert [v.version for v in versions] == ["v2", "v1"]
    assert counter(local_backend)["pending"] == 0


def test_a_retrain_job_delivered_twice_at_once_trains_once(
    local_backend: LocalBackend, train: Train
) -> None:
    # Given a queued admin retrain job
    seeded(local_backend, train)
    job = RegistryAdmin(
        configs(),
        local_backend.registry(),
        local_backend.objects(),
        local_backend.feedback_store(),
    ).request_retrain(MODEL, actor="ops")
    services = [local_backend.retrain_service() for _ in range(2)]

    # When its stream record is handled by two invocations at once, then redelivered
    results = race([partial(RetrainOrchestrator.run_job, s, MODEL, job.job_id) for s in services])
    handler = load_handler("retrain")
    reply = invoke(handler, job_stream_event(MODEL, job.job_id))

    # Then the job succeeded with one new version, whichever invocation ran it
    done = local_backend.feedback_store().get_job(MODEL, job.job_id)
    versions = local_backend.registry().list_versions(MODEL)
    record(
        "races",
        {
            "job_deliveries": len(results) + 1,
            "job_versions_written": len(versions) - 1,
        },
    )
    assert sum(isinstance(r, RetrainJob) for r in results) >= 1, results
    assert all(r is None or isinstance(r, RetrainJob | RetrainBusyError) for r in results)
    assert reply == {"batchItemFailures": []}
    assert (done.status, done.version) == ("succeeded", "v2")
    assert [v.version for v in versions] == ["v2", "v1"]
    assert versions[0].extra["job_id"] == job.job_id
