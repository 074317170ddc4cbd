"""Both backends compile one scorecard format: the Spark compiler, given what Spark aggregates
(level counts, category counts, value histograms), writes the scikit-learn compiler's card."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from propensity.config import load_model_config
from propensity.training.compile import compile_scorecard
from propensity.training.dataset import load_dataset
from propensity.training.pipeline import FEATURES_STEP, build_pipeline
from propensity.training.spark.compile import compile_spark_scorecard
from propensity.training.spark.edges import Histogram
from propensity.training.spark.encoding import SparkEncoding
from propensity.training.train import as_categories


def same(a: Any, b: Any, where: str = "card") -> None:
    """Equal, floats to 1e-9 relative (a mean of counts against a mean of a matrix)."""
    if isinstance(a, float) or isinstance(b, float):
        assert math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12), where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def test_the_spark_compiler_writes_the_scikit_learn_compilers_scorecard() -> None:
    # Given bank's pipeline fitted on 4,000 rows (imputed missing values, as Spark trains)
    config = load_model_config("bank")
    frame, _ = load_dataset(config, Path(__file__).resolve().parents[3] / "data")
    train = frame.sample(4_000, random_state=5).reset_index(drop=True)
    features = train[list(config.features.all)]
    y = (train[config.target.column] == 1).to_numpy(dtype=int)
    pipeline = build_pipeline(config, missing="impute").fit(as_categories(features, config), y)
    encoder = pipeline.named_steps[FEATURES_STEP]
    classifier = pipeline.named_steps["classifier"]
    # And what Spark would aggregate over the same rows
    per_column = np.asarray(encoder.transform(features).sum(axis=0)).ravel()
    encoding = SparkEncoding(
        specs=encoder.specs_,
        slices=encoder.slices_,
        n_columns=encoder.n_columns_,
        level_counts=[[int(c) for c in per_column[s]] for s in encoder.slices_],
        category_counts={
            c: {str(k): int(v) for k, v in features[c].value_counts().items()}
            for c in config.features.categorical
        },
        histograms={
            c: Histogram.of(
                dict(
                    zip(
                        *np.unique(features[c].to_numpy(dtype=float), return_counts=True),
                        strict=True,
                    )
                )
            )
            for c in config.features.numeric
        },
        onehot=None,  # type: ignore[arg-type]  # applying the encoding is not compiled
    )
    metadata = {"created_at": "then"}
    # When both compilers compile the same weights
    sklearn_card = compile_scorecard(
        pipeline, config, features, threshold=0.3, version="v9", metadata=metadata
    )
    spark_card = compile_spark_scorecard(
        encoding,
        [float(w) for w in classifier.coef_.ravel()],
        float(classifier.intercept_[0]),
        config,
        rows_train=len(features),
        threshold=0.3,
        version="v9",
        metadata=metadata,
    )
    # Then the cards are the same, field for field and in the same order
    assert len(sklearn_card["features"]) == len(config.features.all)
    same(spark_card, sklearn_card)
