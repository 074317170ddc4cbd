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
from sklearn.preprocessing import KBinsDiscretizer, StandardScaler

from propensity.config import ModelConfig
from propensity.scoring.scorecard import SCORECARD_FORMAT
from propensity.training.pipeline import (
    CATEGORICAL_BLOCK,
    CLASSIFIER_STEP,
    ENCODE_STEP,
    FEATURES_STEP,
    IMPUTE_STEP,
    NUMERIC_BLOCK,
)


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
    transformer = pipeline.named_steps[FEATURES_STEP]
    classifier = pipeline.named_steps[CLASSIFIER_STEP]
    coef = np.asarray(classifier.coef_, dtype=float).ravel()
    slices = transformer.output_indices_
    encoded = transformer.transform(train_features)
    features: list[dict[str, Any]] = []

    if config.features.numeric:
        block = transformer.named_transformers_[NUMERIC_BLOCK]
        impute_values = block.named_steps[IMPUTE_STEP].statistics_
        encoder = block.named_steps[ENCODE_STEP]
        offset = slices[NUMERIC_BLOCK].start
        for j, name in enumerate(config.features.numeric):
            spec: dict[str, Any] = {
                "name": name,
                "type": "numeric",
                "impute": float(impute_values[j]),
            }
            if isinstance(encoder, KBinsDiscretizer):
                n_bins = int(encoder.n_bins_[j])
                edges = np.asarray(encoder.bin_edges_[j], dtype=float)
                spec.update(
                    encoding="bins",
                    edges=[float(e) for e in edges[1:-1]],
                    weights=[float(w) for w in coef[offset : offset + n_bins]],
                )
                columns = slice(offset, offset + n_bins)
                offset += n_bins
            elif isinstance(encoder, StandardScaler):
                spec.update(
                    encoding="standard",
                    mean=float(encoder.mean_[j]),
                    scale=float(encoder.scale_[j]),
                    weight=float(coef[offset]),
                )
                columns = slice(offset, offset + 1)
                offset += 1
            else:  # pragma: no cover - build_pipeline only makes the two above
                raise TypeError(f"cannot compile numeric encoder {type(encoder).__name__}")
            spec["reference"] = float(np.mean(encoded[:, columns] @ coef[columns]))
            spec["range"] = _numeric_range(train_features[name])
            features.append(spec)

    if config.features.categorical:
        block = transformer.named_transformers_[CATEGORICAL_BLOCK]
        impute_values = block.named_steps[IMPUTE_STEP].statistics_
        onehot = block.named_steps[ENCODE_STEP]
        offset = slices[CATEGORICAL_BLOCK].start
        for j, name in enumerate(config.features.categorical):
            categories = [str(c) for c in onehot.categories_[j]]
            columns = slice(offset, offset + len(categories))
            weights = coef[columns]
            counts = train_features[name].value_counts()
            features.append(
                {
                    "name": name,
                    "type": "categorical",
                    "encoding": "categorical",
                    "impute": str(impute_values[j]),
                    "weights": {c: float(w) for c, w in zip(categories, weights, strict=True)},
                    "reference": float(np.mean(encoded[:, columns] @ weights)),
                    "categories": categories,
                    "frequencies": {c: int(counts.get(c, 0)) for c in categories},
                }
            )
            offset += len(categories)

    if offset != coef.size:
        raise ValueError(f"compiled {offset} weights but the classifier has {coef.size}")
    intercept = float(classifier.intercept_[0])
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
        "base_logit": intercept + sum(f["reference"] for f in features),
        "threshold": float(threshold),
        "features": features,
        **dict(metadata or {}),
    }
