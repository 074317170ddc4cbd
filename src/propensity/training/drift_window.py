"""The drift monitor's analyser: logged predictions as a frame, compared with the training split.

``propensity.service.drift_monitor`` orchestrates (which predictions, when, where the report
goes) in plain Python; this module is the pandas side it is given by the composition root.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from propensity.config import ModelConfig
from propensity.records import PredictionRecord
from propensity.training.dataset import parse_dataset
from propensity.training.drift import drift_report
from propensity.training.train import split_frame


@dataclass(frozen=True)
class TrainingReference:
    """The features of a base dataset's training split: what the model was fitted on."""

    frame: pd.DataFrame
    description: str

    @property
    def rows(self) -> int:
        return len(self.frame)


class TrainingDriftAnalyser:
    """``DriftAnalyser`` over the statistics of ``training.drift`` (KS, chi-square, PSI)."""

    def reference(self, config: ModelConfig, payload: bytes, location: str) -> TrainingReference:
        frame = parse_dataset(config, payload, location)
        train, _ = split_frame(frame, config)
        description = (
            f"training split of {config.dataset.source} "
            f"(test_size {config.split.test_size}, seed {config.split.seed})"
        )
        return TrainingReference(train[config.features.all], description)

    def compare(
        self,
        config: ModelConfig,
        reference: TrainingReference,
        predictions: Sequence[PredictionRecord],
    ) -> dict[str, Any]:
        return drift_report(reference.frame, current_frame(config, predictions), config)


def current_frame(config: ModelConfig, predictions: Sequence[PredictionRecord]) -> pd.DataFrame:
    """The logged features as a frame of the config's features, typed like the reference.

    Numerics become floats (missing or unparsable → NaN); categoricals become stripped strings,
    as the dataset loader makes them, with NaN where missing. A feature the caller left out was
    imputed by the scorer and is logged as missing, so it counts as missing here, not as the
    imputed value.
    """
    features = config.features.all
    rows = [{name: record.features.get(name) for name in features} for record in predictions]
    frame = pd.DataFrame(rows, columns=features, dtype=object)
    for column in config.features.numeric:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(np.float64)
    for column in config.features.categorical:
        frame[column] = frame[column].map(_category).astype(object)
    return frame


def _category(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return np.nan
    return str(value).strip()
