"""Training snapshots through the retrain function's own wiring, on moto made from the template.

DynamoDB reads are counted off every client boto3 makes (``after-call`` events): how many
feedback items (``FEEDBACK#``) and pointers (``SEQ#``) each retrain read from the table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from propensity.adapters import feedback_log
from propensity.adapters.feedback_items import sequence_key
from propensity.adapters.feedback_log import DynamoFeedbackLog
from propensity.adapters.snapshot_store import BucketSnapshots
from propensity.errors import StorageError
from propensity.local.template import Stack
from propensity.roots.retrain import retrain_orchestrator
from propensity.service.retraining import RetrainOrchestrator
from propensity.service.snapshot_format import Manifest, decode_part
from propensity.service.training_snapshot import ORPHAN_AGE
from propensity.settings import RetrainSettings
from tests.functions.test_admin_feedback_handler import call, store_feedback


class ReadCounter:
    """Feedback-table items each DynamoDB read returned, by sort-key prefix (registered
    before the clients are made: a client copies the session's handlers when created)."""

    def __init__(self) -> None:
        self.items: Counter[str] = Counter()

    def __call__(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        returned: list[dict[str, Any]] = list(parsed.get("Items", []))
        for table_items in parsed.get("Responses", {}).values():
            returned.extend(table_items)
        if model.name in ("Query", "BatchGetItem", "Scan"):
            for item in returned:
                key = item.get("item", {}).get("S", "")
                self.items[key.split("#")[0] + "#" if "#" in key else key] += 1

    def reset(self) -> None:
        self.items.clear()


@pytest.fixture
def reads(stack: Stack) -> Iterator[ReadCounter]:
    """Registered once moto runs (it starts a fresh default session)."""
    counter = ReadCounter()
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
    events.register("after-call.dynamodb", counter)
    yield counter
    events.unregister("after-call.dynamodb", counter)


@pytest.fixture
def wired(published: RetrainOrchestrator) -> RetrainOrchestrator:
    """The retrain function's orchestrator (roots.retrain), over the published stack."""
    return retrain_orchestrator(RetrainSettings())  # type: ignore[call-arg]


def snapshot(stack: Stack, model: str) -> tuple[Manifest, list[str], list[str]]:
    """The committed manifest, the ids its parts hold (in order), and every part stored."""
    store = BucketSnapshots(stack.names["ArtifactsBucket"])
    stored = store.read_manifest(model)
    assert stored is not None
    manifest = Manifest.from_bytes(stored[0], model)
    ids: list[str] = []
    for entry in manifest.parts:
        ids.extend(decode_part(model, entry, store.read_part(model, entry.sha256)).feedback_id)
    listed = boto3.client("s3").list_objects_v2(
        Bucket=stack.names["ArtifactsBucket"], Prefix=f"snapshots/{model}/parts/"
    )
    return manifest, ids, [o["Key"] for o in listed.get("Contents", [])]


def test_a_second_retrain_reads_only_the_new_feedback_from_the_table(
    reads: ReadCounter, wired: RetrainOrchestrator, stack: Stack
) -> None:
    # Given 40 feedback items and a first retrain: the snapshot is made from all of them,
    # found through their pointers (every item has a number)
    store_feedback(stack, {"alice": 40})
    first = wired.retrain("telecom", trigger="admin")
    assert (reads.items["SEQ#"], reads.items["FEEDBACK#"]) == (40, 40)
    # When 6 more arrive and telecom is retrained again
    store_feedback(stack, {"bob": 6})
    reads.reset()
    second = wired.retrain("telecom", trigger="admin")
    # Then the table gave 6 pointers and 6 feedback items: only the new ones
    assert (reads.items["SEQ#"], reads.items["FEEDBACK#"]) == (6, 6)
    # And the snapshot holds all 46 once, in two parts, up to the committed number 46
    manifest, ids, _ = snapshot(stack, "telecom")
    assert len(ids) == len(set(ids)) == 46 and manifest.watermark == 46
    assert [p.rows for p in manifest.parts] == [40, 6]
    # And each version records the snapshot it trained on; the fingerprint moved with it
    record = {v.version: v for v in wired._registry.list_versions("telecom")}
    lineage = record[second.version].extra["lineage"]["feedback"]["snapshot"]
    assert lineage["digest"] == manifest.digest() and lineage["read_from_table"] == 6
    assert record[second.version].data_sha256 != record[first.version].data_sha256
    # When nothing new arrived, no feedback is read at all and the fingerprint is the same
    reads.reset()
    third = wired.retrain("telecom", trigger="admin")
    assert reads.items["SEQ#"] == reads.items["FEEDBACK#"] == 0
    record = {v.version: v for v in wired._registry.list_versions("telecom")}
    assert record[third.version].data_sha256 == record[second.version].data_sha256


def test_an_erasure_rewrites_the_snapshot_parts_and_changes_the_next_fingerprint(
    wired: RetrainOrchestrator, stack: Stack
) -> None:
    # Given a snapshot of carol's 5 items and dave's 3
    store_feedback(stack, {"carol": 5, "dave": 3})
    before = wired.retrain("telecom", trigger="admin")
    manifest_before, ids_before, _ = snapshot(stack, "telecom")
    assert sum(i.startswith("carol") for i in ids_before) == 5
    # When an admin erases carol's feedback, and telecom is retrained
    erased = call(
        "POST", "/models/telecom/feedback/erasures", body={"subject": "carol", "reason": "#42"}
    )
    assert erased["statusCode"] == 201
    after = wired.retrain("telecom", trigger="admin")
    # Then no part the manifest names holds a row of hers, and the digest moved
    manifest, ids, _ = snapshot(stack, "telecom")
    assert sorted(ids) == ["dave000", "dave001", "dave002"]
    assert manifest.digest() != manifest_before.digest() and len(manifest.erasures) == 1
    # And the version trained after the erasure has another fingerprint and 3 feedback items
    record = {v.version: v for v in wired._registry.list_versions("telecom")}
    assert record[after.version].data_sha256 != record[before.version].data_sha256
    assert record[after.version].extra["lineage"]["feedback"]["items"] == 3


class ManifestFails(BucketSnapshots):
    """The bucket failing on the manifest write: the retrain dies after writing its parts."""

    def write_manifest(self, model: str, body: bytes, *, replaces: str | None) -> None:
        raise StorageError("s3 unavailable")


def test_a_crash_between_the_part_and_the_manifest_leaves_no_duplicate_and_no_loss(
    wired: RetrainOrchestrator, stack: Stack
) -> None:
    # Given a snapshot of 10 items, and 4 more stored
    store_feedback(stack, {"erin": 10})
    wired.retrain("telecom", trigger="admin")
    store_feedback(stack, {"frank": 4})
    # When a retrain writes its part and fails on the manifest
    broken = wired._inputs._snapshots
    assert broken is not None
    healthy = broken._store
    broken._store = ManifestFails(stack.names["ArtifactsBucket"])
    versions = len(wired._registry.list_versions("telecom"))
    with pytest.raises(StorageError):
        wired.retrain("telecom", trigger="admin")
    # Then no version was recorded, the feedback is still pending, and the new part is an
    # orphan: stored, named by no manifest
    assert len(wired._registry.list_versions("telecom")) == versions
    assert wired.pending_feedback("telecom") == 4
    manifest, ids, keys = snapshot(stack, "telecom")
    assert len(ids) == 10 and len(keys) == 2
    # When one more item arrives and the next retrain runs with the bucket back
    broken._store = healthy
    store_feedback(stack, {"grace": 1})
    outcome = wired.retrain("telecom", trigger="admin")
    # Then every item is in the snapshot exactly once, and the version trained on all 15
    manifest, ids, keys = snapshot(stack, "telecom")
    assert len(ids) == len(set(ids)) == 15 and manifest.watermark == 15
    record = {v.version: v for v in wired._registry.list_versions("telecom")}
    assert record[outcome.version].extra["lineage"]["feedback"]["items"] == 15
    # And the orphan is still there, ignored (named by no manifest)
    named = {f"snapshots/telecom/parts/{p.sha256}.json.gz" for p in manifest.parts}
    assert len(set(keys) - named) == 1


def test_parts_no_manifest_names_are_deleted_once_older_than_the_safety_age(
    wired: RetrainOrchestrator, stack: Stack
) -> None:
    # Given a snapshot of 10 items, and an orphan part: a retrain that wrote its part for 4
    # more items and failed on the manifest
    store_feedback(stack, {"ivan": 10})
    wired.retrain("telecom", trigger="admin")
    store_feedback(stack, {"judy": 4})
    snapshots = wired._inputs._snapshots
    assert snapshots is not None
    healthy = snapshots._store
    snapshots._store = ManifestFails(stack.names["ArtifactsBucket"])
    with pytest.raises(StorageError):
        wired.retrain("telecom", trigger="admin")
    snapshots._store = healthy
    _, _, keys = snapshot(stack, "telecom")
    # When the next retrain commits a manifest while the orphan is fresh (it could be the part
    # of a retrain racing this one)
    store_feedback(stack, {"mallory": 1})
    wired.retrain("telecom", trigger="admin")
    # Then the orphan is kept
    manifest, _, after = snapshot(stack, "telecom")
    named = {f"snapshots/telecom/parts/{p.sha256}.json.gz" for p in manifest.parts}
    orphans = set(keys) - named
    assert len(orphans) == 1 and orphans <= set(after)
    # When a retrain commits after the safety age has passed
    later = datetime.now(UTC) + ORPHAN_AGE + timedelta(minutes=1)
    snapshots._now = lambda: later
    store_feedback(stack, {"niaj": 1})
    outcome = wired.retrain("telecom", trigger="admin")
    # Then the orphan is gone, every part the new and the replaced manifest name is still there
    # and every item is in the snapshot once
    replaced = named
    manifest, ids, stored = snapshot(stack, "telecom")
    named = {f"snapshots/telecom/parts/{p.sha256}.json.gz" for p in manifest.parts}
    assert not orphans & set(stored) and named | replaced == set(stored)
    assert len(ids) == len(set(ids)) == 16
    # And the version records how many parts it deleted
    record = {v.version: v for v in wired._registry.list_versions("telecom")}
    lineage = record[outcome.version].extra["lineage"]["feedback"]["snapshot"]
    assert lineage["orphans_deleted"] == 1


def store_unnumbered(stack: Stack, subject: str, n: int) -> None:
    """Feedback as code older than sequence numbers stored it: counted in the counter's total
    and pending, but with no ``seq``, no ``SEQ#`` pointer, and the counter's seq not moved."""
    table, db = stack.names["FeedbackTable"], boto3.client("dynamodb")
    before = DynamoFeedbackLog(table).committed("telecom")
    store_feedback(stack, {subject: n})
    for seq in range(before + 1, before + n + 1):
        pointer = db.get_item(
            TableName=table, Key={"model": {"S": "telecom"}, "item": {"S": sequence_key(seq)}}
        )["Item"]
        db.delete_item(TableName=table, Key={"model": pointer["model"], "item": pointer["item"]})
        item = {"S": "FEEDBACK#" + pointer["feedback_id"]["S"]}
        db.update_item(
            TableName=table,
            Key={"model": {"S": "telecom"}, "item": item},
            UpdateExpression="REMOVE seq",
        )
    db.update_item(
        TableName=table,
        Key={"model": {"S": "telecom"}, "item": {"S": "COUNTER"}},
        UpdateExpression="SET seq = :before",
        ExpressionAttributeValues={":before": {"N": str(before)}},
    )


def test_feedback_stored_without_a_number_after_the_snapshot_rebuilds_it(
    reads: ReadCounter, wired: RetrainOrchestrator, stack: Stack
) -> None:
    # Given a snapshot of 8 items
    store_feedback(stack, {"olivia": 8})
    wired.retrain("telecom", trigger="admin")
    # When older code (a rolling deploy) stores 3 items without sequence numbers, and telecom
    # is retrained
    store_unnumbered(stack, "peggy", 3)
    reads.reset()
    outcome = wired.retrain("telecom", trigger="admin")
    # Then the snapshot was rebuilt from a full read: it holds all 11 items once
    manifest, ids, _ = snapshot(stack, "telecom")
    assert len(ids) == len(set(ids)) == 11 and sum(i.startswith("peggy") for i in ids) == 3
    assert reads.items["FEEDBACK#"] == 11 and manifest.unnumbered == 3
    assert reads.items["SEQ#"] == 0  # the full read: pointers would miss peggy's items
    # And the version trained on all 11, its lineage saying why the snapshot was rebuilt
    record = {v.version: v for v in wired._registry.list_versions("telecom")}
    feedback = record[outcome.version].extra["lineage"]["feedback"]
    assert feedback["items"] == 11 and "3 feedback items" in feedback["snapshot"]["rebuilt"]
    # When nothing new arrived, the next retrain reads no feedback and rebuilds nothing
    reads.reset()
    again = wired.retrain("telecom", trigger="admin")
    record = {v.version: v for v in wired._registry.list_versions("telecom")}
    assert reads.items["FEEDBACK#"] == 0
    assert record[again.version].extra["lineage"]["feedback"]["snapshot"]["rebuilt"] is None


def test_the_feedback_log_reads_numbers_in_order_and_skips_items_gone_since(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 5 numbered feedback items, one of them deleted behind its pointer (a TTL expiry
    # deletes the item and its pointer independently)
    table = stack.names["FeedbackTable"]
    store_feedback(stack, {"heidi": 5})
    boto3.client("dynamodb").delete_item(
        TableName=table, Key={"model": {"S": "telecom"}, "item": {"S": "FEEDBACK#heidi002"}}
    )
    log = DynamoFeedbackLog(table)
    # When the numbers after 1 up to 4 are read, two numbers per query
    monkeypatch.setattr(feedback_log, "SEQUENCE_WINDOW", 2)
    pages = list(log.read_after("telecom", 1, 4))
    # Then items 2 and 4 come back (3 is gone), in number order, as columns with features,
    # one page per window of numbers (2-3, then 4)
    assert [len(page) for page in pages] == [1, 1]
    rows = [i for page in pages for i in page.feedback_id]
    assert rows == ["heidi001", "heidi003"] and log.committed("telecom") == 5
    assert [s for page in pages for s in page.seq] == [2, 4]
    assert all(len(v) == len(page) for page in pages for v in page.features.values())
    # And the full read stops at the number it was given: later ones are the next refresh's
    full = [i for page in log.read_all("telecom", 3) for i in page.feedback_id]
    assert sorted(full) == ["heidi000", "heidi001"]


def test_a_window_that_fails_fails_the_read_instead_of_shortening_it(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 6 numbered items read one number per window, and the query of number 5 refused
    store_feedback(stack, {"ivan": 6})
    log = DynamoFeedbackLog(stack.names["FeedbackTable"])
    monkeypatch.setattr(feedback_log, "SEQUENCE_WINDOW", 1)

    def refuse_number_5(params: dict[str, Any], **_: Any) -> None:
        if params["ExpressionAttributeValues"][":lo"]["S"] == sequence_key(5):
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
                "Query",
            )

    log._db.meta.events.register("before-parameter-build.dynamodb.Query", refuse_number_5)
    # When the numbers after 0 up to 6 are read
    read: list[str] = []
    with pytest.raises(StorageError, match="feedback numbers of telecom"):
        for page in log.read_after("telecom", 0, 6):
            read.extend(page.feedback_id)
    # Then the read stopped at the failed window, having yielded only what came before it
    assert read == ["ivan000", "ivan001", "ivan002", "ivan003"]
