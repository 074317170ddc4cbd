"""Offline operations on a version directory written by ``propensity train``.

``model.joblib`` is unpickled only here, on the operator's machine, and only after its SHA-256
matches the manifest: the service itself never loads pickles.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.pipeline import Pipeline

from propensity.config import ModelConfig
from propensity.errors import ArtifactError, DatasetError
from propensity.training.dataset import load_dataset, load_labelled_csv, sha256_hex
from propensity.training.evaluate import evaluate
from propensity.training.train import (
    MANIFEST_FILE,
    METRICS_FILE,
    MODEL_CARD_FILE,
    PIPELINE_FILE,
    SCORECARD_FILE,
    json_bytes,
    split_frame,
    write_directory_atomically,
)


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ArtifactError(f"{path}: not found; train the model first")
    try:
        payload = json.loads(path.read_bytes())
    except ValueError as exc:
        raise ArtifactError(f"{path}: not valid JSON") from exc
    if not isinstance(payload, dict):
        raise ArtifactError(f"{path}: not a JSON object")
    return payload


def load_verified_pipeline(version_dir: Path) -> Pipeline:
    manifest = _read_json(version_dir / MANIFEST_FILE)
    path = version_dir / PIPELINE_FILE
    if not path.is_file():
        raise ArtifactError(f"{path}: not found")
    body = path.read_bytes()
    expected = manifest.get("artifacts", {}).get(PIPELINE_FILE)
    if not expected or sha256_hex(body) != expected:
        raise ArtifactError(f"{path}: SHA-256 does not match {MANIFEST_FILE}; refusing to unpickle")
    pipeline: Pipeline = joblib.load(io.BytesIO(body))
    return pipeline


def evaluate_version(
    config: ModelConfig,
    version_dir: Path,
    *,
    data: Path | None,
    data_root: str,
    delimiter: str | None = None,
    plots: bool = True,
) -> dict[str, Any]:
    """Re-evaluate a version; rewrites metrics.json, plots, model card and manifest together."""
    from propensity.training.cards import render_model_card

    manifest = _read_json(version_dir / MANIFEST_FILE)
    previous = _read_json(version_dir / METRICS_FILE)
    threshold = float(_read_json(version_dir / SCORECARD_FILE)["threshold"])
    pipeline = load_verified_pipeline(version_dir)
    if data is not None:
        if not data.is_file():
            raise DatasetError(str(data), "file not found")
        frame = load_labelled_csv(data.read_bytes(), str(data), config, delimiter=delimiter)
        description = f"labelled file {data}"
    else:
        base, _ = load_dataset(config, data_root)
        _, frame = split_frame(base, config)
        description = previous.get("evaluated_on", {}).get("description", "held-out split")
    y_true = frame[config.target.column].to_numpy(dtype=int)
    proba = pipeline.predict_proba(frame[config.features.all])[:, 1]
    train_balance = previous.get("class_balance", {}).get("train", {"0": 1, "1": 1})
    y_train = np.repeat([0, 1], [int(train_balance["0"]), int(train_balance["1"])])
    metrics = evaluate(
        y_true,
        proba,
        threshold,
        y_train=y_train,
        description=description,
        intervals=config.evaluation,
    )
    # What training measured (CV choice, missing policy, out of time) is kept as it was.
    for kept in ("tuning", "missing_policy", "out_of_time"):
        if kept in previous:
            metrics[kept] = previous[kept]
    metrics.update(
        model=config.name,
        version=manifest.get("version"),
        threshold=previous.get("threshold", {"strategy": "fixed", "value": threshold}),
        class_balance={
            "train": train_balance,
            "test": {"0": int((y_true == 0).sum()), "1": int((y_true == 1).sum())},
        },
    )
    files = {p.name: p.read_bytes() for p in version_dir.iterdir() if p.is_file()}
    files[METRICS_FILE] = json_bytes(metrics)
    if plots:
        import tempfile

        from propensity.training.plots import write_plots

        with tempfile.TemporaryDirectory() as scratch:
            labels = (config.target.negative_label, config.target.positive_label)
            for path in write_plots(metrics, Path(scratch), labels=labels).values():
                files[Path(path).name] = Path(path).read_bytes()
    artifacts = {
        name: sha256_hex(body)
        for name, body in files.items()
        if name not in (MANIFEST_FILE, MODEL_CARD_FILE)
    }
    training = {**manifest.get("training", {}), "artifacts": artifacts}
    files[MODEL_CARD_FILE] = render_model_card(config, metrics, training).encode()
    artifacts[MODEL_CARD_FILE] = sha256_hex(files[MODEL_CARD_FILE])
    manifest["artifacts"] = artifacts
    files[MANIFEST_FILE] = json_bytes(manifest)
    write_directory_atomically(files, version_dir)
    return metrics
