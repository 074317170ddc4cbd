"""The numbers a challenger trial is decided on, measured on live-labelled predictions.

The same measures as the offline gate (``training.gate_evidence``): the paired difference of
the gate's metric with its interval, calibration and slices, with the challenger in the
candidate's place and the champion as the one comparator, plus each model's point metrics (the
gate's collapse guards read them) and how often the two agree on the label.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from propensity.config import PromotionConfig
from propensity.inputs import LiveLabels
from propensity.training.evaluate import scalar_metrics
from propensity.training.gate_evidence import gate_evidence


class LiveEvidence:
    def compare(
        self,
        rule: PromotionConfig,
        rows: LiveLabels,
        *,
        thresholds: tuple[float, float],
    ) -> dict[str, Any]:
        y = np.asarray(rows.labels, dtype=int)
        champion = np.asarray(rows.champion, dtype=float)
        challenger = np.asarray(rows.challenger, dtype=float)
        categories = {
            name: np.asarray([v if isinstance(v, str) else None for v in values], dtype=object)
            for name, values in rows.categories.items()
        }
        agreement = float(np.mean((champion >= thresholds[0]) == (challenger >= thresholds[1])))
        return {
            "labels": len(y),
            "champion": scalar_metrics(y, champion, thresholds[0]),
            "challenger": scalar_metrics(y, challenger, thresholds[1]),
            "agreement": agreement,
            "evidence": gate_evidence(rule, y, challenger, {"champion": champion}, categories),
        }
