"""A Spark-trained version's artifacts: the same files as the scikit-learn backend's, except
``model.joblib`` (there is no scikit-learn pipeline; the scorecard is the model)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from numpy.typing import NDArray

from propensity.config import ModelConfig
from propensity.training.dataset import sha256_hex
from propensity.training.train import (
    MANIFEST_FILE,
    METRICS_FILE,
    MODEL_CARD_FILE,
    SCORECARD_FILE,
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
    from propensity.training.cards import render_model_card

    files: dict[str, bytes] = {
        SCORECARD_FILE: json_bytes(trained.scorecard),
        METRICS_FILE: json_bytes({**trained.metrics, "parity": trained.parity}),
    }
    artifacts = {name: sha256_hex(body) for name, body in files.items()}
    training = {**trained.training, "artifacts": artifacts}
    files[MODEL_CARD_FILE] = render_model_card(trained.config, trained.metrics, training).encode()
    artifacts[MODEL_CARD_FILE] = sha256_hex(files[MODEL_CARD_FILE])
    trained.artifacts = artifacts
    manifest = {
        "model": trained.config.name,
        "version": trained.version,
        "created_at": trained.training["trained_at"],
        "data_sha256": trained.training["data_sha256"],
        "library_versions": trained.training["library_versions"],
        "artifacts": artifacts,
        "training": trained.training,
    }
    files[MANIFEST_FILE] = json_bytes(manifest)
    return files
