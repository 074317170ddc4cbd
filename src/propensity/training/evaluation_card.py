"""The model card's evaluation sections: metrics with intervals, out of time, lift, selection.

Rendered from metrics.json and the training record only, like the rest of the card.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from propensity.config import ModelConfig

# Scalar metrics in card order, with how to read them.
METRIC_DESCRIPTIONS: dict[str, str] = {
    "accuracy": "share of correct predictions (misleading when classes are imbalanced)",
    "precision": "share of predicted positives that are positive",
    "recall": "share of positives that are found",
    "f1": "harmonic mean of precision and recall",
    "roc_auc": "probability a positive scores above a negative; 0.5 is chance",
    "pr_auc": "average precision over recall levels; chance equals the prevalence",
    "brier": "mean squared error of the probabilities (lower is better)",
    "log_loss": "cross-entropy of the probabilities (lower is better)",
}


def number(value: Any) -> str:
    """Floats to 3 decimals, integers as they are, missing/NaN as n/a."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        return cell(value)
    return f"{as_float:.3f}" if math.isfinite(as_float) else "n/a"


def cell(value: Any) -> str:
    # A pipe or newline inside a cell would break the Markdown table.
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(" --- " for _ in header) + "|",
    ]
    lines.extend("| " + " | ".join(cell(c) for c in row) + " |" for row in rows)
    return lines


def with_interval(metrics: Mapping[str, Any], name: str) -> str:
    """``0.791 [0.775, 0.807]`` when the evaluation has an interval for ``name``."""
    bounds = (metrics.get("intervals") or {}).get(name)
    if not isinstance(bounds, Mapping):
        return number(metrics.get(name))
    return (
        f"{number(metrics.get(name))} [{number(bounds.get('low'))}, {number(bounds.get('high'))}]"
    )


def _interval_note(metrics: Mapping[str, Any]) -> list[str]:
    intervals = metrics.get("intervals") or {}
    if not intervals:
        return []
    return [
        f"Brackets: {float(intervals.get('confidence', 0.95)):.0%} bootstrap "
        f"intervals ({number(intervals.get('resamples'))} resamples of the evaluation rows, "
        f"seed {intervals.get('seed')}).",
        "",
    ]


def _calibration_line(metrics: Mapping[str, Any]) -> list[str]:
    if "mean_predicted" not in metrics:
        return []
    return [
        f"Mean predicted probability {number(metrics.get('mean_predicted'))} against a true "
        f"positive rate of {number(metrics.get('positive_rate'))}.",
        "",
    ]


def metrics_section(config: ModelConfig, metrics: Mapping[str, Any]) -> list[str]:
    baseline = metrics.get("baseline") or {}
    evaluated_on = metrics.get("evaluated_on") or {}
    lines = ["## Metrics", ""]
    if evaluated_on:
        lines += [
            f"Evaluated on the {evaluated_on.get('description', 'test data')}: "
            f"{number(evaluated_on.get('rows'))} rows, "
            f"{number(evaluated_on.get('positives'))} positives.",
            "",
        ]
    lines += [
        "The baseline always predicts the training split's majority class, with the training "
        "prevalence as its probability.",
        "",
        *_interval_note(metrics),
        *_calibration_line(metrics),
    ]
    lines += table(
        ["Metric", "Model", "Majority-class baseline", "Meaning"],
        [
            [f"`{name}`", with_interval(metrics, name), number(baseline.get(name)), meaning]
            for name, meaning in METRIC_DESCRIPTIONS.items()
            if name in metrics
        ],
    )
    matrix = metrics.get("confusion_matrix")
    if matrix:
        threshold = metrics.get("threshold") or {}
        negative, positive = config.target.negative_label, config.target.positive_label
        lines += [
            "",
            f"Confusion matrix at threshold {number(threshold.get('value'))} "
            f"({threshold.get('strategy', 'unknown strategy')}):",
            "",
        ]
        lines += table(
            ["", f"Predicted {negative} (0)", f"Predicted {positive} (1)"],
            [
                [f"Actual {negative} (0)", number(matrix["tn"]), number(matrix["fp"])],
                [f"Actual {positive} (1)", number(matrix["fn"]), number(matrix["tp"])],
            ],
        )
    return [*lines, ""]


def out_of_time_section(metrics: Mapping[str, Any]) -> list[str]:
    late = metrics.get("out_of_time")
    lines = ["## Out-of-time evaluation", ""]
    if not isinstance(late, Mapping):
        return [
            *lines,
            "Not run: the configuration names no order column and does not say the file is in "
            "time order, so only the random split is reported.",
            "",
        ]
    if "skipped" in late:
        return [*lines, f"Skipped: {late['skipped']}.", ""]
    evaluated_on = late.get("evaluated_on") or {}
    lines += [
        f"Evaluated on the {evaluated_on.get('description', 'latest rows')}: "
        f"{number(evaluated_on.get('rows'))} rows, {number(evaluated_on.get('positives'))} "
        "positives, at the served model's threshold. A random split mixes every period into "
        "training and test; this shows how the model does on a later period.",
        "",
        *_calibration_line(late),
    ]
    lines += table(
        ["Metric", "Random split", "Out of time"],
        [
            [f"`{name}`", with_interval(metrics, name), with_interval(late, name)]
            for name in METRIC_DESCRIPTIONS
            if name in late
        ],
    )
    return [*lines, ""]


def lift_section(metrics: Mapping[str, Any]) -> list[str]:
    rows = metrics.get("lift") or []
    if not rows:
        return []
    lines = [
        "## Lift and gains",
        "",
        "Held-out rows ranked by score and cut into deciles (1 = highest scores): calling the "
        "top deciles first reaches this share of all positives (gain).",
        "",
    ]
    lines += table(
        ["Decile", "Rows", "Positives", "Rate", "Lift", "Cumulative gain", "Cumulative lift"],
        [
            [
                number(r.get("decile")),
                number(r.get("rows")),
                number(r.get("positives")),
                number(r.get("positive_rate")),
                number(r.get("lift")),
                number(r.get("gain")),
                number(r.get("cumulative_lift")),
            ]
            for r in rows
        ],
    )
    return [*lines, ""]


def selection_section(training: Mapping[str, Any]) -> list[str]:
    tuning = training.get("tuning") or {}
    missing = training.get("missing_policy") or {}
    if not tuning and not missing:
        return []
    lines = ["## Model selection", ""]
    if tuning:
        lines += [
            f"C = **{number(tuning.get('chosen_C'))}**, chosen by {tuning.get('folds')}-fold "
            f"cross-validation on {tuning.get('on', 'the training split')} (highest mean "
            "ROC-AUC; the test split takes no part):",
            "",
        ]
        lines += table(
            ["C", "Mean ROC-AUC", "Std", "Per fold"],
            [
                [
                    number(s.get("C")),
                    number(s.get("mean")),
                    number(s.get("std")),
                    ", ".join(number(f) for f in s.get("folds", [])),
                ]
                for s in tuning.get("scores", [])
            ],
        )
        lines.append("")
    if missing:
        lines += [
            f"A field missing at serving: **{missing.get('chosen')}** (configured "
            f"`{missing.get('configured')}`). `impute` scores the training median or most "
            "frequent category; `mean` makes the field contribute its training average (no "
            f"effect). Measured on {missing.get('on', 'validation folds')} "
            f"({number(missing.get('rows'))} rows, positive rate "
            f"{number(missing.get('positive_rate'))}):",
            "",
        ]
        lines += table(
            ["Policy", "Log-loss", "Mean predicted"],
            [
                [
                    f"`{policy}`",
                    f"{float(m.get('log_loss', 'nan')):.4f}",
                    number(m.get("mean_predicted")),
                ]
                for policy, m in (missing.get("policies") or {}).items()
            ],
        )
        lines.append("")
    return lines
