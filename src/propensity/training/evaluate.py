"""Metrics, the majority-class baseline, curves, calibration and threshold choice."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from propensity.config import EvaluationConfig, ThresholdConfig
from propensity.training.intervals import bootstrap_intervals

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int_]

SCALAR_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "brier", "log_loss")
_CURVE_POINTS = 200
_CALIBRATION_BINS = 10
LIFT_GROUPS = 10


def choose_threshold(
    y_true: IntArray, proba: FloatArray, config: ThresholdConfig
) -> tuple[float, dict[str, Any]]:
    """The decision threshold the config's strategy picks on (out-of-fold) predictions."""
    if config.strategy == "fixed":
        return config.value, {"strategy": "fixed", "value": config.value}
    order = np.argsort(-proba, kind="stable")
    sorted_proba = proba[order]
    sorted_true = y_true[order]
    # Candidate thresholds: each distinct score; predicting positive for proba >= candidate.
    last_of_run = np.r_[sorted_proba[1:] != sorted_proba[:-1], True]
    tp = np.cumsum(sorted_true)[last_of_run]
    fp = np.cumsum(1 - sorted_true)[last_of_run]
    candidates = sorted_proba[last_of_run]
    positives = int(y_true.sum())
    fn = positives - tp
    if config.strategy == "max_f1":
        f1 = np.where(tp > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
        best = int(np.argmax(f1))
        details = {"strategy": "max_f1", "f1": float(f1[best])}
    else:
        cost = config.fp_cost * fp + config.fn_cost * fn
        best = int(np.argmin(cost))
        details = {
            "strategy": "cost",
            "fp_cost": config.fp_cost,
            "fn_cost": config.fn_cost,
            "expected_cost_per_row": float(cost[best] / len(y_true)),
        }
    # Keep the threshold strictly inside (0, 1) so it stays a valid scorecard value.
    value = float(np.clip(candidates[best], 1e-6, 1 - 1e-6))
    details["value"] = value
    details["chosen_on"] = f"{len(y_true)} out-of-fold predictions of the training split"
    return value, details


def _downsample(*arrays: FloatArray) -> list[list[float]]:
    size = len(arrays[0])
    if size > _CURVE_POINTS:
        keep = np.unique(np.linspace(0, size - 1, _CURVE_POINTS).round().astype(int))
    else:
        keep = np.arange(size)
    return [[float(v) for v in a[keep]] for a in arrays]


def scalar_metrics(y_true: IntArray, proba: FloatArray, threshold: float) -> dict[str, float]:
    predicted = (proba >= threshold).astype(int)
    both_classes = len(np.unique(y_true)) == 2
    clipped = np.clip(proba, 1e-15, 1 - 1e-15)
    return {
        "accuracy": float(accuracy_score(y_true, predicted)),
        "precision": float(precision_score(y_true, predicted, zero_division=0)),
        "recall": float(recall_score(y_true, predicted, zero_division=0)),
        "f1": float(f1_score(y_true, predicted, zero_division=0)),
        "roc_auc": float(roc_auc_score(y_true, proba)) if both_classes else float("nan"),
        "pr_auc": float(average_precision_score(y_true, proba)) if both_classes else float("nan"),
        "brier": float(brier_score_loss(y_true, proba)),
        "log_loss": float(log_loss(y_true, clipped, labels=[0, 1])),
    }


def calibration_bins(
    y_true: IntArray, proba: FloatArray, bins: int = _CALIBRATION_BINS
) -> list[dict[str, float]]:
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, proba, side="right") - 1, 0, bins - 1)
    rows = []
    for b in range(bins):
        mask = index == b
        count = int(mask.sum())
        rows.append(
            {
                "lower": float(edges[b]),
                "upper": float(edges[b + 1]),
                "count": count,
                "mean_predicted": float(proba[mask].mean()) if count else float("nan"),
                "fraction_positive": float(y_true[mask].mean()) if count else float("nan"),
            }
        )
    return rows


def lift_table(
    y_true: IntArray, proba: FloatArray, groups: int = LIFT_GROUPS
) -> list[dict[str, Any]]:
    """Deciles by score, highest first: who a campaign calling the top k % would reach.

    ``lift`` is the decile's positive rate over the overall rate; ``gain`` the share of all
    positives found in the deciles so far (the gains curve); ``cumulative_lift`` the same as a
    ratio to calling at random.
    """
    y_true = np.asarray(y_true, dtype=int)
    order = np.argsort(-np.asarray(proba, dtype=float), kind="stable")
    total, positives = len(y_true), int(y_true.sum())
    rate = positives / total if total else float("nan")
    rows: list[dict[str, Any]] = []
    seen = found = 0
    for decile, members in enumerate(np.array_split(order, min(groups, max(total, 1))), start=1):
        count, hits = len(members), int(y_true[members].sum())
        seen, found = seen + count, found + hits
        decile_rate = hits / count if count else float("nan")
        rows.append(
            {
                "decile": decile,
                "rows": count,
                "positives": hits,
                "positive_rate": decile_rate,
                "min_score": float(proba[members].min()) if count else float("nan"),
                "max_score": float(proba[members].max()) if count else float("nan"),
                "lift": decile_rate / rate if rate else float("nan"),
                "cumulative_rows_share": seen / total,
                "gain": found / positives if positives else float("nan"),
                "cumulative_lift": (found / seen) / rate if rate and seen else float("nan"),
            }
        )
    return rows


def evaluate(
    y_true: IntArray,
    proba: FloatArray,
    threshold: float,
    *,
    y_train: IntArray,
    description: str,
    intervals: EvaluationConfig | None = None,
) -> dict[str, Any]:
    """Everything metrics.json holds about one model on one evaluation set.

    With ``intervals``, seeded bootstrap intervals of ROC-AUC, PR-AUC, Brier and F1.
    """
    y_true = np.asarray(y_true, dtype=int)
    proba = np.asarray(proba, dtype=float)
    predicted = (proba >= threshold).astype(int)
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y_true, predicted, labels=[0, 1]).ravel())
    # Majority-class baseline (as the telecom reference system reports): always predicts the
    # training split's majority class, with the training prevalence as its probability.
    prevalence = float(np.mean(y_train))
    majority = int(prevalence >= 0.5)
    baseline_proba = np.full(len(y_true), prevalence)
    baseline: dict[str, Any] = scalar_metrics(
        y_true, baseline_proba, 0.5 if majority else 1.0 - 1e-12
    )
    baseline.update(strategy="majority_class", predicts=majority)
    metrics: dict[str, Any] = scalar_metrics(y_true, proba, threshold)
    fpr, tpr, _ = roc_curve(y_true, proba)
    precision, recall, _ = precision_recall_curve(y_true, proba)
    roc_fpr, roc_tpr = _downsample(fpr, tpr)
    pr_precision, pr_recall = _downsample(precision[::-1], recall[::-1])
    metrics.update(
        confusion_matrix={"tn": tn, "fp": fp, "fn": fn, "tp": tp},
        baseline=baseline,
        curves={
            "roc": {"fpr": roc_fpr, "tpr": roc_tpr},
            "pr": {"precision": pr_precision, "recall": pr_recall},
        },
        calibration={"bins": calibration_bins(y_true, proba)},
        # Calibration in the large: a model whose mean prediction is far from the rate is off.
        mean_predicted=float(proba.mean()) if len(proba) else float("nan"),
        positive_rate=float(y_true.mean()) if len(y_true) else float("nan"),
        lift=lift_table(y_true, proba),
        evaluated_on={
            "rows": len(y_true),
            "positives": int(y_true.sum()),
            "description": description,
        },
    )
    if intervals is not None and intervals.bootstrap_resamples > 0:
        metrics["intervals"] = bootstrap_intervals(
            y_true,
            proba,
            threshold=threshold,
            resamples=intervals.bootstrap_resamples,
            confidence=intervals.confidence,
            seed=intervals.bootstrap_seed,
        )
    return metrics
