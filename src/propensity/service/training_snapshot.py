"""A model's training snapshot: its feedback, compacted into parts in the bucket.

A retrain reads the parts the manifest lists and, from DynamoDB, only the feedback numbered
above the manifest's watermark (``FeedbackLog``: sequence numbers are committed in order, so
nothing at or below the committed number can still arrive). The new rows become a new part;
then the manifest is replaced, only if it is still the version this retrain read. The manifest
is the commit point:

- parts are written first and named by their SHA-256: a crash after a part and before the
  manifest leaves a part no manifest names; the next retrain reads from the same watermark,
  writes its own part (the same name when the same rows) and ignores the orphan. No row is
  lost (the watermark did not move) and none is doubled (the orphan is never read);
- two retrains that read the same manifest cannot both append: the second one's conditional
  write fails, and it starts over from the manifest the first one wrote.

Once a manifest has committed, parts neither it nor the manifest it replaced names (orphans of
a crash, parts an erasure, expiry or merge replaced) are deleted, but only those written more
than ``ORPHAN_AGE`` ago: a retrain racing this one may have just written a part its manifest
will name, and the parts of the replaced manifest may still be read by a retrain that started
from it. A failed clean-up is logged and retried by the next commit; it never fails a retrain.

Feedback stored without a sequence number after the snapshot was made (by code older than
numbering, during a rolling deploy) has no pointer ``read_after`` could find. The feedback log
counts such items (``FeedbackLog.unnumbered``) and the manifest records the count it holds;
when the count has grown, the snapshot is rebuilt from a full read of the table, and the
version's lineage says why (``rebuilt``).
A model's first snapshot reads through the pointers too (numbers 1 to the committed one) when
no item lacks a number, and the full read only when some does.

Erasures and retention rewrite the parts: rows of an erased subject (those created up to the
erasure) and rows past their TTL are removed from every part holding them, so the digest, the
training fingerprint, changes. Exclusions do not: a lifted exclusion gives its rows back, so
they stay in the parts and are screened at every retrain (``service.training_inputs``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from propensity.clock import iso, parse_iso, utc_now
from propensity.columns import FeedbackColumns
from propensity.errors import ConflictError, PropensityError
from propensity.records import FeedbackErasure
from propensity.service.feedback_admin import subject_digest
from propensity.service.ports import FeedbackLog, SnapshotStore
from propensity.service.snapshot_format import (
    Manifest,
    PartEntry,
    decode_part,
    encode_part,
)

log = logging.getLogger(__name__)

# Rows per part: 50k bank rows are ~1.5 MB gzipped, ~8 MB of JSON to parse: one part is never
# a large share of a retrain's memory, and a model of 1M rows is 20 parts.
PART_ROWS = 50_000
# More parts than this (one per retrain with new feedback) and the small ones are merged.
MAX_PARTS = 32
# Two retrains racing on one manifest: the loser starts over from the winner's manifest.
COMMIT_ATTEMPTS = 3
# Parts no manifest names are deleted only once this old: far longer than a retrain runs (the
# retrain function's timeout is 15 minutes), so no retrain still in flight can need one.
ORPHAN_AGE = timedelta(hours=6)


@dataclass
class SnapshotRead:
    """The snapshot's rows (every part, in order) and what this refresh did to it."""

    columns: FeedbackColumns
    manifest: Manifest
    read_from_table: int = 0  # feedback items read from DynamoDB by this refresh
    appended: int = 0  # rows added to the snapshot
    removed: int = 0  # rows an erasure or expiry took out of the parts
    parts_written: int = 0
    committed: bool = False
    orphans_deleted: int = 0  # parts no manifest names, deleted after this commit
    rebuilt: str | None = None  # why the snapshot was made again from a full read

    def lineage(self) -> dict[str, Any]:
        return {
            **self.manifest.summary(),
            "read_from_table": self.read_from_table,
            "appended": self.appended,
            "removed": self.removed,
            "orphans_deleted": self.orphans_deleted,
            "rebuilt": self.rebuilt,
        }


@dataclass
class _Draft:
    """Parts of the manifest being built, with their rows."""

    entries: list[PartEntry] = field(default_factory=list)
    parts: list[FeedbackColumns] = field(default_factory=list)
    written: int = 0


class _Drop:
    """Which rows leave the snapshot: an erased subject's rows created up to the erasure, and
    rows whose TTL expiry has passed."""

    def __init__(self, erasures: Iterable[FeedbackErasure], now: datetime) -> None:
        self._until: dict[str, datetime] = {}
        for e in erasures:
            at = parse_iso(e.created_at) or now
            self._until[e.subject_sha256] = max(at, self._until.get(e.subject_sha256, at))
        self._epoch = int(now.timestamp())
        self._digests: dict[str, str] = {}  # subject → SHA-256, each hashed once

    @property
    def erasing(self) -> bool:
        return bool(self._until)

    def keep(self, columns: FeedbackColumns) -> list[int]:
        kept = []
        for i in range(len(columns)):
            expires = columns.expires_at[i]
            if expires is not None and expires <= self._epoch:
                continue
            if self._until:
                subject = columns.subject[i]
                digest = self._digests.get(subject)
                if digest is None:
                    digest = self._digests[subject] = subject_digest(subject)
                until = self._until.get(digest)
                if until is not None and (parse_iso(columns.created_at[i]) or until) <= until:
                    continue
            kept.append(i)
        return kept


class TrainingSnapshots:
    def __init__(
        self,
        store: SnapshotStore,
        feedback: FeedbackLog,
        *,
        now: Callable[[], datetime] = utc_now,
        part_rows: int = PART_ROWS,
        max_parts: int = MAX_PARTS,
        orphan_age: timedelta = ORPHAN_AGE,
    ) -> None:
        self._store = store
        self._feedback = feedback
        self._now = now
        self._part_rows = part_rows
        self._max_parts = max_parts
        self._orphan_age = orphan_age

    def refresh(self, model: str) -> SnapshotRead:
        """Bring the snapshot up to the committed feedback and return its rows."""
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            stored = self._store.read_manifest(model)
            manifest = Manifest.from_bytes(stored[0], model) if stored else None
            try:
                return self._refresh(model, manifest, stored[1] if stored else None)
            except ConflictError:
                if attempt == COMMIT_ATTEMPTS:
                    raise
                log.warning("%s: training snapshot changed meanwhile; reading it again", model)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _refresh(self, model: str, manifest: Manifest | None, tag: str | None) -> SnapshotRead:
        now = self._now()
        unnumbered = self._feedback.unnumbered(model)
        rebuilt = None
        if manifest is not None and unnumbered > manifest.unnumbered:
            rebuilt = (
                f"{unnumbered - manifest.unnumbered} feedback items were stored without a "
                f"sequence number since the snapshot (unnumbered {manifest.unnumbered} → "
                f"{unnumbered}): rebuilt from a full read"
            )
            log.warning("%s: %s", model, rebuilt)
        replaced = manifest or Manifest(model)
        # A rebuild starts from nothing, like a model's first snapshot; it replaces the stored
        # manifest (``tag``) all the same.
        full_read = manifest is None or rebuilt is not None
        current = Manifest(model) if full_read else replaced
        erasures = self._feedback.list_erasures(model)
        applied = set(current.erasures)
        fresh = [e for e in erasures if e.erasure_id not in applied]
        draft, removed = self._kept_parts(model, current, _Drop(fresh, now), int(now.timestamp()))
        upto = self._feedback.committed(model)
        read, appended = 0, 0
        if full_read or upto > current.watermark:
            # Every item numbered (no older code ever stored one): the pointers reach them all,
            # in bounded key ranges; otherwise only a read of every item finds the rest.
            pages = (
                self._feedback.read_all(model, upto)
                if full_read and unnumbered > 0
                else self._feedback.read_after(model, current.watermark, upto)
            )
            read, appended, dropped = self._append(model, draft, pages, _Drop(erasures, now))
            removed += dropped
        draft = self._compacted(model, draft)
        result = Manifest(
            model,
            watermark=max(upto, current.watermark),
            parts=tuple(draft.entries),
            erasures=tuple(sorted({*current.erasures, *(e.erasure_id for e in fresh)})),
            updated_at=iso(now),
            unnumbered=max(unnumbered, current.unnumbered),
        )
        changed = full_read or (
            (result.watermark, result.parts, result.erasures)
            != (current.watermark, current.parts, current.erasures)
        )
        orphans = 0
        if changed:
            # The commit point: parts are all stored; only now do they become the snapshot.
            self._store.write_manifest(model, result.to_bytes(), replaces=tag)
            orphans = self._delete_orphans(model, result, replaced, now)
        else:
            result = current
        columns = FeedbackColumns()
        for part in draft.parts:
            columns.extend(part)
        return SnapshotRead(
            columns,
            result,
            read_from_table=read,
            appended=appended,
            removed=removed,
            parts_written=draft.written,
            committed=changed,
            orphans_deleted=orphans,
            rebuilt=rebuilt,
        )

    def _delete_orphans(
        self, model: str, committed: Manifest, replaced: Manifest, now: datetime
    ) -> int:
        """Delete the parts neither manifest names that were written before the safety age."""
        named = {p.sha256 for p in (*committed.parts, *replaced.parts)}
        cutoff = now - self._orphan_age
        try:
            orphans = [
                sha
                for sha, written in self._store.list_parts(model)
                if sha not in named and written < cutoff
            ]
            if orphans:
                self._store.delete_parts(model, orphans)
        except PropensityError as exc:
            log.warning("%s: snapshot parts no manifest names were not deleted: %s", model, exc)
            return 0
        if orphans:
            log.info("%s: deleted %d snapshot parts no manifest names", model, len(orphans))
        return len(orphans)

    def _kept_parts(
        self, model: str, manifest: Manifest, drop: _Drop, epoch: int
    ) -> tuple[_Draft, int]:
        """Every part read back; those with rows to drop rewritten without them."""
        draft, removed = _Draft(), 0
        for entry in manifest.parts:
            columns = decode_part(model, entry, self._store.read_part(model, entry.sha256))
            expiring = entry.expires_at is not None and entry.expires_at <= epoch
            if drop.erasing or expiring:
                kept = drop.keep(columns)
                if len(kept) < len(columns):
                    removed += len(columns) - len(kept)
                    columns = columns.take(kept)
                    if not columns:
                        continue
                    draft.entries.append(self._write(model, columns, draft))
                    draft.parts.append(columns)
                    continue
            draft.entries.append(entry)
            draft.parts.append(columns)
        return draft, removed

    def _append(
        self, model: str, draft: _Draft, pages: Iterable[FeedbackColumns], drop: _Drop
    ) -> tuple[int, int, int]:
        """New rows from the table, page by page, as parts of at most ``part_rows`` rows."""
        read, appended, dropped = 0, 0, 0
        pending = FeedbackColumns()
        for page in pages:
            read += len(page)
            kept = drop.keep(page)
            dropped += len(page) - len(kept)
            pending.extend(page if len(kept) == len(page) else page.take(kept))
            while len(pending) >= self._part_rows:
                head = pending.take(range(self._part_rows))
                pending = pending.take(range(self._part_rows, len(pending)))
                self._add_part(model, head, draft)
                appended += len(head)
        if pending:
            self._add_part(model, pending, draft)
            appended += len(pending)
        return read, appended, dropped

    def _compacted(self, model: str, draft: _Draft) -> _Draft:
        """Past ``max_parts`` parts, runs of small neighbours are merged into one part each."""
        if len(draft.entries) <= self._max_parts:
            return draft
        merged = _Draft(written=draft.written)
        run = FeedbackColumns()
        run_entries: list[PartEntry] = []
        for entry, columns in [*zip(draft.entries, draft.parts, strict=True), (None, None)]:
            full = entry is None or len(run) + (entry.rows if entry else 0) > self._part_rows
            if full and run_entries:
                if len(run_entries) == 1:
                    merged.entries.append(run_entries[0])
                    merged.parts.append(run)
                else:
                    self._add_part(model, run, merged)
                run, run_entries = FeedbackColumns(), []
            if entry is not None and columns is not None:
                run.extend(columns)
                run_entries.append(entry)
        return merged

    def _add_part(self, model: str, columns: FeedbackColumns, draft: _Draft) -> None:
        draft.entries.append(self._write(model, columns, draft))
        draft.parts.append(columns)

    def _write(self, model: str, columns: FeedbackColumns, draft: _Draft) -> PartEntry:
        body, entry = encode_part(model, columns)
        self._store.write_part(model, entry.sha256, body)
        draft.written += 1
        return entry
