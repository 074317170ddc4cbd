"""Sentinels, crosses, the missing-value policy and reasons, on hand-written scorecards."""

from __future__ import annotations

import math
from typing import Any

import pytest

from propensity.errors import ArtifactError
from propensity.scoring import SCORECARD_FORMAT, Scorer


def make_card(**overrides: Any) -> dict[str, Any]:
    card: dict[str, Any] = {
        "format": SCORECARD_FORMAT,
        "model": "demo",
        "intercept": -1.0,
        "threshold": 0.5,
        "features": [
            {
                "name": "pdays",
                "encoding": "bins",
                "impute": -1.0,
                "sentinels": [{"value": -1.0, "weight": -0.7}],
                "edges": [100.0],
                "weights": [0.4, 0.1],
                "reference": -0.5,
            },
            {
                "name": "month",
                "encoding": "categorical",
                "impute": "may",
                "weights": {"mar": 0.9, "may": -0.3},
                "reference": -0.1,
            },
            {
                "name": "contact",
                "encoding": "categorical",
                "impute": "cellular",
                "weights": {"cellular": 0.2, "unknown": -0.8},
                "reference": 0.0,
            },
        ],
        "crosses": [
            {
                "name": "month × contact",
                "features": ["month", "contact"],
                "cells": {"mar": {"cellular": 0.41}, "may": {"unknown": -0.2}},
                "reference": 0.05,
            },
            {
                "name": "month × pdays",
                "features": ["month", "pdays"],
                "edges": [100.0],
                "sentinels": [-1.0],
                "cells": {"mar": {"=-1": 0.3, "bin1": -0.6}},
                "reference": 0.0,
            },
        ],
    }
    card.update(overrides)
    return card


def sigmoid(logit: float) -> float:
    return 1.0 / (1.0 + math.exp(-logit))


@pytest.mark.parametrize(
    ("pdays", "own", "cross"),
    [(-1, -0.7, 0.3), (-1.0, -0.7, 0.3), (50, 0.4, 0.0), (150.0, 0.1, -0.6), (-2, 0.4, 0.0)],
)
def test_a_sentinel_has_its_own_weight_and_cross_level(
    pdays: float, own: float, cross: float
) -> None:
    # Given pdays with the sentinel -1 (its own weight) and bins around 100 for real values
    scorer = Scorer(make_card())
    # When rows differing only in pdays are scored
    score = scorer.score({"pdays": pdays, "month": "mar", "contact": "cellular"})
    # Then the sentinel takes its own weight, not the first bin's, in the feature and the cross
    expected = -1.0 + own + 0.9 + 0.2 + 0.41 + cross
    assert score.logit == pytest.approx(expected, abs=1e-12)
    assert score.probability == pytest.approx(sigmoid(expected), abs=1e-12)


def test_a_cross_adds_the_weight_of_the_seen_pair_and_nothing_for_an_unseen_one() -> None:
    scorer = Scorer(make_card())
    # Given a pair seen in training and one that was not
    seen = scorer.score({"pdays": 50, "month": "may", "contact": "unknown"})
    unseen = scorer.score({"pdays": 50, "month": "may", "contact": "cellular"})
    # Then the seen pair adds its cell's weight and the unseen pair adds zero
    assert seen.logit == pytest.approx(-1.0 + 0.4 - 0.3 - 0.8 - 0.2, abs=1e-12)
    assert unseen.logit == pytest.approx(-1.0 + 0.4 - 0.3 + 0.2, abs=1e-12)
    # and a cross is listed after the features, with the pair it scored
    assert seen.names[-2:] == ("month × contact", "month × pdays")
    assert seen.values[-2] == ("may", "unknown")


def test_a_cross_reason_names_both_members() -> None:
    # Given a row whose strongest effect is the month × contact cell
    card = make_card()
    card["crosses"][0]["cells"]["mar"]["cellular"] = 2.5
    score = Scorer(card).score({"pdays": 50, "month": "mar", "contact": "cellular"})
    # When its reasons are read
    top = score.reasons(1)[0]
    # Then the reason names the cross the way the model card does
    assert top.feature == "month × contact"
    assert top.describe() == "month=mar × contact=cellular +2.45"


def test_a_missing_field_is_never_a_reason_nor_a_cross_it_belongs_to() -> None:
    # Given a row without month, whose imputed value ("may") and cross have large effects
    card = make_card()
    card["features"][1]["weights"]["may"] = -3.0
    card["crosses"][0]["cells"]["may"]["cellular"] = -2.0
    score = Scorer(card).score({"pdays": 150, "contact": "cellular"})
    # When the reasons are read
    reasons = score.reasons(5)
    # Then month and every cross with month are left out, though they moved the score
    assert "month" in score.imputed
    assert {r.feature for r in reasons} == {"pdays", "contact"}
    assert score.logit == pytest.approx(-1.0 + 0.1 - 3.0 + 0.2 - 2.0 + 0.0, abs=1e-12)


def test_missing_policy_mean_gives_a_missing_field_zero_effect() -> None:
    # Given the same scorecard with the "mean" missing-value policy
    scorer = Scorer(make_card(missing="mean"))
    # When a row without month is scored
    score = scorer.score({"pdays": 150, "contact": "cellular"})
    # Then month and its crosses contribute their reference (training average): zero effect
    expected = -1.0 + 0.1 + (-0.1) + 0.2 + 0.05 + 0.0
    assert score.logit == pytest.approx(expected, abs=1e-12)
    effects = dict(zip(score.names, score.effects, strict=True))
    assert effects["month"] == effects["month × contact"] == effects["month × pdays"] == 0.0
    assert score.imputed == ("month",)


@pytest.mark.parametrize(
    "card",
    [
        make_card(missing="median"),
        make_card(crosses=[{"name": "x", "features": ["pdays", "month"], "cells": {}}]),
        make_card(crosses=[{"name": "x", "features": ["month", "nope"], "cells": {}}]),
    ],
)
def test_malformed_crosses_and_policies_are_refused(card: dict[str, Any]) -> None:
    with pytest.raises(ArtifactError):
        Scorer(card)
