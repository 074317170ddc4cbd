"""Operator actions on stored feedback: where it came from, quarantine, erasure.

Listings and counts read the items' provenance (no features) and select with the same predicate
training screens with (``service.quarantine``). Exclusions are recorded, never deleted: lifting
one records who lifted it and when. An erasure deletes a subject's items and records an audit
entry that names the subject only by its SHA-256.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

from propensity.clock import now_iso, parse_iso
from propensity.config import ModelConfig
from propensity.errors import InvalidInputError
from propensity.records import (
    FeedbackErasure,
    FeedbackExclusion,
    FeedbackRecord,
    FeedbackStamp,
)
from propensity.service import quarantine
from propensity.service.model_configs import as_source
from propensity.service.ports import FeedbackCurationStore, ModelConfigSource

MAX_LIST = 500
MAX_REASON = 500
# Items one erasure request deletes: with BatchWriteItem (25 a call) well inside the admin
# function's 10 s; ``remaining`` says when to repeat the request for the rest.
ERASURE_BATCH = 2000


def subject_digest(subject: str) -> str:
    """How an erasure audit names its subject: whoever knows the subject can check that it was
    erased, but the audit does not keep the name it was asked to forget."""
    return hashlib.sha256(subject.encode()).hexdigest()


def _reason(reason: str) -> str:
    text = reason.strip()
    if not text or len(text) > MAX_REASON:
        raise InvalidInputError("reason", f"must be 1 to {MAX_REASON} characters (not blank)")
    return text


def _newest_first(stamps: list[FeedbackStamp]) -> list[FeedbackStamp]:
    """Newest first by the moment (not the text: offsets differ), ids breaking ties."""
    oldest = parse_iso("0001-01-01T00:00:00+00:00")
    return sorted(
        stamps,
        key=lambda s: (parse_iso(s.created_at) or oldest, s.feedback_id),
        reverse=True,
    )


def feedback_view(record: FeedbackRecord) -> dict[str, Any]:
    return {
        "feedback_id": record.feedback_id,
        "created_at": record.created_at,
        "source": record.source,
        "subject": record.subject,
        "y": record.label,
        "prediction_id": record.prediction_id,
        "features": record.features,
    }


def exclusion_view(exclusion: FeedbackExclusion, matches_now: int) -> dict[str, Any]:
    return {
        "exclusion_id": exclusion.exclusion_id,
        "model": exclusion.model,
        "criteria": asdict(exclusion.criteria),
        "reason": exclusion.reason,
        "created_by": exclusion.created_by,
        "created_at": exclusion.created_at,
        "active": exclusion.active,
        "lifted_by": exclusion.lifted_by,
        "lifted_at": exclusion.lifted_at,
        "matches_now": matches_now,
    }


class FeedbackCuration:
    def __init__(
        self,
        configs: ModelConfigSource | Mapping[str, ModelConfig],
        store: FeedbackCurationStore,
        *,
        clock: Callable[[], str] = now_iso,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._configs = as_source(configs)
        self._store = store
        self._clock = clock
        self._new_id = new_id

    def _known(self, model: str) -> None:
        # Archived models too: their feedback can still be listed, excluded and erased.
        self._configs.known(model)

    # --- provenance -----------------------------------------------------------------------

    def sources(self, model: str) -> dict[str, Any]:
        """Stored items per (subject, source), with the first and last time each sent one."""
        self._known(model)
        groups: dict[tuple[str, str], list[FeedbackStamp]] = defaultdict(list)
        stamps = self._store.stamps(model)
        for stamp in stamps:
            groups[(stamp.subject, stamp.source)].append(stamp)
        rows: list[dict[str, Any]] = []
        for (subject, source), members in groups.items():
            ordered = _newest_first(members)
            rows.append(
                {
                    "subject": subject,
                    "source": source,
                    "items": len(members),
                    "positives": sum(1 for m in members if m.label == 1),
                    "first_at": ordered[-1].created_at,
                    "last_at": ordered[0].created_at,
                }
            )
        rows.sort(key=lambda r: (-r["items"], r["subject"], r["source"]))
        return {"model": model, "total": len(stamps), "sources": rows}

    def items(
        self,
        model: str,
        *,
        subject: str | None = None,
        source: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 50,
    ) -> dict[str, Any]:
        """The newest ``limit`` items the criteria match (all when none given), with features."""
        self._known(model)
        selected = quarantine.criteria(subject=subject, source=source, since=since, until=until)
        if not 0 < limit <= MAX_LIST:
            raise InvalidInputError("limit", f"must be 1 to {MAX_LIST}")
        matches = quarantine.matcher(selected)
        found = _newest_first([s for s in self._store.stamps(model) if matches(s)])
        page = [s.feedback_id for s in found[:limit]]
        # Read after the listing: an item erased meanwhile is left out, never an error.
        records = {r.feedback_id: r for r in self._store.get_many(model, page)}
        listed = [feedback_view(records[i]) for i in page if i in records]
        return {
            "model": model,
            "criteria": asdict(selected),
            "matching": len(found),
            "count": len(listed),
            "items": listed,
        }

    # --- quarantine -----------------------------------------------------------------------

    def exclude(
        self,
        model: str,
        *,
        reason: str,
        actor: str,
        subject: str | None = None,
        source: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> dict[str, Any]:
        """Record an exclusion; the next training set leaves out what it matches."""
        self._known(model)
        selected = quarantine.criteria(
            subject=subject, source=source, since=since, until=until, require_one=True
        )
        exclusion = FeedbackExclusion(
            exclusion_id=self._new_id(),
            model=model,
            criteria=selected,
            reason=_reason(reason),
            created_by=actor,
            created_at=self._clock(),
        )
        self._store.put_exclusion(exclusion)
        return exclusion_view(
            exclusion, quarantine.count_matching(selected, self._store.stamps(model))
        )

    def exclusions(self, model: str) -> dict[str, Any]:
        """Every exclusion, newest first, lifted ones included, each with what it matches now."""
        self._known(model)
        stamps = self._store.stamps(model)
        recorded = sorted(
            self._store.list_exclusions(model),
            key=lambda e: (e.created_at, e.exclusion_id),
            reverse=True,
        )
        views = [exclusion_view(e, quarantine.count_matching(e.criteria, stamps)) for e in recorded]
        return {
            "model": model,
            "active": sum(1 for e in recorded if e.active),
            "exclusions": views,
        }

    def lift(self, model: str, exclusion_id: str, *, actor: str) -> dict[str, Any]:
        """Training uses what the exclusion held back again; its record says who lifted it."""
        self._known(model)
        lifted = self._store.lift_exclusion(
            model, exclusion_id, lifted_by=actor, lifted_at=self._clock()
        )
        return exclusion_view(
            lifted, quarantine.count_matching(lifted.criteria, self._store.stamps(model))
        )

    # --- erasure --------------------------------------------------------------------------

    def erase(self, model: str, subject: str, *, reason: str, actor: str) -> dict[str, Any]:
        """Delete the subject's feedback items (up to ERASURE_BATCH a request) and record it.

        Repeating it deletes what is left: 0 once nothing is, and that is no error.
        """
        self._known(model)
        selected = quarantine.criteria(subject=subject)
        why = _reason(reason)
        matches = quarantine.matcher(selected)
        ids = sorted(s.feedback_id for s in self._store.stamps(model) if matches(s))
        batch = ids[:ERASURE_BATCH]
        deleted = self._store.delete_feedback(model, batch) if batch else 0
        erasure = FeedbackErasure(
            erasure_id=self._new_id(),
            model=model,
            subject_sha256=subject_digest(subject),
            deleted=deleted,
            remaining=len(ids) - len(batch),
            reason=why,
            requested_by=actor,
            created_at=self._clock(),
        )
        self._store.put_erasure(erasure)
        return asdict(erasure)

    def erasures(self, model: str) -> dict[str, Any]:
        self._known(model)
        recorded = sorted(
            self._store.list_erasures(model),
            key=lambda e: (e.created_at, e.erasure_id),
            reverse=True,
        )
        return {"model": model, "erasures": [asdict(e) for e in recorded]}
