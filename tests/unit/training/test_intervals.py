"""Bootstrap intervals: the counts-based metrics equal scikit-learn's, seeded and paired."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    log_loss,
    roc_auc_score,
)

from propensity.training.evaluate import lift_table
from propensity.training.intervals import (
    _BLOCK_CELLS,
    _resample_counts,
    bootstrap_intervals,
    metric_on_counts,
    paired_bootstrap_difference,
)


def sample(n: int = 3000, seed: int = 0) -> tuple[NDArray[np.int_], NDArray[np.float64]]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.15).astype(int)
    # Rounded scores: many ties, which the rank metrics must handle as scikit-learn does.
    p = np.clip((0.15 + 0.25 * (y - 0.15) + rng.normal(0, 0.15, n)).round(2), 0.005, 0.995)
    return y.astype(np.int_), p.astype(np.float64)


@pytest.mark.parametrize(
    ("metric", "reference"),
    [
        ("roc_auc", lambda y, p: roc_auc_score(y, p)),
        ("pr_auc", lambda y, p: average_precision_score(y, p)),
        ("brier", lambda y, p: brier_score_loss(y, p)),
        ("f1", lambda y, p: f1_score(y, p >= 0.3)),
        ("accuracy", lambda y, p: accuracy_score(y, p >= 0.3)),
        ("log_loss", lambda y, p: log_loss(y, p)),
    ],
)
def test_metric_on_a_resample_equals_scikit_learn_on_the_drawn_rows(metric, reference) -> None:  # type: ignore[no-untyped-def]
    # Given scores with ties and one bootstrap resample written as row counts
    y, p = sample()
    drawn = np.random.default_rng(3).integers(0, len(y), len(y))
    counts = np.bincount(drawn, minlength=len(y)).astype(float)[None, :]
    function = metric_on_counts(metric, y, p, threshold=0.3)
    # Then the metric of the counts is scikit-learn's on the drawn rows, and on all rows
    assert function(counts)[0] == pytest.approx(reference(y[drawn], p[drawn]), abs=1e-12)
    assert function(np.ones((1, len(y))))[0] == pytest.approx(reference(y, p), abs=1e-12)


def test_intervals_are_seeded_and_contain_the_estimate() -> None:
    # Given one evaluation set
    y, p = sample()
    # When intervals are computed twice with the same seed and once with another
    first = bootstrap_intervals(y, p, threshold=0.3, resamples=300, seed=5)
    again = bootstrap_intervals(y, p, threshold=0.3, resamples=300, seed=5)
    other = bootstrap_intervals(y, p, threshold=0.3, resamples=300, seed=6)
    # Then the same seed gives the same numbers, another seed others, and each brackets the value
    assert first == again
    assert first["roc_auc"] != other["roc_auc"]
    assert first["roc_auc"]["low"] < roc_auc_score(y, p) < first["roc_auc"]["high"]
    assert first["brier"]["low"] < brier_score_loss(y, p) < first["brier"]["high"]
    assert {"roc_auc", "pr_auc", "brier", "f1"} <= set(first)


def test_paired_difference_is_tighter_than_the_unpaired_intervals() -> None:
    # Given two models that share most of their noise: b is a slightly blurred a
    y, p_a = sample(seed=1)
    p_b = np.clip(p_a + np.random.default_rng(2).normal(0, 0.03, len(p_a)), 0, 1)
    # When their ROC-AUC difference is bootstrapped on the same resamples
    paired = paired_bootstrap_difference(y, p_a, p_b, "roc_auc", resamples=400, seed=9)
    # Then the point difference is the difference of the two AUCs
    assert paired.difference == pytest.approx(roc_auc_score(y, p_a) - roc_auc_score(y, p_b))
    assert paired.low <= paired.difference <= paired.high
    # and its interval is much narrower than either model's own interval
    alone = bootstrap_intervals(y, p_a, threshold=0.5, metrics=["roc_auc"], resamples=400, seed=9)
    assert paired.high - paired.low < 0.5 * (alone["roc_auc"]["high"] - alone["roc_auc"]["low"])
    # and a model against itself differs by exactly zero
    same = paired_bootstrap_difference(y, p_a, p_a, "f1", threshold_a=0.3, resamples=50)
    assert same.difference == same.low == same.high == 0.0
    assert same.as_dict()["metric"] == "f1"


def test_an_unknown_metric_is_refused() -> None:
    y, p = sample(100)
    with pytest.raises(ValueError, match="no bootstrap"):
        paired_bootstrap_difference(y, p, p, "auc")


def test_lift_table_ranks_deciles_and_accumulates_gains() -> None:
    # Given 100 rows whose 10 positives are the 10 highest scores
    p = np.linspace(1.0, 0.01, 100, dtype=np.float64)
    y = np.zeros(100, dtype=int)
    y[:10] = 1
    # When the lift table is built
    rows = lift_table(y, p)
    # Then the first decile holds every positive: lift 10, gain 1, and the rest add nothing
    assert [r["rows"] for r in rows] == [10] * 10
    assert rows[0]["positives"] == 10 and rows[0]["lift"] == pytest.approx(10.0)
    assert [r["gain"] for r in rows] == [1.0] * 10
    assert rows[-1]["cumulative_lift"] == pytest.approx(1.0)
    assert rows[0]["min_score"] >= rows[1]["max_score"]


def test_a_large_test_set_is_resampled_in_blocks_of_bounded_size() -> None:
    # Given test sets of 20,000 rows (the largest with blocks of 100 resamples) and 250,000
    for rows in (20_000, 250_000):
        # When 300 bootstrap resamples of their rows are drawn
        blocks = list(_resample_counts(rows, 300, seed=3))
        # Then every block holds at most _BLOCK_CELLS counts, all 300 resamples are drawn,
        # and each resample draws every row's worth of rows
        assert all(b.size <= _BLOCK_CELLS for b in blocks)
        assert sum(len(b) for b in blocks) == 300
        assert all((b.sum(axis=1) == rows).all() for b in blocks)
    # And up to 20,000 rows the blocks are the 100 resamples they always were
    assert [len(b) for b in _resample_counts(20_000, 300, seed=3)] == [100, 100, 100]
