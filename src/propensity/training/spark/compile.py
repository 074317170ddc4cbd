"""Compile the fitted Spark encoding and MLlib weights into the JSON scorecard the service serves.

The same format, field for field, as ``training.compile.compile_scorecard``: the scorer does not
know which backend trained a version. What that compiler reads from the training frame (each
group's mean contribution, the categories' frequencies, numeric ranges) comes from the counts
Spark aggregated (``SparkEncoding``), not from rows on the driver.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from propensity.config import ModelConfig
from propensity.training.compile import cross_entry, feature_entry, scorecard_document
from propensity.training.spark.edges import histogram_range
from propensity.training.spark.encoding import SparkEncoding


def compile_spark_scorecard(
    encoding: SparkEncoding,
    coefficients: list[float],
    intercept: float,
    config: ModelConfig,
    *,
    rows_train: int,
    threshold: float,
    version: str,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    if encoding.n_columns != len(coefficients):
        raise ValueError(
            f"encoding has {encoding.n_columns} columns, model {len(coefficients)} weights"
        )
    features: list[dict[str, Any]] = []
    crosses: list[dict[str, Any]] = []
    groups = zip(encoding.specs, encoding.slices, encoding.level_counts, strict=True)
    for spec, columns, counts in groups:
        weights = coefficients[columns]
        # Mean over the training rows of this group's part of the logit (one column per row).
        total = sum(w * c for w, c in zip(weights, counts, strict=True))
        reference = float(total / max(rows_train, 1))
        if spec["type"] == "cross":
            crosses.append(cross_entry(spec, weights, reference))
        elif spec["type"] == "numeric":
            value_range = histogram_range(encoding.histograms[spec["name"]])
            features.append(feature_entry(spec, weights, reference, value_range=value_range))
        else:
            counted = encoding.category_counts.get(spec["name"], {})
            frequencies = {c: int(counted.get(c, 0)) for c in spec["categories"]}
            features.append(feature_entry(spec, weights, reference, frequencies=frequencies))
    return scorecard_document(
        config,
        version=version,
        intercept=intercept,
        threshold=threshold,
        missing="impute",
        features=features,
        crosses=crosses,
        metadata=metadata,
    )
