"""Which feedback items a set of criteria selects, and screening training feedback through the
active exclusions. The one matching predicate: admin listings, exclusion counts and training use
it alike, so what an admin sees excluded is exactly what training leaves out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from propensity.clock import iso, parse_iso
from propensity.errors import InvalidInputError
from propensity.records import (
    FEEDBACK_SOURCES,
    AppliedExclusion,
    FeedbackCriteria,
    FeedbackExclusion,
)

MAX_SUBJECT = 256


class Provenanced(Protocol):
    """A feedback item as far as matching goes (FeedbackRecord and FeedbackStamp are)."""

    @property
    def subject(self) -> str: ...

    @property
    def source(self) -> str: ...

    @property
    def created_at(self) -> str: ...


T = TypeVar("T", bound=Provenanced)


def _moment(field: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    moment = parse_iso(text)
    if moment is None:
        raise InvalidInputError(field, f"{text[:40]!r} is not an ISO 8601 date or time")
    return moment


def criteria(
    *,
    subject: str | None = None,
    source: str | None = None,
    since: str | None = None,
    until: str | None = None,
    require_one: bool = False,
) -> FeedbackCriteria:
    """Checked criteria, times in the canonical UTC form; InvalidInputError naming the field.

    ``require_one``: at least one criterion (an exclusion must never select everything by
    omission; excluding all feedback is a window over all time, said explicitly).
    """
    if subject is not None and not 0 < len(subject) <= MAX_SUBJECT:
        raise InvalidInputError("subject", f"must be 1 to {MAX_SUBJECT} characters")
    if source is not None and source not in FEEDBACK_SOURCES:
        raise InvalidInputError("source", f"must be one of {', '.join(FEEDBACK_SOURCES)}")
    start, end = _moment("since", since), _moment("until", until)
    if start is not None and end is not None and start >= end:
        raise InvalidInputError("until", "must be later than since")
    if require_one and subject is None and source is None and start is None and end is None:
        raise InvalidInputError("subject", "give at least one of subject, source, since, until")
    return FeedbackCriteria(
        subject=subject,
        source=source,
        since=iso(start) if start else None,
        until=iso(end) if end else None,
    )


def matcher(selected: FeedbackCriteria) -> Callable[[Provenanced], bool]:
    """A predicate for ``selected``; the window's bounds are parsed once.

    An item whose timestamp cannot be read is outside every time window (it is still selected
    by subject or source alone).
    """
    since, until = parse_iso(selected.since or ""), parse_iso(selected.until or "")
    timed = since is not None or until is not None

    def matches(item: Provenanced) -> bool:
        if selected.subject is not None and item.subject != selected.subject:
            return False
        if selected.source is not None and item.source != selected.source:
            return False
        if not timed:
            return True
        moment = parse_iso(item.created_at)
        if moment is None:
            return False
        return (since is None or since <= moment) and (until is None or moment < until)

    return matches


def count_matching(selected: FeedbackCriteria, items: Iterable[Provenanced]) -> int:
    matches = matcher(selected)
    return sum(1 for item in items if matches(item))


def screen(
    items: Sequence[T], exclusions: Iterable[FeedbackExclusion]
) -> tuple[list[T], tuple[AppliedExclusion, ...], int]:
    """``items`` without those an active exclusion matches; every active exclusion with how
    many items it matched (overlaps counted for each), and how many items were held back."""
    active = sorted((e for e in exclusions if e.active), key=lambda e: e.exclusion_id)
    tests = [(e.exclusion_id, matcher(e.criteria)) for e in active]
    removed = dict.fromkeys((exclusion_id for exclusion_id, _ in tests), 0)
    kept: list[T] = []
    for item in items:
        hits = [exclusion_id for exclusion_id, matches in tests if matches(item)]
        for exclusion_id in hits:
            removed[exclusion_id] += 1
        if not hits:
            kept.append(item)
    applied = tuple(AppliedExclusion(e, n) for e, n in removed.items())
    return kept, applied, len(items) - len(kept)
