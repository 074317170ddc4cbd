"""Model card and data card: what a model is for, what it was trained on, how well it does.

Both are Markdown rendered from the model config, the trainer's metrics and a dataset profile,
so they cannot disagree with the artifacts they describe.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from propensity.config import NEGATIVE_TOKENS, POSITIVE_TOKENS, ModelConfig
from propensity.errors import DatasetError
from propensity.training.drift import numeric_values
from propensity.training.evaluation_card import (
    lift_section,
    metrics_section,
    out_of_time_section,
    selection_section,
)
from propensity.training.evaluation_card import number as _number
from propensity.training.evaluation_card import table as _table

TOP_CATEGORIES = 10

GENERIC_LIMITATIONS = (
    "Fairness: no per-group parity analysis (TPR/FPR by segment) was run. Features may act as "
    "proxies for protected attributes; check outcomes by group before using scores to decide "
    "anything about people.",
    "Drift: metrics describe data from the same period as the training data. Compare new "
    "traffic with the reference data (drift report: PSI, KS, chi-square) and retrain when "
    "features drift or feedback metrics fall.",
    "Scores rank and prioritise; they are not causal effects of contacting someone, and a "
    "human should review decisions with consequences for the customer.",
)


# --- formatting ---------------------------------------------------------------------------


def _bullets(items: Iterable[str]) -> list[str]:
    return [f"- {item}" for item in items]


def _join(sections: Iterable[Sequence[str]]) -> str:
    return "\n".join("\n".join(section) for section in sections).rstrip() + "\n"


def _code_list(names: Sequence[str]) -> str:
    return ", ".join(f"`{name}`" for name in names) if names else "none"


# --- dataset profile -----------------------------------------------------------------------


def _target_balance(column: pd.Series[Any], config: ModelConfig) -> dict[str, Any]:
    target = config.target
    # The same spellings parse_label accepts, matched column-wide instead of row by row.
    tokens = column.astype(str).str.strip().str.lower()
    positive = tokens.isin({target.positive.lower(), *POSITIVE_TOKENS, "1.0"}) & column.notna()
    negative = tokens.isin({target.negative.lower(), *NEGATIVE_TOKENS, "0.0"}) & column.notna()
    positives, negatives = int(positive.sum()), int(negative.sum())
    missing = int(column.isna().sum())
    labelled = positives + negatives
    return {
        "column": target.column,
        "positive": positives,
        "negative": negatives,
        "missing": missing,
        "unrecognised": len(column) - labelled - missing,
        "positive_fraction": positives / labelled if labelled else None,
    }


def _numeric_profile(values: pd.Series[float]) -> dict[str, Any]:
    present = values.dropna()
    missing = len(values) - len(present)
    profile: dict[str, Any] = {
        "missing": missing,
        "missing_fraction": missing / len(values) if len(values) else 0.0,
    }
    if present.empty:
        return {**profile, **dict.fromkeys(("min", "p01", "p50", "p99", "max", "mean", "std"))}
    p01, p50, p99 = (float(q) for q in present.quantile([0.01, 0.5, 0.99]))
    std = float(present.std()) if len(present) > 1 else 0.0
    return {
        **profile,
        "min": float(present.min()),
        "p01": p01,
        "p50": p50,
        "p99": p99,
        "max": float(present.max()),
        "mean": float(present.mean()),
        "std": std,
    }


def _categorical_profile(values: pd.Series[Any]) -> dict[str, Any]:
    present = values.dropna().astype(str)
    missing = len(values) - len(present)
    counts = present.value_counts()
    # Most frequent first; ties broken by name so the card is the same on every run.
    ranked = sorted(counts.items(), key=lambda item: (-int(item[1]), str(item[0])))
    return {
        "missing": missing,
        "missing_fraction": missing / len(values) if len(values) else 0.0,
        "n_categories": len(counts),
        "top": [{"value": str(v), "count": int(n)} for v, n in ranked[:TOP_CATEGORIES]],
    }


def profile_dataset(frame: pd.DataFrame, config: ModelConfig) -> dict[str, Any]:
    """Describe a dataset for the data card (JSON-serialisable).

    Accepts the raw or the validated frame: the target may be spelled as in the file or be 0/1.
    Raises ``DatasetError`` when a feature or the target column is missing.
    """
    source = config.dataset.source
    wanted = [*config.features.all, config.target.column]
    missing = [name for name in wanted if name not in frame.columns]
    if missing:
        raise DatasetError(source, f"missing columns {missing}", column=missing[0])

    reasons = config.features.drop_reasons
    dropped = [
        {"column": name, "reason": reasons.get(name, "listed in features.drop")}
        for name in config.features.drop
    ]
    configured = {*wanted, *config.features.drop}
    dropped.extend(
        {"column": str(name), "reason": "not a configured feature or target"}
        for name in frame.columns
        if name not in configured
    )
    return {
        "model": config.name,
        "rows": len(frame),
        "target": _target_balance(frame[config.target.column], config),
        "numeric": {
            name: _numeric_profile(numeric_values(frame[name], name, source))
            for name in config.features.numeric
        },
        "categorical": {
            name: _categorical_profile(frame[name]) for name in config.features.categorical
        },
        "dropped": dropped,
    }


# --- model card ----------------------------------------------------------------------------


def _dropped_lines(config: ModelConfig) -> list[str]:
    if not config.features.drop:
        return ["No column of the dataset is dropped on purpose."]
    return _bullets(
        f"`{name}`: {config.features.drop_reasons.get(name, 'listed in features.drop')}"
        for name in config.features.drop
    )


def _data_section(
    config: ModelConfig, metrics: Mapping[str, Any], training: Mapping[str, Any]
) -> list[str]:
    dataset, target = config.dataset, config.target
    lines = ["## Data", ""]
    if dataset.description:
        lines += [dataset.description, ""]
    lines += _bullets(
        [
            f"Source: `{dataset.source}`"
            + (f" (origin: <{dataset.origin_url}>)" if dataset.origin_url else ""),
            f"Citation: {dataset.citation or 'not recorded'}",
            f"License: {dataset.license}",
            f"Target: `{target.column}` = `{target.positive}` → {target.positive_label} (1), "
            f"`{target.negative}` → {target.negative_label} (0)",
            f"Rows: {_number(training.get('rows_train'))} training, "
            f"{_number(training.get('rows_test'))} held-out test",
            f"Numeric features: {_code_list(config.features.numeric)}",
            f"Categorical features: {_code_list(config.features.categorical)}",
        ]
    )
    balance = metrics.get("class_balance")
    if balance:
        lines += ["", "Class balance:", ""]
        negative, positive = f"{target.negative_label} (0)", f"{target.positive_label} (1)"
        lines += _table(
            ["Split", negative, positive, "Positive share"],
            [
                [
                    split,
                    _number(counts.get("0")),
                    _number(counts.get("1")),
                    _number(_share(counts.get("1"), counts.get("0"))),
                ]
                for split, counts in balance.items()
            ],
        )
    lines += ["", "### Dropped columns", ""]
    lines += _dropped_lines(config)
    return [*lines, ""]


def _share(positives: Any, negatives: Any) -> float | None:
    if positives is None or negatives is None:
        return None
    total = int(positives) + int(negatives)
    return int(positives) / total if total else None


def _model_section(config: ModelConfig, training: Mapping[str, Any]) -> list[str]:
    estimator = config.estimator
    steps = []
    if config.features.numeric:
        if estimator.numeric_encoding == "bins":
            encoding = (
                f"cut into up to {estimator.n_bins} bins at quantiles of the training data and "
                "one-hot encoded, so each bin gets its own weight (non-linear effects, robust to "
                "outliers)"
            )
        else:
            encoding = "standardised to mean 0 and standard deviation 1 (one weight per feature)"
        steps.append(
            f"Numeric features ({_code_list(config.features.numeric)}): missing values imputed "
            f"with the training median, then {encoding}."
        )
        if config.features.sentinels:
            special = ", ".join(
                f"`{name}` = {', '.join(f'{v:g}' for v in values)}"
                for name, values in config.features.sentinels.items()
            )
            steps.append(
                f"Sentinel values with a weight of their own (not a bin shared with real "
                f"values): {special}."
            )
    if config.features.categorical:
        steps.append(
            f"Categorical features ({_code_list(config.features.categorical)}): missing values "
            "imputed with the most frequent training category, then one-hot encoded; categories "
            "not seen in training are ignored (they contribute nothing to the score)."
        )
    if config.features.crosses:
        steps.append(
            "Declared interactions, one weight per pair of values seen in training (a numeric "
            "member cut into its own quantile bins): "
            + ", ".join(f"`{c.name}`" for c in config.features.crosses)
            + "."
        )
    class_weight = (
        "`balanced` (classes reweighted inversely to their frequency)"
        if estimator.class_weight == "balanced"
        else "none"
    )
    chosen_c = (training.get("tuning") or {}).get("chosen_C", estimator.C)
    steps.append(
        f"Logistic regression (L2 penalty) with C = {_number(chosen_c)} (inverse "
        f"regularisation strength), class_weight {class_weight}, max_iter {estimator.max_iter}."
    )
    lines = ["## Model", "", "scikit-learn pipeline, fitted on the training split only:", ""]
    lines += [f"{number}. {step}" for number, step in enumerate(steps, start=1)]
    lines += [
        "",
        "The fitted pipeline is compiled into a scorecard (a weight per bin, category or scaled "
        "feature plus an intercept) that the serving function evaluates in pure Python.",
    ]
    settings = training.get("estimator") or {}
    if settings:
        lines += ["", "Estimator settings:", ""]
        lines += _table(
            ["Setting", "Value"],
            [[f"`{k}`", "none" if v is None else _number(v)] for k, v in settings.items()],
        )
    return [*lines, ""]


def _threshold_section(
    config: ModelConfig, metrics: Mapping[str, Any], training: Mapping[str, Any]
) -> list[str]:
    chosen = dict(training.get("threshold") or metrics.get("threshold") or {})
    strategy = str(chosen.get("strategy", config.threshold.strategy))
    value = chosen.get("value", config.threshold.value)
    details = chosen.get("details")
    if not isinstance(details, Mapping):
        # The trainer may put the details next to strategy/value instead of under "details".
        details = {k: v for k, v in chosen.items() if k not in {"strategy", "value"}}
    if strategy == "fixed":
        rule = (
            f"Strategy `fixed`: the threshold is set to {_number(value)} in the model "
            "configuration; nothing is tuned."
        )
    elif strategy == "max_f1":
        rule = (
            "Strategy `max_f1`: among all candidate thresholds, the one with the highest F1 "
            "(balance of precision and recall) is chosen."
        )
    else:
        fp_cost = details.get("fp_cost", config.threshold.fp_cost)
        fn_cost = details.get("fn_cost", config.threshold.fn_cost)
        rule = (
            f"Strategy `cost`: the threshold minimises {_number(fp_cost)} × FP + "
            f"{_number(fn_cost)} × FN, where a false positive (contacting someone who will not "
            f"convert) costs {_number(fp_cost)} and a false negative (missing a positive) costs "
            f"{_number(fn_cost)}."
        )
    lines = [
        "## Threshold logic",
        "",
        f"A customer is predicted {config.target.positive_label} when the probability is at least "
        f"**{_number(value)}**.",
        "",
        rule,
    ]
    if strategy != "fixed":
        lines += [
            "",
            "The threshold is chosen on out-of-fold predictions of the training split "
            "(cross-validation), never on the held-out test split, so the test metrics above "
            "are an honest estimate at that threshold.",
        ]
    if details:
        lines += ["", *_bullets(f"{key}: {_number(item)}" for key, item in details.items())]
    return [*lines, ""]


def _reproducibility_section(training: Mapping[str, Any], config: ModelConfig) -> list[str]:
    split = config.split
    lines = [
        "## Reproducibility",
        "",
        *_bullets(
            [
                f"Version: `{training.get('version', 'unversioned')}`",
                f"Trained at: {training.get('trained_at', 'unknown')}",
                f"Training data SHA-256: `{training.get('data_sha256', 'unknown')}`",
                f"Dataset file SHA-256 (config): `{config.dataset.sha256 or 'not recorded'}`",
                f"Split: test_size {_number(split.test_size)}, seed {split.seed}, "
                f"{'stratified' if split.stratify else 'not stratified'}",
            ]
        ),
    ]
    versions = training.get("library_versions") or {}
    if versions:
        lines += ["", "Library versions:", ""]
        lines += _table(["Library", "Version"], sorted(versions.items()))
    artifacts = training.get("artifacts") or {}
    if artifacts:
        lines += ["", "Artifacts (SHA-256):", ""]
        lines += _table(
            ["Artifact", "SHA-256"],
            [[f"`{name}`", f"`{digest}`"] for name, digest in artifacts.items()],
        )
    return [*lines, ""]


def render_model_card(
    config: ModelConfig, metrics: Mapping[str, Any], training: Mapping[str, Any]
) -> str:
    """The model card (Markdown) of one trained version."""
    header = [
        f"# Model card — {config.title}",
        "",
        f"Model `{config.name}`, version `{training.get('version', 'unversioned')}`, "
        f"trained {training.get('trained_at', 'at an unknown time')}.",
        "",
        "## Objective",
        "",
        config.objective,
        "",
    ]
    limitations = ["## Limitations", "", *_bullets([*config.limitations, *GENERIC_LIMITATIONS]), ""]
    return _join(
        [
            header,
            _data_section(config, metrics, training),
            _model_section(config, training),
            selection_section(training),
            metrics_section(config, metrics),
            out_of_time_section(metrics),
            lift_section(metrics),
            _threshold_section(config, metrics, training),
            limitations,
            _reproducibility_section(training, config),
        ]
    )


# --- data card -----------------------------------------------------------------------------


def render_data_card(config: ModelConfig, profile: Mapping[str, Any]) -> str:
    """The data card (Markdown) of the dataset ``profile`` describes."""
    dataset, target = config.dataset, config.target
    lines = [f"# Data card — {config.title}", ""]
    if dataset.description:
        lines += [dataset.description, ""]
    lines += ["## Source", ""]
    lines += _bullets(
        [
            f"File: `{dataset.source}`",
            f"Origin: {f'<{dataset.origin_url}>' if dataset.origin_url else 'not recorded'}"
            + (f", member `{dataset.origin_member}`" if dataset.origin_member else ""),
            f"SHA-256: `{dataset.sha256 or 'not recorded'}`",
            f"Format: delimiter `{dataset.delimiter}`, encoding {dataset.encoding}",
            f"License: {dataset.license}",
            f"Citation: {dataset.citation or 'not recorded'}",
            f"Rows: {_number(profile.get('rows'))}",
        ]
    )

    balance = profile.get("target") or {}
    lines += ["", "## Target", ""]
    lines += _bullets(
        [
            f"Column `{target.column}`: `{target.positive}` → {target.positive_label} (1), "
            f"`{target.negative}` → {target.negative_label} (0)",
            f"{target.positive_label}: {_number(balance.get('positive'))}, "
            f"{target.negative_label}: {_number(balance.get('negative'))} "
            f"(positive share {_number(balance.get('positive_fraction'))})",
            f"Missing labels: {_number(balance.get('missing'))}, "
            f"unrecognised labels: {_number(balance.get('unrecognised'))}",
        ]
    )

    numeric = profile.get("numeric") or {}
    if numeric:
        stats = ("min", "p01", "p50", "p99", "max", "mean", "std")
        lines += ["", "## Numeric features", ""]
        lines += _table(
            ["Feature", "Missing", "Missing share", *stats],
            [
                [
                    f"`{name}`",
                    _number(entry.get("missing")),
                    _number(entry.get("missing_fraction")),
                    *(_number(entry.get(stat)) for stat in stats),
                ]
                for name, entry in numeric.items()
            ],
        )

    categorical = profile.get("categorical") or {}
    if categorical:
        lines += ["", "## Categorical features", ""]
        lines += _table(
            ["Feature", "Missing", "Missing share", "Categories", f"Top {TOP_CATEGORIES} (count)"],
            [
                [
                    f"`{name}`",
                    _number(entry.get("missing")),
                    _number(entry.get("missing_fraction")),
                    _number(entry.get("n_categories")),
                    ", ".join(f"{top['value']} ({_number(top['count'])})" for top in entry["top"]),
                ]
                for name, entry in categorical.items()
            ],
        )

    dropped = profile.get("dropped") or []
    lines += ["", "## Dropped columns", ""]
    if dropped:
        lines += _table(["Column", "Why"], [[f"`{d['column']}`", d["reason"]] for d in dropped])
    else:
        lines += ["None: every column of the dataset is a feature or the target."]

    if config.limitations:
        lines += ["", "## Known limitations", "", *_bullets(config.limitations)]
    return _join([lines])
