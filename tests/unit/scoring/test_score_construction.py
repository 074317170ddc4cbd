"""The scorer's fast ``Score`` construction gives the same object the dataclass would."""

from __future__ import annotations

import dataclasses

import pytest

from propensity.scoring import SCORECARD_FORMAT, Scorer
from propensity.scoring.scorecard import Score

CARD = {
    "format": SCORECARD_FORMAT,
    "model": "m",
    "intercept": -0.5,
    "threshold": 0.5,
    "features": [
        {"name": "age", "encoding": "bins", "impute": 40, "edges": [30, 50], "weights": [1, 2, 3]},
        {"name": "x", "encoding": "standard", "impute": 0, "mean": 1, "scale": 2, "weight": 0.5},
        {"name": "job", "encoding": "categorical", "impute": "a", "weights": {"a": 0.1}},
    ],
}


def test_scored_row_equals_the_dataclass_built_from_its_fields() -> None:
    # Given a row with a missing value, an unknown category and an ignored field
    score = Scorer(CARD).score({"x": 3, "job": "zzz", "other": 1}, strict=False)
    # When the same fields go through the dataclass's own constructor
    rebuilt = Score(**{f.name: getattr(score, f.name) for f in dataclasses.fields(Score)})
    # Then both are equal and print alike
    assert score == rebuilt
    assert repr(score) == repr(rebuilt)
    assert score.imputed == ("age",)
    assert score.unknown == ("job",)
    assert score.ignored == ("other",)
    assert score.values == [40, 3, "zzz"]


def test_scored_row_is_as_immutable_as_the_dataclass() -> None:
    # Given a scored row
    score = Scorer(CARD).score({"age": 61, "x": 1.5, "job": "a"})
    # When a field is assigned / Then it is refused
    with pytest.raises(dataclasses.FrozenInstanceError):
        score.probability = 1.0  # type: ignore[misc]
    assert score.imputed == score.unknown == score.ignored == ()
