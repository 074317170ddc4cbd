"""Exact quantiles from a value histogram: the Spark backend's bin edges, medians and ranges.

Spark aggregates each numeric column into (distinct value, count) pairs; these functions turn
such a histogram into the very numbers numpy computes on the expanded column, so the Spark
scorecard's boundaries equal the scikit-learn path's (``training.pipeline.quantile_edges``:
``KBinsDiscretizer(strategy="quantile", quantile_method="averaged_inverted_cdf")``, bins no
wider than 1e-8 merged). No Spark here: plain numpy, unit-tested against the originals.

The histogram costs one row per distinct value on the driver: fine for binned features (a few
thousand distinct values in bank), large for a continuous column with a distinct value per row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

# KBinsDiscretizer removes bins whose width is at most this.
MIN_BIN_WIDTH = 1e-8


@dataclass(frozen=True)
class Histogram:
    """Sorted distinct values and how many rows hold each (NaN never included)."""

    values: NDArray[np.float64]
    counts: NDArray[np.int64]

    @classmethod
    def of(cls, counts: Mapping[float, int]) -> Histogram:
        items = sorted((float(v), int(c)) for v, c in counts.items() if c > 0 and not math.isnan(v))
        return cls(
            np.array([v for v, _ in items], dtype=np.float64),
            np.array([c for _, c in items], dtype=np.int64),
        )

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def without(self, drop: list[float]) -> Histogram:
        keep = ~np.isin(self.values, np.asarray(drop, dtype=np.float64))
        return Histogram(self.values[keep], self.counts[keep])

    def plus(self, value: float, count: int) -> Histogram:
        """``count`` more rows of ``value`` (missing values imputed)."""
        if count == 0:
            return self
        merged = dict(zip(self.values.tolist(), self.counts.tolist(), strict=True))
        merged[value] = merged.get(value, 0) + count
        return Histogram.of(merged)

    def order_statistics(self, indexes: NDArray[np.intp]) -> NDArray[np.float64]:
        """The values at 0-based positions of the sorted expanded column."""
        ends = np.cumsum(self.counts)
        return self.values[np.searchsorted(ends, indexes, side="right")]


def _positions(n: int, floors: NDArray[np.float64], virtual: NDArray[np.float64]) -> NDArray[Any]:
    previous = floors.astype(np.intp)
    previous[virtual >= n - 1] = n - 1
    previous[virtual < 0] = 0
    return previous


def _lerp(a: NDArray[np.float64], b: NDArray[np.float64], t: NDArray[np.float64]) -> NDArray[Any]:
    """numpy's own interpolation (``numpy.lib._function_base_impl._lerp``), bit for bit."""
    diff = b - a
    return np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)


def averaged_inverted_cdf(histogram: Histogram, quantiles: NDArray[np.float64]) -> NDArray[Any]:
    """``np.percentile(column, 100 * quantiles, method="averaged_inverted_cdf")``."""
    n = histogram.n
    virtual = n * quantiles - 1
    floors = np.floor(virtual)
    previous = _positions(n, floors, virtual)
    following = previous + 1
    following[virtual >= n - 1] = n - 1
    following[virtual < 0] = 0
    # numpy takes gamma against the clipped previous index; only gamma == 0 averages.
    gamma = np.where(virtual - np.where(virtual >= n - 1, -1, previous) == 0, 0.5, 1.0)
    return _lerp(histogram.order_statistics(previous), histogram.order_statistics(following), gamma)


def linear_quantiles(histogram: Histogram, quantiles: NDArray[np.float64]) -> NDArray[Any]:
    """``np.quantile(column, quantiles)`` (method "linear", as pandas' ``Series.quantile``)."""
    n = histogram.n
    # numpy's virtual index for alpha = beta = 1, in its own order of operations.
    virtual = n * quantiles + (1 + quantiles * (1 - 1 - 1)) - 1
    floors = np.floor(virtual)
    previous = _positions(n, floors, virtual)
    following = np.minimum(previous + 1, n - 1)
    following[virtual >= n - 1] = n - 1
    gamma = virtual - floors
    gamma[virtual >= n - 1] = 0.0
    return _lerp(histogram.order_statistics(previous), histogram.order_statistics(following), gamma)


def histogram_edges(histogram: Histogram, n_bins: int) -> list[float]:
    """``quantile_edges(expanded column, n_bins)``: inner edges, tiny bins merged."""
    if len(histogram.values) < 2:
        return []
    levels = np.true_divide(np.linspace(0, 100, n_bins + 1), 100)
    edges = np.asarray(averaged_inverted_cdf(histogram, levels), dtype=np.float64)
    keep = np.ediff1d(edges, to_begin=np.inf) > MIN_BIN_WIDTH
    return [float(e) for e in edges[keep][1:-1]]


def histogram_median(histogram: Histogram) -> float:
    """``np.median`` of the expanded column: the middle value, or the mean of the middle two."""
    n = histogram.n
    if n == 0:
        return 0.0
    middle = histogram.order_statistics(np.array([(n - 1) // 2, n // 2], dtype=np.intp))
    if n % 2:
        return float(middle[0])
    return float((middle[0] + middle[1]) / 2.0)


def histogram_range(histogram: Histogram) -> dict[str, float]:
    """What ``training.compile`` records as a numeric feature's training range."""
    if histogram.n == 0:
        return {}
    # pandas passes percentages to numpy, which divides them by 100 again.
    levels = np.true_divide(np.array([0.01, 0.5, 0.99]) * 100, 100)
    p01, p50, p99 = linear_quantiles(histogram, levels)
    return {
        "min": float(histogram.values[0]),
        "p01": float(p01),
        "p50": float(p50),
        "p99": float(p99),
        "max": float(histogram.values[-1]),
        "integer": bool(np.all(histogram.values == np.round(histogram.values))),
    }
