"""The logistic regression fitted by MLlib, and the parity check of its compiled scorecard.

scikit-learn's ``LogisticRegression(C, penalty="l2")`` minimises

    ½‖w‖² + C Σᵢ sᵢ ℓᵢ                      (sᵢ: sample weight, ℓᵢ: log-loss of row i)

MLlib's (``elasticNetParam=0``, ``standardization=False``) minimises

    (1 / Σᵢ sᵢ) Σᵢ sᵢ ℓᵢ + (λ / 2) ‖w‖²

Dividing the first by C Σᵢ sᵢ gives the second with **λ = regParam = 1 / (C Σᵢ sᵢ)**; neither
penalises the intercept. Without standardisation the weights are those of the one-hot columns
themselves, so they go into the scorecard as they are. ``class_weight="balanced"`` becomes a
weight column with scikit-learn's values, n / (2 nₖ); they sum to n.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pyspark.ml.classification import LogisticRegression, LogisticRegressionModel
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame
from pyspark.sql import functions as sf

from propensity.config import ModelConfig
from propensity.scoring import Scorer
from propensity.training.spark.encoding import FEATURES_COLUMN

LABEL_COLUMN = "_label"
WEIGHT_COLUMN = "_weight"
PROBABILITY_COLUMN = "_p_spark"
# The compiled scorecard and the Spark model agree to rounding (about 1e-16): anything above
# this is a compiler bug, and the candidate is rejected with the number.
PARITY_TOLERANCE = 1e-9
# L-BFGS stops when the relative change of the loss falls below this (MLlib's default; 1e-9
# doubled the iterations on bank for a change in the fourth decimal of no metric).
TOLERANCE = 1e-6


def reg_param(c_value: float, weight_sum: float) -> float:
    """MLlib's regParam for scikit-learn's C (module docstring)."""
    return 1.0 / (c_value * weight_sum)


def class_weights(config: ModelConfig, counts: Mapping[int, int]) -> dict[int, float]:
    """Each class's sample weight (all 1 unless ``estimator.class_weight = "balanced"``)."""
    if config.estimator.class_weight != "balanced":
        return {0: 1.0, 1: 1.0}
    n = sum(counts.values())
    return {k: n / (2 * counts[k]) for k in (0, 1)}


@dataclass
class SparkFit:
    model: LogisticRegressionModel
    coefficients: list[float]
    intercept: float
    reg_param: float
    weight_sum: float
    iterations: int


def fit_logistic(
    encoded: DataFrame, config: ModelConfig, c_value: float, counts: Mapping[int, int]
) -> SparkFit:
    """Fit on ``encoded`` (its ``features`` vector and ``_label``)."""
    weights = class_weights(config, counts)
    weighted = encoded.withColumn(
        WEIGHT_COLUMN,
        sf.when(sf.col(LABEL_COLUMN) == 1, sf.lit(weights[1])).otherwise(sf.lit(weights[0])),
    )
    weight_sum = sum(weights[k] * counts[k] for k in (0, 1))
    lam = reg_param(c_value, weight_sum)
    estimator = LogisticRegression(
        featuresCol=FEATURES_COLUMN,
        labelCol=LABEL_COLUMN,
        weightCol=WEIGHT_COLUMN,
        family="binomial",
        regParam=lam,
        elasticNetParam=0.0,
        standardization=False,
        fitIntercept=True,
        maxIter=config.estimator.max_iter,
        tol=TOLERANCE,
    )
    model = estimator.fit(weighted)
    return SparkFit(
        model=model,
        coefficients=[float(w) for w in model.coefficients.toArray()],
        intercept=float(model.intercept),
        reg_param=lam,
        weight_sum=float(weight_sum),
        iterations=int(model.summary.totalIterations),
    )


def with_probability(fit: SparkFit, encoded: DataFrame) -> DataFrame:
    """``encoded`` with the Spark model's probability of the positive class."""
    scored = fit.model.transform(encoded)
    return scored.withColumn(PROBABILITY_COLUMN, vector_to_array(sf.col("probability"))[1])


def parity(scored: DataFrame, scorecard: Mapping[str, Any], config: ModelConfig) -> dict[str, Any]:
    """The compiled scorecard's score against the Spark probability on every row of
    ``scored``, in the executors: the largest absolute difference and where it was."""
    card = json.dumps(scorecard)
    names = list(config.features.all)

    def differences(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from propensity.training.feedback_holdout import frame_scores

        scorer = Scorer.from_json(card)
        for batch in batches:
            scores = frame_scores(scorer, config, batch[names])
            gap = np.abs(scores - batch[PROBABILITY_COLUMN].to_numpy(dtype=float))
            yield pd.DataFrame({"gap": gap})

    rows = scored.select(*names, PROBABILITY_COLUMN).mapInPandas(differences, "gap double")
    summary = rows.agg(sf.max("gap").alias("max"), sf.count("gap").alias("rows")).collect()[0]
    largest = float(summary["max"]) if summary["max"] is not None else 0.0
    return {
        "rows": int(summary["rows"]),
        "max_abs_diff": largest,
        "tolerance": PARITY_TOLERANCE,
        "passed": bool(int(summary["rows"]) > 0 and largest <= PARITY_TOLERANCE),
    }
