"""Training snapshots over in-memory ports: what a refresh reads, writes and commits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from propensity.errors import ConflictError, StorageError
from propensity.records import FeedbackErasure, FeedbackRecord
from propensity.service.feedback_admin import subject_digest
from propensity.service.snapshot_format import Manifest, decode_part
from propensity.service.training_snapshot import ORPHAN_AGE, TrainingSnapshots
from tests.support.fakes import FakeFeedbackStore, FakeSnapshots

MODEL = "telecom"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def add(store: FakeFeedbackStore, first: int, n: int, *, subject: str = "alice") -> None:
    for i in range(first, first + n):
        row = {"calls": float(i), "minutes": 1.5 * i, "messages": i, "mb_used": 10.0 + i}
        store.add(
            FeedbackRecord(
                f"f{i:04d}",
                MODEL,
                i % 2,
                row,
                f"2026-05-{1 + i % 28:02d}T00:00:00+00:00",
                subject=subject,
            )
        )


def manifest(snapshots: FakeSnapshots) -> Manifest:
    return Manifest.from_bytes(snapshots.manifests[MODEL][0], MODEL)


def stored_ids(snapshots: FakeSnapshots) -> list[str]:
    """Every feedback id the committed manifest's parts hold, in order."""
    ids: list[str] = []
    for entry in manifest(snapshots).parts:
        ids.extend(decode_part(MODEL, entry, snapshots.parts[(MODEL, entry.sha256)]).feedback_id)
    return ids


@pytest.fixture
def store() -> FakeFeedbackStore:
    return FakeFeedbackStore()


@pytest.fixture
def snapshots() -> FakeSnapshots:
    return FakeSnapshots()


def refresher(store: FakeFeedbackStore, snapshots: FakeSnapshots, **kw: Any) -> TrainingSnapshots:
    return TrainingSnapshots(snapshots, store, now=lambda: NOW, **kw)


def test_a_second_refresh_reads_only_the_items_after_the_watermark(
    store: FakeFeedbackStore, snapshots: FakeSnapshots
) -> None:
    # Given 10 feedback items and a first snapshot of them
    add(store, 0, 10)
    first = refresher(store, snapshots).refresh(MODEL)
    assert (first.read_from_table, first.appended, len(first.columns)) == (10, 10, 10)
    # When 3 more arrive and the snapshot is refreshed
    add(store, 10, 3)
    store.items_read = 0
    second = refresher(store, snapshots).refresh(MODEL)
    # Then only the 3 new items were read from the table, as one new part
    assert store.items_read == 3 and second.read_from_table == 3
    assert len(manifest(snapshots).parts) == 2 and manifest(snapshots).watermark == 13
    # And the snapshot holds all 13 once, in commit order, and its digest moved
    assert stored_ids(snapshots) == [f"f{i:04d}" for i in range(13)]
    assert second.columns.feedback_id == stored_ids(snapshots)
    assert second.manifest.digest() != first.manifest.digest()
    # When nothing new arrived, nothing is read, written or committed: the same digest
    store.items_read = 0
    third = refresher(store, snapshots).refresh(MODEL)
    assert store.items_read == 0 and not third.committed and third.parts_written == 0
    assert third.manifest.digest() == second.manifest.digest()


def test_an_erasure_rewrites_the_parts_holding_the_subject_and_changes_the_digest(
    store: FakeFeedbackStore, snapshots: FakeSnapshots
) -> None:
    # Given a snapshot of alice's 6 items and mallory's 4
    add(store, 0, 6)
    add(store, 6, 4, subject="mallory")
    before = refresher(store, snapshots).refresh(MODEL)
    # When mallory's items are erased (deleted from the table, an audit entry recorded)
    mallory = [r.feedback_id for r in store.list_for_model(MODEL) if r.subject == "mallory"]
    store.delete_feedback(MODEL, mallory)
    store.put_erasure(
        FeedbackErasure(
            "e1",
            MODEL,
            subject_digest("mallory"),
            4,
            0,
            "request",
            "ops",
            "2026-06-01T00:00:00+00:00",
        )
    )
    after = refresher(store, snapshots).refresh(MODEL)
    # Then the parts no longer hold a row of mallory, the manifest records the erasure applied,
    # and the digest (the training fingerprint's feedback part) changed
    assert after.removed == 4 and set(after.columns.subject) == {"alice"}
    assert stored_ids(snapshots) == [f"f{i:04d}" for i in range(6)]
    assert manifest(snapshots).erasures == ("e1",)
    assert after.manifest.digest() != before.manifest.digest()
    # And the part that held her rows is no longer named by the manifest
    named = {p.sha256 for p in manifest(snapshots).parts}
    assert not named & {p.sha256 for p in before.manifest.parts}
    # And mallory's feedback sent after the erasure is kept: an erasure is not a ban
    store.add(
        FeedbackRecord(
            "late", MODEL, 1, {"calls": 1.0}, "2026-06-02T00:00:00+00:00", subject="mallory"
        )
    )
    assert "late" in refresher(store, snapshots).refresh(MODEL).columns.feedback_id


def test_a_crash_between_a_part_and_the_manifest_loses_and_doubles_nothing(
    store: FakeFeedbackStore, snapshots: FakeSnapshots
) -> None:
    # Given a snapshot of 5 items, then 4 new ones
    add(store, 0, 5)
    refresher(store, snapshots).refresh(MODEL)
    committed = snapshots.manifests[MODEL]
    add(store, 5, 4)
    # When the refresh writes its part and fails writing the manifest (the process dies there)
    snapshots.fail_manifest = True
    with pytest.raises(StorageError):
        refresher(store, snapshots).refresh(MODEL)
    # Then the committed manifest is the one before: the new part is an orphan nobody names
    assert snapshots.manifests[MODEL] == committed
    orphans = {s for (_, s) in snapshots.parts} - {p.sha256 for p in manifest(snapshots).parts}
    assert len(orphans) == 1
    # When one more item arrives and the next refresh runs
    snapshots.fail_manifest = False
    add(store, 9, 1)
    again = refresher(store, snapshots).refresh(MODEL)
    # Then every item is in the snapshot exactly once, the orphan ignored
    assert stored_ids(snapshots) == [f"f{i:04d}" for i in range(10)]
    assert sorted(again.columns.feedback_id) == [f"f{i:04d}" for i in range(10)]
    assert not orphans & {p.sha256 for p in manifest(snapshots).parts}


def test_a_crash_after_some_parts_of_many_commits_nothing_and_the_retry_has_every_row(
    store: FakeFeedbackStore, snapshots: FakeSnapshots
) -> None:
    # Given 9 items read as parts of 2 rows, and writes failing after the second part
    add(store, 0, 9)
    snapshots.fail_after_parts = 2
    with pytest.raises(StorageError):
        refresher(store, snapshots, part_rows=2).refresh(MODEL)
    assert MODEL not in snapshots.manifests
    # When the storage recovers, Then the retry commits all 9 once
    snapshots.fail_after_parts = None
    refresher(store, snapshots, part_rows=2).refresh(MODEL)
    assert stored_ids(snapshots) == [f"f{i:04d}" for i in range(9)]
    assert [p.rows for p in manifest(snapshots).parts] == [2, 2, 2, 2, 1]


def test_two_refreshes_of_one_manifest_cannot_both_append(
    store: FakeFeedbackStore, snapshots: FakeSnapshots
) -> None:
    # Given a snapshot of 4 items and 2 new ones
    add(store, 0, 4)
    refresher(store, snapshots).refresh(MODEL)
    add(store, 4, 2)
    # When a second refresh commits while the first is between reading and committing
    racing = refresher(store, snapshots)
    write = snapshots.write_manifest
    outcomes: list[str] = []

    def interleaved(model: str, body: bytes, *, replaces: str | None) -> None:
        if not outcomes:
            outcomes.append("raced")
            snapshots.write_manifest = write  # type: ignore[method-assign]
            racing.refresh(MODEL)  # commits first, from the same manifest
            snapshots.write_manifest = interleaved  # type: ignore[method-assign]
        try:
            write(model, body, replaces=replaces)
        except ConflictError:
            outcomes.append("conflict")
            raise
        outcomes.append("committed")

    snapshots.write_manifest = interleaved  # type: ignore[method-assign]
    loser = refresher(store, snapshots).refresh(MODEL)
    # Then the loser's conditional write failed and it started over from the winner's
    # manifest: nothing new to add there, so it commits nothing, and the two new items are in
    # the snapshot once
    assert outcomes == ["raced", "conflict"] and not loser.committed
    assert stored_ids(snapshots) == [f"f{i:04d}" for i in range(6)]
    assert loser.columns.feedback_id == stored_ids(snapshots)

    # And a manifest that keeps changing ends in a ConflictError after the bounded attempts
    def always_changed(model: str, body: bytes, *, replaces: str | None) -> None:
        raise ConflictError("changed meanwhile")

    snapshots.write_manifest = always_changed  # type: ignore[method-assign]
    add(store, 6, 1)
    with pytest.raises(ConflictError):
        refresher(store, snapshots).refresh(MODEL)
    assert stored_ids(snapshots) == [f"f{i:04d}" for i in range(6)]


def test_expired_rows_leave_the_parts_and_small_parts_are_merged(
    store: FakeFeedbackStore, snapshots: FakeSnapshots
) -> None:
    # Given 6 refreshes of one new item each: 6 parts of one row, 3 allowed before merging
    for i in range(6):
        add(store, i, 1)
        refresher(store, snapshots, max_parts=3, part_rows=4).refresh(MODEL)
    # Then the parts were merged into runs of at most 4 rows, every row kept in order
    rows = [p.rows for p in manifest(snapshots).parts]
    assert len(rows) <= 3 and max(rows) <= 4 and sum(rows) == 6
    assert stored_ids(snapshots) == [f"f{i:04d}" for i in range(6)]
    # When an item with a TTL an hour away is stored and read into the snapshot
    add(store, 6, 1)
    store.expiries[(MODEL, "f0006")] = int(NOW.timestamp()) + 3600
    kept = refresher(store, snapshots).refresh(MODEL)
    assert "f0006" in kept.columns.feedback_id
    # And the refresh after its expiry runs (DynamoDB may not have deleted it yet)
    later = TrainingSnapshots(snapshots, store, now=lambda: NOW.replace(hour=2))
    expired = later.refresh(MODEL)
    # Then its row left the parts, the others stayed, and the digest moved
    assert expired.removed == 1 and "f0006" not in stored_ids(snapshots)
    assert stored_ids(snapshots) == [f"f{i:04d}" for i in range(6)]
    assert expired.manifest.digest() != kept.manifest.digest()


class DeleteFails(FakeSnapshots):
    def delete_parts(self, model: str, sha256s: Any) -> None:
        raise StorageError("s3 unavailable")


def test_a_failed_clean_up_of_old_orphan_parts_never_fails_the_refresh(
    store: FakeFeedbackStore,
) -> None:
    # Given a snapshot of 4 items and an orphan part written long before the safety age
    snapshots = DeleteFails()
    add(store, 0, 4)
    refresher(store, snapshots).refresh(MODEL)
    snapshots.write_part(MODEL, "0" * 64, b"orphan")
    snapshots.written[(MODEL, "0" * 64)] = NOW - ORPHAN_AGE - timedelta(minutes=1)
    # When 2 more arrive and the refresh commits, but the bucket refuses the delete
    add(store, 4, 2)
    read = refresher(store, snapshots).refresh(MODEL)
    # Then the refresh committed all 6 all the same; the orphan stays for the next commit
    assert read.committed and len(read.columns) == 6 and read.orphans_deleted == 0
    assert (MODEL, "0" * 64) in snapshots.parts


def test_unnumbered_feedback_after_the_snapshot_rebuilds_it_from_a_full_read(
    store: FakeFeedbackStore, snapshots: FakeSnapshots
) -> None:
    # Given a snapshot of 5 items
    add(store, 0, 5)
    refresher(store, snapshots).refresh(MODEL)
    # When 2 items arrive without sequence numbers (stored by older code)
    for i in (5, 6):
        record = FeedbackRecord(f"f{i:04d}", MODEL, 1, {"calls": 1.0}, "2026-05-02T00:00:00+00:00")
        store.items[(MODEL, record.feedback_id)] = record
    read = refresher(store, snapshots).refresh(MODEL)
    # Then the snapshot is made again from every item and says why
    assert sorted(stored_ids(snapshots)) == [f"f{i:04d}" for i in range(7)]
    assert read.rebuilt is not None and read.rebuilt.startswith("2 feedback items")
    assert manifest(snapshots).unnumbered == 2
    # And the next refresh, with nothing new, neither rebuilds nor commits
    again = refresher(store, snapshots).refresh(MODEL)
    assert again.rebuilt is None and not again.committed
