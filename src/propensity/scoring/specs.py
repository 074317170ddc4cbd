"""Typed views of a scorecard's parts: its target and what it knows of each feature."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ScorecardTarget:
    column: str
    negative_label: str
    positive_label: str


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    name: str
    kind: str  # "numeric" or "categorical"
    categories: tuple[str, ...]
    low: float | None  # the training range of a numeric feature, when the card has one
    high: float | None
    integer: bool
    influence: float  # the largest change of the logit this feature alone can make
