"""A Spark-trained version's artifacts: the same files as the scikit-learn backend's, except
``model.joblib`` (there is no scikit-learn pipeline; the scorecard is the model)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from numpy.typing import NDArray

from propensity.config import ModelConfig
from propensity.training.train import (
    METRICS_FILE,
    SCORECARD_FILE,
    add_cards_and_manifest,
    json_bytes,
)


@dataclass
class SparkTrained:
    config: ModelConfig
    version: str
    scorecard: dict[str, Any]
    metrics: dict[str, Any]
    training: dict[str, Any]
    test_frame: pd.DataFrame
    p_test: NDArray[Any]  # the Spark model's probabilities on the held-out rows, in row order
    parity: dict[str, Any]  # compiled scorecard vs Spark model on every row (``fit.parity``)
    fit_seconds: float
    artifacts: dict[str, str] = field(default_factory=dict)


def render_spark_artifacts(trained: SparkTrained) -> dict[str, bytes]:
    files: dict[str, bytes] = {
        SCORECARD_FILE: json_bytes(trained.scorecard),
        METRICS_FILE: json_bytes({**trained.metrics, "parity": trained.parity}),
    }
    trained.artifacts = add_cards_and_manifest(
        files, trained.config, trained.version, trained.metrics, trained.training
    )
    return files
