"""The Spark backend's histogram quantiles equal the scikit-learn path's on the expanded column."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from propensity.training.compile import _numeric_range
from propensity.training.pipeline import quantile_edges
from propensity.training.spark.edges import (
    Histogram,
    histogram_edges,
    histogram_median,
    histogram_range,
)


def _columns() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    columns = [
        rng.integers(-5, 30, 997).astype(float),  # heavy repeats: tiny bins merged
        np.round(rng.normal(0, 100, 1000), 2),
        rng.exponential(3.0, 501),
        np.concatenate([np.full(700, -1.0), rng.integers(0, 5, 300)]).astype(float),
        np.array([1.0, 2.0]),
        np.array([3.0, 3.0, 3.0, 4.0]),
    ]
    columns += [rng.integers(0, 8, int(n)).astype(float) for n in rng.integers(2, 60, 40)]
    return columns


@pytest.mark.parametrize("n_bins", [2, 4, 10, 20, 37])
def test_edges_equal_kbins_quantile_edges_bit_for_bit(n_bins: int) -> None:
    # Given columns with repeats, ties, sentinels and a few values
    for column in _columns():
        # When the edges come from the column's value counts
        histogram = Histogram.of(Counter(column.tolist()))
        # Then they are exactly KBinsDiscretizer's (the scorecard's boundaries)
        assert histogram_edges(histogram, n_bins) == quantile_edges(column, n_bins)


def test_median_equals_numpy_median_exactly() -> None:
    for column in _columns():
        assert histogram_median(Histogram.of(Counter(column.tolist()))) == float(np.median(column))


def test_range_matches_the_sklearn_compiler_to_rounding() -> None:
    for column in _columns():
        expected = _numeric_range(pd.Series(column))
        got = histogram_range(Histogram.of(Counter(column.tolist())))
        assert got.keys() == expected.keys()
        for key, value in expected.items():
            assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-12)


def test_constant_or_empty_column_has_no_edges() -> None:
    assert histogram_edges(Histogram.of({5.0: 10}), 10) == quantile_edges(np.full(10, 5.0), 10)
    assert histogram_edges(Histogram.of({}), 10) == []
    assert histogram_median(Histogram.of({})) == 0.0


def test_imputed_and_sentinel_rows_move_the_edges_as_in_the_encoder() -> None:
    # Given a column with missing values and a sentinel, as ScorecardEncoder.fit sees it
    column = np.array([np.nan, -1.0, -1.0, 3.0, 5.0, 8.0, 8.0, 13.0, np.nan, 21.0])
    present = column[~np.isnan(column)]
    impute = float(np.median(present))
    filled = np.where(np.isnan(column), impute, column)
    real = filled[filled != -1.0]
    # When the histogram is built the way the Spark encoding builds it
    histogram = Histogram.of(Counter(present.tolist()))
    missing = int(np.isnan(column).sum())
    spark_real = histogram.plus(histogram_median(histogram), missing).without([-1.0])
    # Then median and edges are the encoder's
    assert histogram_median(histogram) == impute
    assert histogram_edges(spark_real, 4) == quantile_edges(real, 4)
