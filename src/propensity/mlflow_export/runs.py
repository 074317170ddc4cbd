"""One version of our registry as an MLflow run records it: params, metrics, tags, files.

Plain functions over a version record and its files (no MLflow import): the exporter
(``propensity.mlflow_export``) logs what these return.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from propensity.errors import ArtifactError, NotFoundError
from propensity.records import VersionRecord
from propensity.service.artifacts import load_verified
from propensity.service.ports import ArtifactStore

MODEL_TAG = "propensity.model"
VERSION_TAG = "propensity.version"
STATUS_TAG = "propensity.status"
MANIFEST = "manifest.json"
HEADLINE = ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "brier", "log_loss")
BATCH = 100  # MLflow's limit of params (and tags) per log_batch call


# --- what one version is, as MLflow records it --------------------------------------------


def version_params(
    record: VersionRecord, manifest: Mapping[str, Any], scorecard: Mapping[str, Any]
) -> dict[str, str]:
    """Config (estimator settings as trained), the chosen C, and the bins of each feature."""
    training = manifest.get("training", {})
    estimator = training.get("estimator", {})
    tuning = training.get("tuning") or {}
    threshold = training.get("threshold", {})
    params: dict[str, Any] = {
        "model": record.model,
        "version": record.version,
        **{f"config.{key}": value for key, value in sorted(estimator.items())},
        "C": tuning.get("chosen_C", estimator.get("C")),
        "bins": estimator.get("n_bins"),
        "threshold": record.threshold,
        "threshold.strategy": threshold.get("strategy"),
        "missing": scorecard.get("missing"),
        "rows_train": record.rows_train,
        "rows_test": training.get("rows_test"),
        "feedback_rows": record.extra.get("feedback_rows", training.get("rows_extra")),
        "trigger": record.trigger,
        "parent_version": record.parent_version,
        "data_sha256": record.data_sha256,
    }
    for feature in scorecard.get("features", []):
        if feature.get("encoding") == "bins":
            params[f"bins.{feature['name']}"] = len(feature.get("weights", []))
    return {key: _text(value) for key, value in params.items() if value is not None}


def version_metrics(record: VersionRecord, metrics: Mapping[str, Any]) -> dict[str, float]:
    """Headline metrics with their intervals, out of time, baseline, champion, lift, threshold."""
    values = _headline(metrics, "")
    late = metrics.get("out_of_time")
    if isinstance(late, Mapping) and "skipped" not in late:
        values.update(_headline(late, "out_of_time."))
    values.update(_headline(metrics.get("baseline") or {}, "baseline."))
    champion = record.extra.get("champion_metrics") or {}
    values.update(_headline(champion, "champion."))
    lift = metrics.get("lift") or []
    if lift:
        values["top_decile_lift"] = float(lift[0]["lift"])
    values["threshold"] = record.threshold
    return values


def _headline(metrics: Mapping[str, Any], prefix: str) -> dict[str, float]:
    values: dict[str, float] = {}
    intervals = metrics.get("intervals") or {}
    for key in HEADLINE:
        value = metrics.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            values[prefix + key] = float(value)
        bounds = intervals.get(key)
        if isinstance(bounds, Mapping):
            values[f"{prefix}{key}.ci_low"] = float(bounds["low"])
            values[f"{prefix}{key}.ci_high"] = float(bounds["high"])
    return values


def version_tags(record: VersionRecord) -> dict[str, str]:
    return {
        MODEL_TAG: record.model,
        VERSION_TAG: record.version,
        STATUS_TAG: record.status,
        "propensity.trigger": record.trigger,
        "propensity.reason": record.reason[:5000],
        "propensity.created_at": record.created_at,
        "mlflow.runName": f"{record.model} {record.version}",
    }


def version_files(artifacts: ArtifactStore, record: VersionRecord) -> dict[str, bytes]:
    """Every file the registry recorded, checked against its SHA-256, plus the manifest."""
    files = {
        name: load_verified(artifacts, record.artifact_prefix + name, sha256)
        for name, sha256 in sorted(record.artifacts.items())
    }
    # The manifest lists the others' hashes (it cannot list its own): it must agree with them.
    try:
        manifest = artifacts.get_bytes(record.artifact_prefix + MANIFEST)
    except NotFoundError as exc:
        raise ArtifactError(f"{record.artifact_prefix}{MANIFEST} is missing") from exc
    if json.loads(manifest).get("artifacts") != record.artifacts:
        raise ArtifactError(f"{record.artifact_prefix}{MANIFEST} does not match the registry")
    files[MANIFEST] = manifest
    return files


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text[:6000]  # MLflow's limit on a param value


def millis(iso: str) -> int | None:
    try:
        return int(datetime.fromisoformat(iso).timestamp() * 1000)
    except ValueError:
        return None


def chunks(items: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]
