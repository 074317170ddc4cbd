"""The gate's numbers: DeLong against the bootstrap, calibration, slices."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from sklearn.metrics import roc_auc_score

from propensity.config import PromotionConfig
from propensity.training.gate_evidence import calibration, delong_difference, gate_evidence
from propensity.training.intervals import paired_bootstrap_difference


def _scores(
    n: int = 2000, seed: int = 0
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    a = 1 / (1 + np.exp(-(1.2 * y + rng.normal(0, 1, n))))
    b = 1 / (1 + np.exp(-(1.0 * y + rng.normal(0, 1, n))))
    return y, a, b


def test_delong_matches_sklearn_and_the_paired_bootstrap() -> None:
    # Given two scorers of the same rows
    y, a, b = _scores()
    # When the AUC difference is measured both ways
    difference, low, high = delong_difference(y, a, b, 0.95)
    boot = paired_bootstrap_difference(y, a, b, "roc_auc", resamples=1000, seed=1)
    # Then the point value is sklearn's, and the two 95 % intervals agree to a few thousandths
    assert difference == pytest.approx(roc_auc_score(y, a) - roc_auc_score(y, b), abs=1e-12)
    assert abs(low - boot.low) < 0.006 and abs(high - boot.high) < 0.006
    assert low < difference < high


def test_an_identical_model_has_a_zero_width_interval_at_zero() -> None:
    y, a, _ = _scores()
    assert delong_difference(y, a, a.copy(), 0.95) == (0.0, 0.0, 0.0)


def test_calibration_sees_a_shifted_mean() -> None:
    y, a, _ = _scores()
    shifted = np.clip(a + 0.2, 0, 1)
    assert calibration(y, shifted)["ece"] > calibration(y, a)["ece"] + 0.1
    assert calibration(y, shifted)["mean_prediction"] > calibration(y, a)["mean_prediction"]


def test_slices_need_enough_held_out_rows() -> None:
    y, a, b = _scores(n=500)
    job = np.array(["student"] * 50 + ["admin."] * 450, dtype=object)
    evidence = gate_evidence(
        PromotionConfig(slice_min_rows=100), y, a, {"champion": b}, {"job": job}
    )
    # Then only the value with at least 100 held-out rows is a slice, with its numbers
    assert list(evidence["candidate"]["slices"]) == ["job=admin."]
    stats = evidence["candidate"]["slices"]["job=admin."]
    assert stats["rows"] == 450 and 0 < stats["observed_rate"] < 1
    assert "job=admin." in evidence["against"]["champion"]["slices"]
