"""Compile a fitted pipeline into the JSON scorecard the pure-Python scorer serves.

The scorecard holds everything the pipeline computes with (imputation values, bin edges or
scaling, one weight per one-hot column, intercept) plus what the service shows about the model
(feature schema with training ranges, threshold, versions, data fingerprint).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from propensity.config import ModelConfig
from propensity.scoring.scorecard import SCORECARD_FORMAT
from propensity.training.pipeline import CLASSIFIER_STEP, FEATURES_STEP, ScorecardEncoder


def _numeric_range(values: pd.Series) -> dict[str, float]:
    present = values.dropna()
    if present.empty:
        return {}
    quantiles = present.quantile([0.01, 0.5, 0.99])
    return {
        "min": float(present.min()),
        "p01": float(quantiles.iloc[0]),
        "p50": float(quantiles.iloc[1]),
        "p99": float(quantiles.iloc[2]),
        "max": float(present.max()),
        "integer": bool((present == present.round()).all()),
    }


def cross_entry(spec: dict[str, Any], weights: list[float], reference: float) -> dict[str, Any]:
    """A cross as the scorer reads it: weight by first value, then by second value's level."""
    cells: dict[str, dict[str, float]] = {}
    for (first, second), weight in zip(spec["cells"], weights, strict=True):
        cells.setdefault(first, {})[second] = weight
    entry: dict[str, Any] = {
        "name": spec["name"],
        "type": "cross",
        "encoding": "cross",
        "features": spec["features"],
        "second_type": spec["second"]["type"],
        "cells": cells,
        "reference": reference,
    }
    if spec["second"]["type"] == "numeric":
        # Levels of the numeric member: "=<sentinel>" for each sentinel, then "bin<i>".
        entry.update(edges=spec["edges"], sentinels=spec["sentinels"])
    return entry


def compile_scorecard(
    pipeline: Pipeline,
    config: ModelConfig,
    train_features: pd.DataFrame,
    *,
    threshold: float,
    version: str,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The scorecard of ``pipeline``, fitted on ``train_features`` (used for references/ranges)."""
    encoder: ScorecardEncoder = pipeline.named_steps[FEATURES_STEP]
    classifier = pipeline.named_steps[CLASSIFIER_STEP]
    coef = np.asarray(classifier.coef_, dtype=float).ravel()
    if encoder.n_columns_ != coef.size:
        raise ValueError(f"encoder has {encoder.n_columns_} columns, classifier {coef.size}")
    contributions = encoder.transform(train_features).multiply(coef).tocsc()
    features: list[dict[str, Any]] = []
    crosses: list[dict[str, Any]] = []
    for spec, columns in zip(encoder.specs_, encoder.slices_, strict=True):
        weights = [float(w) for w in coef[columns]]
        # Mean over the training rows of this group's part of the logit.
        reference = float(contributions[:, columns].sum() / max(len(train_features), 1))
        name = spec["name"]
        if spec["type"] == "cross":
            crosses.append(cross_entry(spec, weights, reference))
        elif spec["type"] == "numeric":
            features.append(
                feature_entry(
                    spec, weights, reference, value_range=_numeric_range(train_features[name])
                )
            )
        else:
            counts = train_features[name].value_counts()
            frequencies = {c: int(counts.get(c, 0)) for c in spec["categories"]}
            features.append(feature_entry(spec, weights, reference, frequencies=frequencies))
    return scorecard_document(
        config,
        version=version,
        intercept=float(classifier.intercept_[0]),
        threshold=threshold,
        missing=encoder.missing,
        features=features,
        crosses=crosses,
        metadata=metadata,
    )


def feature_entry(
    spec: Mapping[str, Any],
    weights: list[float],
    reference: float,
    *,
    value_range: Mapping[str, Any] | None = None,
    frequencies: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """A numeric or categorical group as the scorer reads it, from its fitted spec and weights
    (whichever backend fitted them); ``value_range`` and ``frequencies`` describe the training
    rows of a numeric and of a categorical feature."""
    entry: dict[str, Any] = {
        "name": spec["name"],
        "type": spec["type"],
        "encoding": spec["encoding"],
        "impute": spec["impute"],
    }
    if spec["type"] == "numeric":
        count = len(spec["sentinels"])
        if count:
            entry["sentinels"] = [
                {"value": v, "weight": w}
                for v, w in zip(spec["sentinels"], weights[:count], strict=True)
            ]
        if spec["encoding"] == "bins":
            entry.update(edges=spec["edges"], weights=weights[count:])
        else:
            entry.update(mean=spec["mean"], scale=spec["scale"], weight=weights[count])
        entry["reference"] = reference
        entry["range"] = dict(value_range or {})
    else:
        categories = spec["categories"]
        entry.update(
            weights=dict(zip(categories, weights, strict=True)),
            reference=reference,
            categories=categories,
            frequencies=dict(frequencies or {}),
        )
    return entry


def scorecard_document(
    config: ModelConfig,
    *,
    version: str,
    intercept: float,
    threshold: float,
    missing: str,
    features: list[dict[str, Any]],
    crosses: list[dict[str, Any]],
    metadata: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The scorecard JSON around its groups: one format, whichever backend trained them."""
    return {
        "format": SCORECARD_FORMAT,
        "model": config.name,
        "version": version,
        "title": config.title,
        "target": {
            "column": config.target.column,
            "positive_label": config.target.positive_label,
            "negative_label": config.target.negative_label,
        },
        "intercept": intercept,
        "base_logit": intercept + sum(f["reference"] for f in [*features, *crosses]),
        "threshold": float(threshold),
        "missing": missing,
        "features": features,
        "crosses": crosses,
        **dict(metadata or {}),
    }
