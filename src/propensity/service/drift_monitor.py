"""Drift of live traffic: the logged predictions compared with the training reference.

Runs in the retrain function (it has pandas and scipy) on the schedule and writes the report to
``drift/<model>/latest.json``, where the predict function reads it with the light
``propensity.service.drift_reports``. The statistics are the CLI's (``training.drift``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from propensity.config import ModelConfig
from propensity.errors import UnknownModelError
from propensity.records import PredictionRecord
from propensity.service.drift_reports import (
    REPORT_CONTENT_TYPE,
    DriftReports,
    drift_report_key,
)
from propensity.service.ports import ArtifactStore, DatasetStore, PredictionLog
from propensity.training.dataset import parse_dataset
from propensity.training.drift import drift_report
from propensity.training.train import split_frame

# Below this many logged predictions the tests have too little power and PSI is mostly noise.
DEFAULT_MIN_ROWS = 50
# How many of the latest logged predictions form the current window.
DEFAULT_WINDOW = 5000

STATUS_OK = "ok"
STATUS_INSUFFICIENT = "insufficient_data"


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def current_frame(config: ModelConfig, predictions: Sequence[PredictionRecord]) -> pd.DataFrame:
    """The logged features as a frame of the config's features, typed like the reference.

    Numerics become floats (missing or unparsable → NaN); categoricals become stripped strings,
    as the dataset loader makes them, with NaN where missing.
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


def _window(predictions: Sequence[PredictionRecord]) -> dict[str, Any]:
    created = [p.created_at for p in predictions]
    return {
        "rows": len(predictions),
        "from": min(created) if created else None,
        "to": max(created) if created else None,
        "versions": sorted({p.version for p in predictions}),
    }


def _reference_description(config: ModelConfig) -> str:
    return (
        f"training split of {config.dataset.source} "
        f"(test_size {config.split.test_size}, seed {config.split.seed})"
    )


def compute_drift(
    config: ModelConfig,
    reference: pd.DataFrame,
    predictions: list[PredictionRecord],
    *,
    min_rows: int = DEFAULT_MIN_ROWS,
    computed_at: str | None = None,
    reference_description: str | None = None,
) -> dict[str, Any]:
    """The drift report of ``predictions`` against ``reference``, with its window and status.

    With fewer than ``min_rows`` predictions (at least 1) nothing is compared: status
    ``insufficient_data``, no feature results and ``drift`` false.
    """
    context: dict[str, Any] = {
        "model": config.name,
        "computed_at": computed_at or _utc_now(),
        "window": _window(predictions),
        "reference": {
            "rows": len(reference),
            "description": reference_description or _reference_description(config),
        },
        "min_rows": min_rows,
    }
    if len(predictions) < max(min_rows, 1):
        return {
            **context,
            "status": STATUS_INSUFFICIENT,
            "thresholds": config.drift.model_dump(),
            "reference_rows": len(reference),
            "current_rows": len(predictions),
            "features": {},
            "drifted_features": [],
            "drift": False,
        }
    report = drift_report(reference, current_frame(config, predictions), config)
    return {**report, **context, "status": STATUS_OK}


def _json_safe(value: Any) -> Any:
    """``value`` with non-finite floats as None: the stored report must be strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


class DriftMonitor:
    """Computes and stores each model's latest drift report (the retrain function's schedule)."""

    def __init__(
        self,
        configs: Mapping[str, ModelConfig],
        predictions_log: PredictionLog,
        artifacts: ArtifactStore,
        *,
        datasets: DatasetStore,
        window: int = DEFAULT_WINDOW,
        min_rows: int = DEFAULT_MIN_ROWS,
        clock: Callable[[], str] = _utc_now,
    ) -> None:
        self._configs = dict(configs)
        self._predictions_log = predictions_log
        self._artifacts = artifacts
        self._reports = DriftReports(artifacts, models=self._configs)
        self._datasets = datasets
        self._window = window
        self._min_rows = min_rows
        self._clock = clock
        # The base dataset does not change between runs (its SHA-256 is pinned in the config):
        # a warm container reuses the split instead of re-reading it from S3 every schedule.
        self._references: dict[str, pd.DataFrame] = {}

    @property
    def models(self) -> list[str]:
        return sorted(self._configs)

    def config(self, model: str) -> ModelConfig:
        config = self._configs.get(model)
        if config is None:
            raise UnknownModelError(model)
        return config

    def reference(self, model: str) -> pd.DataFrame:
        """The features of the base dataset's training split: what the model was fitted on."""
        if model not in self._references:
            config = self.config(model)
            payload, location = self._datasets.read(config.dataset.source)
            frame = parse_dataset(config, payload, location)
            train, _ = split_frame(frame, config)
            self._references[model] = train[config.features.all]
        return self._references[model]

    def refresh(self, model: str) -> dict[str, Any]:
        """Compute the report over the latest ``window`` predictions and store it as latest."""
        config = self.config(model)
        predictions = self._predictions_log.recent(model, self._window)
        report: dict[str, Any] = _json_safe(
            compute_drift(
                config,
                self.reference(model),
                predictions,
                min_rows=self._min_rows,
                computed_at=self._clock(),
            )
        )
        body = json.dumps(report, indent=2, allow_nan=False).encode() + b"\n"
        self._artifacts.put_bytes(drift_report_key(model), body, REPORT_CONTENT_TYPE)
        return report

    def latest(self, model: str) -> dict[str, Any] | None:
        """The stored report of ``model``, or None before the first ``refresh``."""
        self.config(model)
        return self._reports.latest(model)
