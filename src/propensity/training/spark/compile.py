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
from propensity.scoring.scorecard import SCORECARD_FORMAT
from propensity.training.compile import _cross_entry
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
            crosses.append(_cross_entry(spec, weights, reference))
            continue
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
            entry.update(edges=spec["edges"], weights=weights[count:])
            entry["reference"] = reference
            entry["range"] = histogram_range(encoding.histograms[spec["name"]])
        else:
            categories = spec["categories"]
            frequencies = encoding.category_counts.get(spec["name"], {})
            entry.update(
                weights=dict(zip(categories, weights, strict=True)),
                reference=reference,
                categories=categories,
                frequencies={c: int(frequencies.get(c, 0)) for c in categories},
            )
        features.append(entry)
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
        "missing": "impute",
        "features": features,
        "crosses": crosses,
        **dict(metadata or {}),
    }
