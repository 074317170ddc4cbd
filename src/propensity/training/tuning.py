"""Choices made by cross-validation on the training split: C, and how a missing field scores.

One set of stratified folds serves everything: each C of the config's grid is fitted on the
same folds, the best mean ROC-AUC wins, and the winner's out-of-fold predictions are reused
for the decision threshold, so a one-value grid costs what the threshold alone cost before.
The winner's fold models then score their validation rows with fields masked, once imputed and
once at the training mean, and the lower log-loss sets the missing-value policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.base import clone
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline

from propensity.config import ModelConfig
from propensity.training.pipeline import (
    CLASSIFIER_STEP,
    FEATURES_STEP,
    MISSING_POLICIES,
    TRANSFORM_BLOCK,
    build_encoder,
    build_pipeline,
)

FloatArray = NDArray[np.float64]


@dataclass
class Tuning:
    C: float
    oof: FloatArray  # out-of-fold probabilities of the chosen C
    scores: list[dict[str, Any]]  # per C: mean, std and per-fold ROC-AUC
    folds: int
    fold_models: list[tuple[Pipeline, NDArray[np.int_]]]  # chosen C: (model, validation rows)

    def record(self) -> dict[str, Any]:
        return {
            "chosen_C": self.C,
            "scoring": "roc_auc",
            "folds": self.folds,
            "on": "stratified folds of the training split",
            "scores": self.scores,
        }


def tune_c(config: ModelConfig, features: pd.DataFrame, y: NDArray[np.int_]) -> Tuning:
    grid = sorted(set(config.estimator.C_grid)) or [config.estimator.C]
    n_folds = config.estimator.cv_folds
    folds = list(
        StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=config.split.seed).split(
            features, y
        )
    )
    template = build_pipeline(config).named_steps[CLASSIFIER_STEP]
    oof = {c: np.zeros(len(y)) for c in grid}
    fold_scores: dict[float, list[float]] = {c: [] for c in grid}
    models: dict[float, list[tuple[Pipeline, NDArray[np.int_]]]] = {c: [] for c in grid}
    for train_rows, valid_rows in folds:
        # One fold's encoded matrices at a time (every C is fitted on them, each warm-started
        # from the previous C's coefficients, before the next fold is encoded): memory holds
        # one fold's matrices, not all of them, and the fits are the same.
        encoder = build_encoder(config).fit(features.iloc[train_rows])
        train_matrix = encoder.transform(features.iloc[train_rows])
        valid_matrix = encoder.transform(features.iloc[valid_rows])
        previous: Any = None
        for c in grid:
            classifier = clone(template).set_params(C=c, warm_start=True)
            if previous is not None:
                classifier.coef_ = previous.coef_.copy()
                classifier.intercept_ = previous.intercept_.copy()
            classifier.fit(train_matrix, y[train_rows])
            previous = classifier
            oof[c][valid_rows] = classifier.predict_proba(valid_matrix)[:, 1]
            fold_scores[c].append(float(roc_auc_score(y[valid_rows], oof[c][valid_rows])))
            model = Pipeline([(FEATURES_STEP, encoder), (CLASSIFIER_STEP, classifier)])
            models[c].append((model, valid_rows))
        del train_matrix, valid_matrix
    best: Tuning | None = None
    best_mean = -np.inf
    scores: list[dict[str, Any]] = []
    for c in grid:
        mean = float(np.mean(fold_scores[c]))
        scores.append(
            {
                "C": c,
                "mean": mean,
                "std": float(np.std(fold_scores[c])),
                "folds": fold_scores[c],
            }
        )
        if mean > best_mean:
            best, best_mean = Tuning(c, oof[c], scores, n_folds, models[c]), mean
    assert best is not None  # the grid has at least one value
    best.scores = scores
    return best


def _mask(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Each row keeps a random non-empty subset of its fields (size uniform in 1..n-1)."""
    masked = frame.copy()
    n_rows, n_fields = frame.shape
    if n_fields < 2:
        return masked
    keep = rng.integers(1, n_fields, size=n_rows)
    ranks = rng.random((n_rows, n_fields)).argsort(axis=1).argsort(axis=1)
    drop = ranks >= keep[:, None]
    for j, column in enumerate(frame.columns):
        holes = drop[:, j]
        if not holes.any():
            continue
        masked.loc[holes, column] = np.nan  # numeric, text or categorical columns alike
    return masked


def measure_missing(
    config: ModelConfig, tuning: Tuning, features: pd.DataFrame, y: NDArray[np.int_]
) -> dict[str, Any]:
    """Log-loss and mean prediction of both policies on masked validation rows; the choice."""
    rng = np.random.default_rng(config.split.seed)
    truth: list[NDArray[np.int_]] = []
    predicted: dict[str, list[FloatArray]] = {policy: [] for policy in MISSING_POLICIES}
    for model, valid_rows in tuning.fold_models:
        masked = _mask(features.iloc[valid_rows].reset_index(drop=True), rng)
        truth.append(y[valid_rows])
        for policy in MISSING_POLICIES:
            model.set_params(**{f"{FEATURES_STEP}__missing": policy})
            # Block by block: under the mean policy a masked row spreads over every column of
            # its missing groups, so a whole fold's matrix would be several times the others.
            for start in range(0, len(masked), TRANSFORM_BLOCK):
                block = masked.iloc[start : start + TRANSFORM_BLOCK]
                predicted[policy].append(model.predict_proba(block)[:, 1])
        model.set_params(**{f"{FEATURES_STEP}__missing": "impute"})
    y_all = np.concatenate(truth)
    measured = {}
    for policy, parts in predicted.items():
        p = np.concatenate(parts)
        measured[policy] = {
            "log_loss": float(log_loss(y_all, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1])),
            "mean_predicted": float(p.mean()),
        }
    best = min(MISSING_POLICIES, key=lambda policy: measured[policy]["log_loss"])
    configured = config.estimator.missing
    return {
        "configured": configured,
        "chosen": best if configured == "auto" else configured,
        "measured_best": best,
        "positive_rate": float(y_all.mean()),
        "rows": len(y_all),
        "on": (
            f"validation folds of the training split, each row keeping a random 1..n-1 of its "
            f"{features.shape[1]} fields"
        ),
        "policies": measured,
    }
