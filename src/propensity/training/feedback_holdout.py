"""A second held-out set: a fixed, hash-chosen share of the feedback, never trained on.

The base split's held-out rows are the same for every version, and the gate decides on them
alone. Feedback brings fresh labels; the share ``evaluation.feedback_holdout_share`` of it,
chosen by a SHA-256 of the feedback id, stays out of training at every retrain: the same row
always lands on the same side, so a row held out once never leaks into a later version. The
candidate, the champion and the reference are scored on those rows, and the numbers go beside
the base split in the version record (``extra.feedback_holdout``): evidence a reviewer reads,
not a guard.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.metrics import roc_auc_score

from propensity.columns import FeedbackColumns
from propensity.config import ModelConfig
from propensity.scoring import Scorer
from propensity.training.gate_evidence import calibration, delong_difference

# Part of the hashed text, so the choice is independent of any other use of the ids' hashes.
_DOMAIN = b"propensity/feedback-holdout\x1f"
_SELECTION = "SHA-256 of the feedback id, as a fraction of 2^64, below the share"


def holdout_point(feedback_id: str) -> float:
    """The id's fixed place in [0, 1): the same in every process, platform and Python version
    (``hash()`` is salted per process; SHA-256 is not)."""
    digest = hashlib.sha256(_DOMAIN + feedback_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def is_held_out(feedback_id: str, share: float) -> bool:
    """Whether this feedback belongs to the feedback hold-out at ``share``.

    Monotone in ``share``: raising it only moves rows out of training, never back in.
    """
    return holdout_point(feedback_id) < share


def split_feedback(
    feedback: FeedbackColumns, share: float
) -> tuple[FeedbackColumns, FeedbackColumns]:
    """(the feedback training may use, the feedback held out), in their given order."""
    trained: list[int] = []
    held: list[int] = []
    for i, feedback_id in enumerate(feedback.feedback_id):
        (held if is_held_out(feedback_id, share) else trained).append(i)
    return feedback.take(trained), feedback.take(held)


def frame_scores(scorer: Scorer, config: ModelConfig, frame: pd.DataFrame) -> NDArray[Any]:
    """``scorer`` (a stored scorecard, e.g. the champion's) on every row of ``frame``."""
    features = frame[config.features.all]
    rows = features.astype(object).where(features.notna(), None)
    records = [{str(k): v for k, v in r.items()} for r in rows.to_dict("records")]
    return np.array([scorer.score(r).probability for r in records], dtype=float)


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _model_numbers(y: NDArray[Any], p: NDArray[Any]) -> dict[str, Any]:
    both = len(np.unique(y)) == 2
    numbers: dict[str, Any] = {
        "roc_auc": float(roc_auc_score(y, p)) if both else None,
        **calibration(y, p),
        "mean_gap": float(p.mean() - y.mean()),
    }
    if not both:
        numbers["roc_auc_reason"] = f"every held-out feedback row has label {int(y[0])}"
    return numbers


def _against(
    y: NDArray[Any], candidate: NDArray[Any], scores: NDArray[Any], confidence: float
) -> dict[str, Any]:
    """Candidate − comparator on the same rows; the ROC-AUC difference with its DeLong interval
    when each class has at least two rows (fewer leave its variance undefined)."""
    mine, theirs = calibration(y, candidate), calibration(y, scores)
    against: dict[str, Any] = {
        "log_loss_difference": mine["log_loss"] - theirs["log_loss"],
        "brier_difference": mine["brier"] - theirs["brier"],
        "roc_auc_difference": None,
        "interval": None,
    }
    if min(int((y == 1).sum()), int((y == 0).sum())) >= 2:
        difference, low, high = delong_difference(y, candidate, scores, confidence)
        bounds = [_finite(low), _finite(high)]
        against.update(
            roc_auc_difference=_finite(difference),
            interval=bounds if None not in bounds else None,
            method=f"delong, {confidence:.0%}",
        )
    return against


def holdout_report(
    config: ModelConfig,
    frame: pd.DataFrame,
    candidate: Callable[[pd.DataFrame], NDArray[Any]],
    comparators: Mapping[str, Scorer],
    *,
    selected: int,
    excluded: Mapping[str, int],
) -> dict[str, Any]:
    """What the candidate and each comparator scored on the held-out feedback rows.

    ``frame`` holds the rows to score (the config's features and target) and ``candidate``
    scores a frame; ``selected`` is how many feedback items the hash chose and ``excluded`` how
    many of those were left out before scoring, by reason. Nothing is scored when the share is
    0 or the rows are fewer than ``feedback_holdout_min_rows``: a handful of rows would give
    numbers that look like evidence and are noise.
    """
    rules = config.evaluation
    y = frame[config.target.column].to_numpy(dtype=int)
    rows, positives = len(y), int(y.sum())
    report: dict[str, Any] = {
        "share": rules.feedback_holdout_share,
        "selection": _SELECTION,
        "min_rows": rules.feedback_holdout_min_rows,
        "selected": selected,
        "excluded": dict(excluded),
        "rows": rows,
        "positives": positives,
        "observed_rate": positives / rows if rows else None,
        # Reported evidence only: the gate's decision rests on the base held-out split.
        "used_by_gate": False,
    }
    if rules.feedback_holdout_share == 0:
        return {**report, "status": "disabled", "reason": "evaluation.feedback_holdout_share = 0"}
    least = rules.feedback_holdout_min_rows
    if rows < least:
        reason = f"{rows} held-out feedback rows, fewer than {least}: too few to measure"
        return {**report, "status": "too_few_rows", "reason": reason}
    mine = np.asarray(candidate(frame), dtype=float)
    scores = {name: frame_scores(scorer, config, frame) for name, scorer in comparators.items()}
    confidence = config.promotion.confidence
    return {
        **report,
        "status": "reported",
        "models": {
            "candidate": _model_numbers(y, mine),
            **{name: _model_numbers(y, p) for name, p in scores.items()},
        },
        "against": {name: _against(y, mine, p, confidence) for name, p in scores.items()},
    }
