"""The promotion gate: is a candidate good enough to replace the champion?"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from propensity.config import PromotionConfig

# Metrics watched for collapse (higher is better); log_loss/brier are checked via neg_ forms.
GUARDED_METRICS = ("roc_auc", "pr_auc", "f1", "accuracy")


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def _value(metrics: Mapping[str, float], name: str) -> float:
    if name == "neg_log_loss":
        return -metrics.get("log_loss", math.inf)
    return metrics.get(name, math.nan)


def decide(
    rule: PromotionConfig, candidate: Mapping[str, float], champion: Mapping[str, float] | None
) -> Decision:
    """Compare on the same held-out rows; ``champion`` is None for a model's first version."""
    primary = _value(candidate, rule.metric)
    if not math.isfinite(primary):
        return Decision(False, f"candidate {rule.metric} is not a number")
    if champion is None:
        return Decision(True, f"first version ({rule.metric} {primary:.4f})")
    reference = _value(champion, rule.metric)
    if math.isfinite(reference) and primary < reference - rule.tolerance:
        return Decision(
            False,
            f"{rule.metric} {primary:.4f} is more than {rule.tolerance} below "
            f"the champion's {reference:.4f}",
        )
    for name in GUARDED_METRICS:
        new, old = candidate.get(name, math.nan), champion.get(name, math.nan)
        if not math.isfinite(new):
            return Decision(False, f"candidate {name} is not a number")
        if math.isfinite(old) and new < old - rule.max_metric_drop:
            return Decision(False, f"{name} collapsed: {new:.4f} vs the champion's {old:.4f}")
    return Decision(
        True,
        f"{rule.metric} {primary:.4f} vs champion {reference:.4f} (tolerance {rule.tolerance})",
    )
