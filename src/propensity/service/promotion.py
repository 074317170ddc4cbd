"""The promotion gate: is a candidate good enough to replace the champion?

Decided in plain Python on the numbers ``training.gate_evidence`` measured on the held-out rows,
against the champion and against a fixed reference (the last version a person approved, else
v1), so a chain of small promoted losses cannot ratchet the model down. Every guard is recorded
with its value and limit, passed or not: the registry alone shows why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from propensity.config import PromotionConfig

# Watched for collapse against the champion's point values (higher is better).
GUARDED_METRICS = ("roc_auc", "pr_auc", "f1", "accuracy")


@dataclass(frozen=True)
class Guard:
    name: str
    against: str
    value: float
    limit: float
    passed: bool
    detail: str


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    guards: tuple[Guard, ...] = field(default_factory=tuple)

    def record(self) -> dict[str, Any]:
        """The decision as the version row stores it."""
        return {
            "promote": self.promote,
            "reason": self.reason,
            "guards": [g.__dict__ for g in self.guards],
        }


def _value(metrics: Mapping[str, float], name: str) -> float:
    if name == "neg_log_loss":
        return -metrics.get("log_loss", math.inf)
    return metrics.get(name, math.nan)


def decide(
    rule: PromotionConfig,
    candidate: Mapping[str, float],
    champion: Mapping[str, float] | None,
    evidence: Mapping[str, Any] | None = None,
) -> Decision:
    """Promote only when every guard holds; ``champion`` is None for a model's first version."""
    primary = _value(candidate, rule.metric)
    if not math.isfinite(primary):
        return Decision(False, f"candidate {rule.metric} is not a number")
    size = (evidence or {}).get("scorecard_bytes")
    if size is not None and size > rule.max_scorecard_bytes:
        guard = Guard(
            "scorecard_size",
            "",
            float(size),
            float(rule.max_scorecard_bytes),
            False,
            f"scorecard is {size:,} bytes, over the limit of {rule.max_scorecard_bytes:,}",
        )
        return Decision(False, guard.detail, (guard,))
    parity = (evidence or {}).get("parity")
    if parity is not None and not parity.get("passed", False):
        # A backend whose compiled scorecard is not the model it fitted (training.spark.fit).
        guard = Guard(
            "scorecard_parity",
            "",
            float(parity.get("max_abs_diff", math.nan)),
            float(parity.get("tolerance", 0.0)),
            False,
            f"compiled scorecard differs from the fitted model by up to "
            f"{parity.get('max_abs_diff')} on {parity.get('rows', 0):,} rows "
            f"(tolerance {parity.get('tolerance')})",
        )
        return Decision(False, guard.detail, (guard,))
    if champion is None:
        return Decision(True, f"first version ({rule.metric} {primary:.4f})")
    guards = [*_collapse_guards(rule, candidate, champion)]
    comparisons = (evidence or {}).get("against", {})
    if "champion" not in comparisons:
        guards.append(_point_guard(rule, primary, _value(champion, rule.metric)))
    for name, against in comparisons.items():
        guards.extend(_guards_against(rule, evidence or {}, name, against))
    failed = [g for g in guards if not g.passed]
    if failed:
        more = f" (and {len(failed) - 1} more guards)" if len(failed) > 1 else ""
        return Decision(False, failed[0].detail + more, tuple(guards))
    reference = _value(champion, rule.metric)
    return Decision(
        True,
        f"{rule.metric} {primary:.4f} vs champion {reference:.4f}: all {len(guards)} guards passed",
        tuple(guards),
    )


def _point_guard(rule: PromotionConfig, primary: float, reference: float) -> Guard:
    """Without measured evidence (a version trained elsewhere), the point values alone."""
    passed = not math.isfinite(reference) or primary >= reference - rule.tolerance
    return Guard(
        "metric_point",
        "champion",
        primary,
        reference - rule.tolerance,
        passed,
        f"{rule.metric} {primary:.4f} is more than {rule.tolerance} below the champion's "
        f"{reference:.4f}",
    )


def _collapse_guards(
    rule: PromotionConfig, candidate: Mapping[str, float], champion: Mapping[str, float]
) -> list[Guard]:
    guards = []
    for name in GUARDED_METRICS:
        new, old = candidate.get(name, math.nan), champion.get(name, math.nan)
        if not math.isfinite(old):
            continue
        passed = math.isfinite(new) and new >= old - rule.max_metric_drop
        guards.append(
            Guard(
                f"collapse:{name}",
                "champion",
                new,
                old - rule.max_metric_drop,
                passed,
                f"{name} collapsed: {new:.4f} vs the champion's {old:.4f}",
            )
        )
    return guards


def _guards_against(
    rule: PromotionConfig, evidence: Mapping[str, Any], name: str, against: Mapping[str, Any]
) -> list[Guard]:
    low, high = against["interval"]
    level = f"{round(rule.confidence * 100)} %"
    guards = [
        Guard(
            "metric_interval",
            name,
            low,
            -rule.tolerance,
            low >= -rule.tolerance,
            f"{rule.metric} {against['candidate_metric']:.4f} is below the {name}'s "
            f"{against['metric']:.4f}: difference {against['difference']:+.4f}, {level} interval "
            f"[{low:+.4f}, {high:+.4f}] ({against['method']}), lower bound under "
            f"-{rule.tolerance}",
        )
    ]
    if name == "reference":
        drop = against["metric"] - against["candidate_metric"]
        guards.append(
            Guard(
                "cumulative_drop",
                name,
                drop,
                rule.max_cumulative_drop,
                drop <= rule.max_cumulative_drop,
                f"{rule.metric} {against['candidate_metric']:.4f} is {drop:.4f} below the "
                f"reference's {against['metric']:.4f} (limit {rule.max_cumulative_drop})",
            )
        )
    guards.extend(_calibration_guards(rule, evidence, name, against))
    guards.extend(_slice_guards(rule, evidence, name, against))
    return guards


def _calibration_guards(
    rule: PromotionConfig, evidence: Mapping[str, Any], name: str, against: Mapping[str, Any]
) -> list[Guard]:
    new, old = evidence["candidate"]["calibration"], against["calibration"]
    base = evidence["base_rate"]
    guards = []
    for metric, relative in (
        ("log_loss", rule.max_log_loss_increase),
        ("brier", rule.max_brier_increase),
    ):
        limit = old[metric] * (1 + relative)
        guards.append(
            Guard(
                metric,
                name,
                new[metric],
                limit,
                new[metric] <= limit,
                f"{metric} {new[metric]:.4f} exceeds the {name}'s {old[metric]:.4f} by more "
                f"than {relative:.0%}",
            )
        )
    ece_limit = old["ece"] + rule.max_ece_increase
    guards.append(
        Guard(
            "ece",
            name,
            new["ece"],
            ece_limit,
            new["ece"] <= ece_limit,
            f"expected calibration error {new['ece']:.4f} exceeds the {name}'s "
            f"{old['ece']:.4f} by more than {rule.max_ece_increase}",
        )
    )
    gap, allowed = (
        abs(new["mean_prediction"] - base),
        max(rule.max_mean_gap, abs(old["mean_prediction"] - base)),
    )
    guards.append(
        Guard(
            "mean_prediction",
            name,
            gap,
            allowed,
            gap <= allowed,
            f"mean prediction {new['mean_prediction']:.4f} is {gap:.4f} from the base rate "
            f"{base:.4f} (the {name}'s is {old['mean_prediction']:.4f}; limit {allowed:.4f})",
        )
    )
    return guards


def _slice_guards(
    rule: PromotionConfig, evidence: Mapping[str, Any], name: str, against: Mapping[str, Any]
) -> list[Guard]:
    guards = []
    for key, new in evidence["candidate"]["slices"].items():
        old = against["slices"].get(key)
        if old is None:
            continue
        observed = new["observed_rate"]
        gap_new = abs(new["mean_prediction"] - observed)
        gap_old = abs(old["mean_prediction"] - observed)
        limit = gap_old + rule.slice_max_gap_increase
        guards.append(
            Guard(
                f"slice:{key}",
                name,
                gap_new,
                limit,
                gap_new <= limit,
                f"slice {key} ({new['rows']} held-out rows, observed rate {observed:.3f}): mean "
                f"prediction {new['mean_prediction']:.3f} against the {name}'s "
                f"{old['mean_prediction']:.3f}, miscalibration {gap_new:.3f} over the limit "
                f"{limit:.3f}",
            )
        )
        if new["roc_auc"] is not None and old["roc_auc"] is not None:
            auc_limit = old["roc_auc"] - rule.slice_max_auc_drop
            guards.append(
                Guard(
                    f"slice_auc:{key}",
                    name,
                    new["roc_auc"],
                    auc_limit,
                    new["roc_auc"] >= auc_limit,
                    f"slice {key}: ROC-AUC {new['roc_auc']:.3f} fell more than "
                    f"{rule.slice_max_auc_drop} below the {name}'s {old['roc_auc']:.3f}",
                )
            )
    return guards
