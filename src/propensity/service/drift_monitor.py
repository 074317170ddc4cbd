"""Drift of live traffic: the logged predictions compared with the training reference.

Runs in the retrain function on the schedule and writes the report to ``drift/<model>/latest.json``,
where the predict function reads it with the light ``propensity.service.drift_reports``. This
module decides which predictions form the window (the sources, size and minimum of the model's
``[drift]`` config) and records the numbers; the statistics belong to an injected
``DriftAnalyser`` (``training.drift_window.TrainingDriftAnalyser`` in the retrain function), so
the module itself is plain Python.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from propensity.clock import now_iso
from propensity.config import ModelConfig
from propensity.records import PredictionRecord
from propensity.service.drift_reports import (
    REPORT_CONTENT_TYPE,
    DriftReports,
    drift_report_key,
)
from propensity.service.model_configs import as_source
from propensity.service.ports import ArtifactStore, DatasetStore, ModelConfigSource, PredictionLog

STATUS_OK = "ok"
STATUS_INSUFFICIENT = "insufficient_data"


class DriftReference(Protocol):
    """What the monitor needs to know of an analyser's reference: how big, and what it is."""

    @property
    def rows(self) -> int: ...

    @property
    def description(self) -> str: ...


ReferenceT = TypeVar("ReferenceT", bound=DriftReference)


class DriftAnalyser(Protocol[ReferenceT]):
    def reference(self, config: ModelConfig, payload: bytes, location: str) -> ReferenceT:
        """The training reference of ``config``, from its base dataset's bytes."""
        ...

    def compare(
        self, config: ModelConfig, reference: ReferenceT, predictions: Sequence[PredictionRecord]
    ) -> dict[str, Any]:
        """The per-feature report of the logged features against the reference: ``features``,
        ``drifted_features``, ``drift``, ``decision`` and the thresholds used."""
        ...


def _window(predictions: Sequence[PredictionRecord], config: ModelConfig) -> dict[str, Any]:
    created = [p.created_at for p in predictions]
    return {
        "rows": len(predictions),
        "limit": config.drift.window,
        "sources": list(config.drift.sources),
        "from": min(created) if created else None,
        "to": max(created) if created else None,
        "versions": sorted({p.version for p in predictions}),
    }


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
        configs: ModelConfigSource | Mapping[str, ModelConfig],
        predictions_log: PredictionLog,
        artifacts: ArtifactStore,
        *,
        datasets: DatasetStore,
        analyser: DriftAnalyser[Any],
        clock: Callable[[], str] = now_iso,
    ) -> None:
        self._configs = as_source(configs)
        self._predictions_log = predictions_log
        self._artifacts = artifacts
        self._reports = DriftReports(artifacts, models=self._configs)
        self._datasets = datasets
        self._analyser: DriftAnalyser[Any] = analyser
        self._clock = clock
        # The base dataset does not change between runs (its SHA-256 is pinned in the config):
        # a warm container reuses the split instead of re-reading it from S3 every schedule.
        self._references: dict[str, DriftReference] = {}

    @property
    def models(self) -> list[str]:
        return self._configs.names()

    def config(self, model: str) -> ModelConfig:
        return self._configs.get(model)

    def reference(self, model: str) -> DriftReference:
        """The analyser's reference for ``model``, built once from the base dataset's bytes."""
        if model not in self._references:
            config = self.config(model)
            payload, location = self._datasets.read(config.dataset.source)
            self._references[model] = self._analyser.reference(config, payload, location)
        return self._references[model]

    def compute(self, model: str, predictions: Sequence[PredictionRecord]) -> dict[str, Any]:
        """The report of ``predictions`` against the reference, with its window and status.

        With fewer than the config's ``min_rows`` predictions nothing is compared: status
        ``insufficient_data``, no feature results and ``drift`` false, and ``decision`` says so.
        """
        config = self.config(model)
        settings = config.drift
        reference = self.reference(model)
        context: dict[str, Any] = {
            "model": config.name,
            "computed_at": self._clock(),
            "window": _window(predictions, config),
            "reference": {"rows": reference.rows, "description": reference.description},
            "min_rows": settings.min_rows,
        }
        if len(predictions) < settings.min_rows:
            sources = ", ".join(settings.sources)
            return {
                **context,
                "status": STATUS_INSUFFICIENT,
                "thresholds": settings.model_dump(),
                "reference_rows": reference.rows,
                "current_rows": len(predictions),
                "features": {},
                "drifted_features": [],
                "drift": False,
                "decision": (
                    f"not compared: {len(predictions)} predictions from {sources} in the "
                    f"window, fewer than min_rows {settings.min_rows}"
                ),
            }
        report = self._analyser.compare(config, reference, predictions)
        return {**report, **context, "status": STATUS_OK}

    def refresh(self, model: str) -> dict[str, Any]:
        """Compute the report over the latest window of predictions and store it as latest."""
        settings = self.config(model).drift
        predictions = self._predictions_log.recent(model, settings.window, sources=settings.sources)
        report: dict[str, Any] = _json_safe(self.compute(model, predictions))
        body = json.dumps(report, indent=2, allow_nan=False).encode() + b"\n"
        self._artifacts.put_bytes(drift_report_key(model), body, REPORT_CONTENT_TYPE)
        return report

    def latest(self, model: str) -> dict[str, Any] | None:
        """The stored report of ``model``, or None before the first ``refresh``."""
        self.config(model)
        return self._reports.latest(model)
