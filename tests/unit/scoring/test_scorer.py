"""The pure-Python scorer on a small hand-written scorecard: no training needed."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from propensity.errors import ArtifactError, InvalidInputError
from propensity.scoring import SCORECARD_FORMAT, Scorer


def make_card(**overrides: Any) -> dict[str, Any]:
    card: dict[str, Any] = {
        "format": SCORECARD_FORMAT,
        "model": "demo",
        "version": "v7",
        "intercept": -1.0,
        "threshold": 0.5,
        "features": [
            {
                "name": "age",
                "encoding": "bins",
                "impute": 40.0,
                "edges": [30.0, 50.0],
                "weights": [-0.5, 0.0, 0.75],
                "reference": 0.1,
            },
            {
                "name": "balance",
                "encoding": "standard",
                "impute": 100.0,
                "mean": 100.0,
                "scale": 50.0,
                "weight": 0.4,
                "reference": 0.0,
            },
            {
                "name": "job",
                "encoding": "categorical",
                "impute": "admin",
                "weights": {"admin": 0.2, "student": 1.5},
                "reference": 0.3,
            },
        ],
    }
    card.update(overrides)
    return card


def expected_probability(logit: float) -> float:
    return 1.0 / (1.0 + math.exp(-logit))


def test_score_adds_intercept_bin_scaled_and_category_weights() -> None:
    # Given a scorecard with one binned, one scaled and one categorical feature
    scorer = Scorer(make_card())
    # When a complete row is scored
    score = scorer.score({"age": 55, "balance": 200.0, "job": "student"})
    # Then the logit is intercept + bin weight + scaled weight + category weight
    logit = -1.0 + 0.75 + (200.0 - 100.0) / 50.0 * 0.4 + 1.5
    assert score.logit == pytest.approx(logit, abs=1e-12)
    assert score.probability == pytest.approx(expected_probability(logit), abs=1e-12)
    assert score.prediction == 1
    assert score.imputed == () and score.unknown == ()


@pytest.mark.parametrize(
    ("age", "weight"),
    [(29.999, -0.5), (30.0, 0.0), (49.9, 0.0), (50.0, 0.75), (-1e9, -0.5), (1e9, 0.75)],
)
def test_bin_edges_follow_searchsorted_right(age: float, weight: float) -> None:
    # Given the bin edges 30 and 50 (KBinsDiscretizer semantics: a value on an edge goes right)
    scorer = Scorer(make_card())
    # When ages around and beyond the edges are scored
    score = scorer.score({"age": age, "balance": 100.0, "job": "admin"})
    # Then each lands in the bin searchsorted(side="right") picks
    assert score.logit == pytest.approx(-1.0 + weight + 0.0 + 0.2, abs=1e-12)


def test_missing_fields_are_imputed_and_reported() -> None:
    scorer = Scorer(make_card())
    # When only age is given (and balance is null)
    score = scorer.score({"age": 35, "balance": None})
    # Then balance and job take their training imputation values and are reported
    assert score.imputed == ("balance", "job")
    assert score.logit == pytest.approx(-1.0 + 0.0 + 0.0 + 0.2, abs=1e-12)


def test_unknown_category_contributes_nothing_and_is_reported() -> None:
    score = Scorer(make_card()).score({"age": 35, "balance": 100.0, "job": "astronaut"})
    assert score.unknown == ("job",)
    assert score.logit == pytest.approx(-1.0, abs=1e-12)


def test_reasons_are_contributions_relative_to_reference_strongest_first() -> None:
    score = Scorer(make_card()).score({"age": 20, "balance": 100.0, "job": "student"})
    reasons = score.reasons(top=2)
    # job: 1.5 - 0.3 = +1.2 ; age: -0.5 - 0.1 = -0.6 ; balance: 0
    assert [(r.feature, round(r.contribution, 6)) for r in reasons] == [("job", 1.2), ("age", -0.6)]
    assert reasons[0].describe() == "job=student +1.20"


@pytest.mark.parametrize(
    ("features", "field", "reason"),
    [
        ({"age": "old"}, "age", "expected a number"),
        ({"age": True}, "age", "expected a number"),
        ({"age": float("nan")}, "age", "finite"),
        ({"balance": float("inf")}, "balance", "finite"),
        ({"job": 3}, "job", "expected a category string"),
        ({"salary": 1}, "salary", "is not a feature"),
    ],
)
def test_invalid_input_names_the_field(features: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        Scorer(make_card()).score(features)
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_lenient_mode_ignores_and_reports_unknown_fields() -> None:
    score = Scorer(make_card()).score({"age": 35, "salary": 1, "zip": "x"}, strict=False)
    assert score.ignored == ("salary", "zip")


@pytest.mark.parametrize(
    "card",
    [
        make_card(format="something/2"),
        make_card(threshold=1.5),
        make_card(
            features=[
                {"name": "age", "encoding": "bins", "impute": 1.0, "edges": [1.0], "weights": [0.1]}
            ]
        ),
        make_card(features=[{"name": "x", "encoding": "wavelet", "impute": 0.0}]),
        {k: v for k, v in make_card().items() if k != "intercept"},
    ],
)
def test_malformed_scorecards_are_refused(card: dict[str, Any]) -> None:
    with pytest.raises(ArtifactError):
        Scorer(card)


def test_from_json_rejects_truncated_payload() -> None:
    payload = json.dumps(make_card()).encode()
    assert Scorer.from_json(payload).version == "v7"
    with pytest.raises(ArtifactError):
        Scorer.from_json(payload[: len(payload) // 2])


def test_extreme_logits_do_not_overflow() -> None:
    card = make_card(intercept=-1000.0)
    assert Scorer(card).score({}).probability == pytest.approx(0.0, abs=1e-300)
    card = make_card(intercept=1000.0)
    assert Scorer(card).score({}).probability == 1.0


def test_an_integer_beyond_float_range_is_invalid_input_not_a_crash() -> None:
    with pytest.raises(InvalidInputError) as caught:
        Scorer(make_card()).score({"age": 10**400})
    assert (caught.value.field, caught.value.reason) == ("age", "is too large")
