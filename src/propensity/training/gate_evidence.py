"""The numbers the promotion gate decides on, measured on one set of held-out rows.

For the candidate and each model it must beat (the champion, and a fixed reference a person
approved), scored on the same rows: the paired difference of the gate's metric with its
confidence interval (DeLong for ROC-AUC, a paired bootstrap for the others), calibration
(log-loss, Brier, expected calibration error, mean prediction against the base rate) and, per
slice (each categorical value with enough held-out rows), the mean prediction and ROC-AUC. The
decision itself is plain Python over these numbers (``service/promotion.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm, rankdata
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    f1_score,
    log_loss,
    roc_auc_score,
)

from propensity.config import PromotionConfig
from propensity.training.intervals import paired_bootstrap_difference

_EPS = 1e-12


def _metric(name: str) -> Callable[[NDArray[Any], NDArray[Any]], float]:
    def f1(y: NDArray[Any], p: NDArray[Any]) -> float:
        return float(f1_score(y, p >= 0.5, zero_division=0))

    def accuracy(y: NDArray[Any], p: NDArray[Any]) -> float:
        return float(np.mean((p >= 0.5) == y))

    def neg_log_loss(y: NDArray[Any], p: NDArray[Any]) -> float:
        return -float(log_loss(y, np.clip(p, _EPS, 1 - _EPS), labels=[0, 1]))

    table: dict[str, Callable[[NDArray[Any], NDArray[Any]], float]] = {
        "roc_auc": lambda y, p: float(roc_auc_score(y, p)),
        "pr_auc": lambda y, p: float(average_precision_score(y, p)),
        "f1": f1,
        "accuracy": accuracy,
        "neg_log_loss": neg_log_loss,
    }
    return table[name]


def delong_difference(
    y: NDArray[Any], p_a: NDArray[Any], p_b: NDArray[Any], confidence: float
) -> tuple[float, float, float]:
    """AUC(a) − AUC(b) on the same rows, with its DeLong confidence interval.

    The fast midrank form (Sun & Xu, 2014): one sort per model, no resampling.
    """
    positives, negatives = y == 1, y == 0
    m, n = int(positives.sum()), int(negatives.sum())
    scores = np.vstack([p_a, p_b])
    v10 = np.empty((2, m))
    v01 = np.empty((2, n))
    aucs = np.empty(2)
    for k in range(2):
        x, z = scores[k, positives], scores[k, negatives]
        tx, tz, t = rankdata(x), rankdata(z), rankdata(np.concatenate([x, z]))
        aucs[k] = (t[:m].sum() - m * (m + 1) / 2) / (m * n)
        v10[k] = (t[:m] - tx) / n
        v01[k] = 1.0 - (t[m:] - tz) / m
    s10, s01 = np.cov(v10), np.cov(v01)
    variance = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / m + (
        s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]
    ) / n
    difference = float(aucs[0] - aucs[1])
    half = float(norm.ppf(0.5 + confidence / 2) * np.sqrt(max(variance, 0.0)))
    return difference, difference - half, difference + half


def calibration(y: NDArray[Any], p: NDArray[Any], bins: int = 10) -> dict[str, float]:
    """Log-loss, Brier, expected calibration error (equal-width bins) and mean prediction."""
    clipped = np.clip(p, _EPS, 1 - _EPS)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            ece += in_bin.mean() * abs(float(p[in_bin].mean()) - float(y[in_bin].mean()))
    return {
        "log_loss": float(log_loss(y, clipped, labels=[0, 1])),
        "brier": float(brier_score_loss(y, p)),
        "ece": float(ece),
        "mean_prediction": float(p.mean()),
    }


def _slice_stats(y: NDArray[Any], p: NDArray[Any]) -> dict[str, float | None]:
    auc = float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else None
    return {"mean_prediction": float(p.mean()), "roc_auc": auc}


def gate_evidence(
    rule: PromotionConfig,
    y: NDArray[Any],
    candidate: NDArray[Any],
    comparators: Mapping[str, NDArray[Any]],
    categories: Mapping[str, NDArray[Any]],
    *,
    seed: int = 0,
) -> dict[str, Any]:
    """Every number the gate needs, for the candidate against each comparator on these rows."""
    y = np.asarray(y, dtype=int)
    evidence: dict[str, Any] = {
        "rows": len(y),
        "base_rate": float(y.mean()),
        "metric": rule.metric,
        "confidence": rule.confidence,
        "candidate": {"calibration": calibration(y, candidate)},
        "against": {},
    }
    slices = _slices(rule, y, categories)
    evidence["candidate"]["slices"] = {
        key: {
            "rows": int(rows.sum()),
            "observed_rate": float(y[rows].mean()),
            **_slice_stats(y[rows], candidate[rows]),
        }
        for key, rows in slices.items()
    }
    for name, scores in comparators.items():
        if rule.metric == "roc_auc":
            difference, low, high = delong_difference(y, candidate, scores, rule.confidence)
            method = "delong"
        else:
            paired = paired_bootstrap_difference(
                y,
                candidate,
                scores,
                rule.metric,
                resamples=rule.bootstrap_rounds,
                confidence=rule.confidence,
                seed=seed,
            )
            difference, low, high = paired.difference, paired.low, paired.high
            method = f"paired bootstrap ({rule.bootstrap_rounds} resamples, seed {seed})"
        score = _metric(rule.metric)
        evidence["against"][name] = {
            "metric": score(y, scores),
            "candidate_metric": score(y, candidate),
            "difference": difference,
            "interval": [low, high],
            "method": method,
            "calibration": calibration(y, scores),
            "slices": {key: _slice_stats(y[rows], scores[rows]) for key, rows in slices.items()},
        }
    return evidence


def _slices(
    rule: PromotionConfig, y: NDArray[Any], categories: Mapping[str, NDArray[Any]]
) -> dict[str, NDArray[Any]]:
    """``feature=value`` → row mask, for every named (default: every) categorical value with
    at least ``slice_min_rows`` held-out rows."""
    features = rule.slices if rule.slices is not None else sorted(categories)
    found: dict[str, NDArray[Any]] = {}
    for feature in features:
        values = categories.get(feature)
        if values is None:
            continue
        for value in sorted({v for v in values if isinstance(v, str)}):
            rows = values == value
            if rows.sum() >= rule.slice_min_rows:
                found[f"{feature}={value}"] = rows
    return found
