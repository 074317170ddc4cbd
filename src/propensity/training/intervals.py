"""Seeded bootstrap intervals for evaluation metrics, single and paired.

A bootstrap resample is a vector of row counts (how often each row was drawn), so every metric
is computed for a block of resamples at once with matrix products: 1,000 resamples of ROC-AUC,
PR-AUC, Brier and F1 on 9,000 rows take well under a second, which matters because every
retrain evaluates. ``paired_bootstrap_difference`` draws the same rows for both models, so their
difference's interval is much tighter than the two intervals suggest (shared noise cancels).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int_]

INTERVAL_METRICS = ("roc_auc", "pr_auc", "brier", "f1")
_CHUNK = 100  # resamples per block, at most
# Counts per block, at most: 100 resamples of up to 20,000 rows, fewer resamples per block for
# more rows, so that each of a block's arrays stays about 16 MB however large the test set is.
_BLOCK_CELLS = 2_000_000


@dataclass(frozen=True)
class _Sorted:
    """Rows sorted by score, descending, with the start of each run of equal scores."""

    order: IntArray
    positive: FloatArray
    starts: IntArray


def _sorted(y: IntArray, proba: FloatArray) -> _Sorted:
    order = np.argsort(-proba, kind="stable")
    ranked = proba[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    return _Sorted(order, y[order].astype(float), starts)


def _group_sums(counts: FloatArray, ranked: _Sorted) -> tuple[FloatArray, FloatArray]:
    """Per resample and per run of equal scores (descending): weighted positives, negatives."""
    weights = counts[:, ranked.order]
    positives = np.add.reduceat(weights * ranked.positive, ranked.starts, axis=1)
    negatives = np.add.reduceat(weights * (1.0 - ranked.positive), ranked.starts, axis=1)
    return positives, negatives


def _roc_auc(counts: FloatArray, ranked: _Sorted) -> FloatArray:
    positives, negatives = _group_sums(counts, ranked)
    # Negatives scoring strictly lower than a run = all negatives of later runs (descending).
    lower = negatives[:, ::-1].cumsum(axis=1)[:, ::-1] - negatives
    pairs = positives.sum(axis=1) * negatives.sum(axis=1)
    wins = (positives * (lower + 0.5 * negatives)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, wins / pairs, np.nan)


def _pr_auc(counts: FloatArray, ranked: _Sorted) -> FloatArray:
    # Average precision as scikit-learn defines it: sum over thresholds of ΔRecall x Precision.
    positives, negatives = _group_sums(counts, ranked)
    tp = positives.cumsum(axis=1)
    predicted = tp + negatives.cumsum(axis=1)
    total = positives.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        ap = (positives * precision).sum(axis=1) / total
    return np.where(total > 0, ap, np.nan)


def _per_row(values: FloatArray) -> Callable[[FloatArray], FloatArray]:
    def mean(counts: FloatArray) -> FloatArray:
        return np.asarray(counts @ values / counts.sum(axis=1), dtype=float)

    return mean


def _f1(counts: FloatArray, y: IntArray, predicted: NDArray[np.bool_]) -> FloatArray:
    tp = counts @ (predicted & (y == 1)).astype(float)
    fp = counts @ (predicted & (y == 0)).astype(float)
    fn = counts @ (~predicted & (y == 1)).astype(float)
    denominator = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 2 * tp / denominator, 0.0)


MetricOnCounts = Callable[[FloatArray], FloatArray]


def metric_on_counts(
    metric: str, y: ArrayLike, proba: ArrayLike, *, threshold: float = 0.5
) -> MetricOnCounts:
    """``metric`` of (y, proba) as a function of a block of row-count vectors (one per row)."""
    y_arr = np.asarray(y, dtype=int)
    p_arr = np.asarray(proba, dtype=float)
    predicted = p_arr >= threshold
    if metric == "roc_auc":
        ranked = _sorted(y_arr, p_arr)
        return lambda counts: _roc_auc(counts, ranked)
    if metric == "pr_auc":
        ranked = _sorted(y_arr, p_arr)
        return lambda counts: _pr_auc(counts, ranked)
    if metric == "brier":
        return _per_row((p_arr - y_arr) ** 2)
    if metric == "f1":
        return lambda counts: _f1(counts, y_arr, predicted)
    if metric == "accuracy":
        return _per_row((predicted == (y_arr == 1)).astype(float))
    if metric in ("log_loss", "neg_log_loss"):
        clipped = np.clip(p_arr, 1e-15, 1 - 1e-15)
        loss = -(y_arr * np.log(clipped) + (1 - y_arr) * np.log(1 - clipped))
        sign = -1.0 if metric == "neg_log_loss" else 1.0
        return _per_row(sign * loss)
    raise ValueError(f"no bootstrap for metric {metric!r}")


def _resample_counts(rows: int, resamples: int, seed: int) -> Any:
    """Blocks of bootstrap row counts, the same for the same (rows, resamples, seed); at most
    ``_BLOCK_CELLS`` counts per block (up to 20,000 rows the blocks of 100 resamples as ever)."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < resamples:
        block = min(_CHUNK, max(1, _BLOCK_CELLS // max(1, rows)), resamples - done)
        drawn = rng.integers(0, rows, size=(block, rows))
        offsets = (np.arange(block) * rows)[:, None]
        counts = np.bincount((drawn + offsets).ravel(), minlength=block * rows)
        yield counts.reshape(block, rows).astype(float)
        done += block


def _bounds(samples: FloatArray, confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2.0 * 100.0
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return float("nan"), float("nan")
    low, high = np.percentile(finite, [tail, 100.0 - tail])
    return float(low), float(high)


def bootstrap_intervals(
    y: ArrayLike,
    proba: ArrayLike,
    *,
    threshold: float,
    metrics: Sequence[str] = INTERVAL_METRICS,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 42,
) -> dict[str, Any]:
    """Percentile intervals of each metric over ``resamples`` seeded bootstrap resamples."""
    y_arr = np.asarray(y, dtype=int)
    functions = {m: metric_on_counts(m, y_arr, proba, threshold=threshold) for m in metrics}
    samples: dict[str, list[FloatArray]] = {m: [] for m in metrics}
    for counts in _resample_counts(len(y_arr), resamples, seed):
        for name, function in functions.items():
            samples[name].append(function(counts))
    result: dict[str, Any] = {
        "confidence": confidence,
        "resamples": resamples,
        "seed": seed,
        "method": "percentile bootstrap over rows",
    }
    for name in metrics:
        low, high = _bounds(
            np.concatenate(samples[name]) if samples[name] else np.empty(0), confidence
        )
        result[name] = {"low": low, "high": high}
    return result


@dataclass(frozen=True)
class PairedDifference:
    """``metric(a) - metric(b)`` on the same rows, with its paired bootstrap interval."""

    metric: str
    difference: float
    low: float
    high: float
    value_a: float
    value_b: float
    confidence: float
    resamples: int
    seed: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def paired_bootstrap_difference(
    y: ArrayLike,
    p_a: ArrayLike,
    p_b: ArrayLike,
    metric: str,
    *,
    threshold_a: float = 0.5,
    threshold_b: float | None = None,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 42,
) -> PairedDifference:
    """Difference of ``metric`` between models a and b, each resample drawing the same rows.

    ``metric`` is one of roc_auc, pr_auc, brier, f1, accuracy, log_loss, neg_log_loss; the
    thresholds matter for f1 and accuracy only (b's defaults to a's). For a lower-is-better
    metric (brier, log_loss) a negative difference means a is better.
    """
    y_arr = np.asarray(y, dtype=int)
    on_a = metric_on_counts(metric, y_arr, p_a, threshold=threshold_a)
    on_b = metric_on_counts(
        metric, y_arr, p_b, threshold=threshold_a if threshold_b is None else threshold_b
    )
    whole = np.ones((1, len(y_arr)))
    value_a, value_b = float(on_a(whole)[0]), float(on_b(whole)[0])
    differences = [on_a(c) - on_b(c) for c in _resample_counts(len(y_arr), resamples, seed)]
    low, high = _bounds(np.concatenate(differences) if differences else np.empty(0), confidence)
    return PairedDifference(
        metric=metric,
        difference=value_a - value_b,
        low=low,
        high=high,
        value_a=value_a,
        value_b=value_b,
        confidence=confidence,
        resamples=resamples,
        seed=seed,
    )
