"""Feedback as columns: one list per field, the shape training reads and snapshots store.

A retrain holds every feedback row of a model at once; as one ``FeedbackRecord`` (and one
feature dict) per row that is a few hundred bytes of Python objects each, as columns a list
slot per value. The DynamoDB pages, the snapshot parts and the training frame all use this
shape, so rows are never materialised as objects between them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from propensity.records import FeedbackRecord

# The fields every row has, beside its features; ``seq`` is the per-model sequence number the
# feedback was committed with (0: stored before sequence numbers), ``expires_at`` its TTL.
META = (
    "feedback_id",
    "seq",
    "label",
    "created_at",
    "source",
    "subject",
    "prediction_id",
    "expires_at",
)

# The META fields whose values repeat (shared as one object each); ids and times do not.
_TEXTS = frozenset({"source", "subject"})


class Provenance(NamedTuple):
    """One row as exclusions match it (``service.quarantine.Provenanced``), and its place."""

    row: int
    subject: str
    source: str
    created_at: str


@dataclass
class FeedbackColumns:
    """Feedback rows, column by column; a missing feature is None in its column."""

    feedback_id: list[str] = field(default_factory=list)
    seq: list[int] = field(default_factory=list)
    label: list[int] = field(default_factory=list)
    created_at: list[str] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    subject: list[str] = field(default_factory=list)
    prediction_id: list[str | None] = field(default_factory=list)
    expires_at: list[int | None] = field(default_factory=list)
    features: dict[str, list[Any]] = field(default_factory=dict)
    # One object per distinct text (sources, subjects, categorical values): parsed JSON makes a
    # new string per cell, some 50 bytes each, and most cells repeat a few dozen values.
    _texts: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.feedback_id)

    def append(self, meta: Mapping[str, Any], features: Mapping[str, Any]) -> None:
        """Add one row: ``meta`` holds the META fields (``seq``, ``prediction_id`` and
        ``expires_at`` may be absent), ``features`` its feature values."""
        n = len(self)
        self.feedback_id.append(str(meta["feedback_id"]))
        self.seq.append(int(meta.get("seq") or 0))
        self.label.append(int(meta["label"]))
        self.created_at.append(str(meta.get("created_at", "")))
        self.source.append(self._share(str(meta.get("source", "api"))))
        self.subject.append(self._share(str(meta.get("subject", "anonymous"))))
        prediction = meta.get("prediction_id")
        self.prediction_id.append(None if prediction is None else str(prediction))
        expires = meta.get("expires_at")
        self.expires_at.append(None if expires is None else int(expires))
        for name in features.keys() - self.features.keys():
            self.features[name] = [None] * n
        for name, column in self.features.items():
            column.append(self._share(features.get(name)))

    def _share(self, value: Any) -> Any:
        return self._texts.setdefault(value, value) if type(value) is str else value

    def _shared(self, values: Iterable[Any]) -> list[Any]:
        return [self._share(v) for v in values]

    def extend(self, other: FeedbackColumns) -> None:
        n, m = len(self), len(other)
        for name in META:
            values = getattr(other, name)
            getattr(self, name).extend(self._shared(values) if name in _TEXTS else values)
        for name in other.features.keys() - self.features.keys():
            self.features[name] = [None] * n
        for name, column in self.features.items():
            column.extend(self._shared(other.features.get(name, [None] * m)))

    def take(self, indices: Sequence[int]) -> FeedbackColumns:
        """The rows at ``indices``, in that order."""
        picked = FeedbackColumns()
        for name in META:
            column = getattr(self, name)
            setattr(picked, name, [column[i] for i in indices])
        picked.features = {k: [v[i] for i in indices] for k, v in self.features.items()}
        return picked

    def provenance(self) -> Iterator[Provenance]:
        for i in range(len(self)):
            yield Provenance(i, self.subject[i], self.source[i], self.created_at[i])

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values: the META columns and ``features`` (column name → values)."""
        return {**{name: getattr(self, name) for name in META}, "features": self.features}

    @classmethod
    def from_json(cls, payload: Mapping[str, Any]) -> FeedbackColumns:
        columns = cls()
        for name in META:
            values = payload[name]
            setattr(columns, name, columns._shared(values) if name in _TEXTS else list(values))
        columns.features = {
            str(k): columns._shared(v) for k, v in payload.get("features", {}).items()
        }
        rows = len(columns)
        lengths = {len(getattr(columns, n)) for n in META} | {
            len(v) for v in columns.features.values()
        }
        if lengths - {rows}:
            raise ValueError("feedback columns of different lengths")
        return columns

    @classmethod
    def from_records(cls, records: Iterable[FeedbackRecord]) -> FeedbackColumns:
        columns = cls()
        for r in records:
            columns.append(
                {
                    "feedback_id": r.feedback_id,
                    "label": r.label,
                    "created_at": r.created_at,
                    "source": r.source,
                    "subject": r.subject,
                    "prediction_id": r.prediction_id,
                },
                r.features,
            )
        return columns

    def records(self, model: str) -> Iterator[FeedbackRecord]:
        """Row by row as records (small sets: tests, admin views), features without Nones."""
        for i in range(len(self)):
            yield FeedbackRecord(
                feedback_id=self.feedback_id[i],
                model=model,
                label=self.label[i],
                features={k: v[i] for k, v in self.features.items() if v[i] is not None},
                created_at=self.created_at[i],
                prediction_id=self.prediction_id[i],
                source=self.source[i],
                subject=self.subject[i],
            )
