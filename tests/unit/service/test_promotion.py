"""The promotion gate compares a candidate with the champion on the same held-out rows."""

from __future__ import annotations

import math

from propensity.config import PromotionConfig
from propensity.service.promotion import decide

RULE = PromotionConfig(metric="roc_auc", tolerance=0.005, max_metric_drop=0.05)
CHAMPION = {"roc_auc": 0.78, "pr_auc": 0.42, "f1": 0.45, "accuracy": 0.86, "log_loss": 0.3}


def test_first_version_is_promoted() -> None:
    assert decide(RULE, CHAMPION, None).promote


def test_slightly_worse_within_tolerance_is_promoted() -> None:
    decision = decide(RULE, {**CHAMPION, "roc_auc": 0.776}, CHAMPION)
    assert decision.promote
    assert "0.7760" in decision.reason


def test_worse_than_tolerance_is_rejected_with_the_reason() -> None:
    decision = decide(RULE, {**CHAMPION, "roc_auc": 0.77}, CHAMPION)
    assert not decision.promote
    assert decision.reason == "roc_auc 0.7700 is more than 0.005 below the champion's 0.7800"


def test_a_collapsed_secondary_metric_is_rejected() -> None:
    decision = decide(RULE, {**CHAMPION, "f1": 0.2}, CHAMPION)
    assert not decision.promote
    assert decision.reason.startswith("f1 collapsed")


def test_nan_metrics_are_never_promoted() -> None:
    assert not decide(RULE, {**CHAMPION, "roc_auc": math.nan}, None).promote
    assert not decide(RULE, {k: v for k, v in CHAMPION.items() if k != "pr_auc"}, CHAMPION).promote


def test_log_loss_rule_prefers_lower_loss() -> None:
    rule = PromotionConfig(metric="neg_log_loss", tolerance=0.01)
    assert decide(rule, {**CHAMPION, "log_loss": 0.305}, CHAMPION).promote
    assert not decide(rule, {**CHAMPION, "log_loss": 0.4}, CHAMPION).promote
