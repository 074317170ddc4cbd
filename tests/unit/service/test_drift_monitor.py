"""Drift of logged predictions against the training reference, and reading the stored report."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from propensity.adapters.datasets import DirectoryDatasets
from propensity.adapters.object_store import ObjectStore
from propensity.config import ModelConfig, load_model_config
from propensity.errors import ArtifactError, StorageError, UnknownModelError
from propensity.records import PredictionRecord
from propensity.service.drift_monitor import DriftMonitor
from propensity.service.drift_reports import (
    DriftReports,
    NoDriftReportError,
    drift_report_key,
    is_not_found_or_access_denied,
)
from propensity.training.dataset import load_dataset
from propensity.training.drift_window import TrainingDriftAnalyser, current_frame
from propensity.training.train import split_frame
from tests.support.fakes import FakeArtifacts
from tests.unit.service.conftest import World

COMPUTED_AT = "2025-06-01T06:00:00.000+00:00"
HEAVY = ("numpy", "pandas", "sklearn", "scipy", "joblib")


class ContentTypeRecorder(FakeArtifacts):
    """The in-memory store, also remembering the content type each key was written with."""

    def __init__(self, inner: FakeArtifacts) -> None:
        super().__init__()
        self.objects = inner.objects  # same objects: the world's readers see the writes
        self.content_types: dict[str, str] = {}

    def put_bytes(
        self, key: str, body: bytes, content_type: str = "application/octet-stream"
    ) -> None:
        super().put_bytes(key, body, content_type)
        self.content_types[key] = content_type


@pytest.fixture
def artifacts(world: World) -> ContentTypeRecorder:
    return ContentTypeRecorder(world.artifacts)


class CountingDatasets(DirectoryDatasets):
    """The vendored datasets, counting how often each source is read."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads: list[str] = []

    def read(self, source: str) -> tuple[bytes, str]:
        self.reads.append(source)
        return super().read(source)


def with_drift(config: ModelConfig, **settings: Any) -> ModelConfig:
    return config.model_copy(update={"drift": config.drift.model_copy(update=settings)})


def build_monitor(
    world: World,
    artifacts: FakeArtifacts,
    datasets: DirectoryDatasets,
    configs: dict[str, ModelConfig] | None = None,
) -> DriftMonitor:
    return DriftMonitor(
        configs or {name: load_model_config(name) for name in ("bank", "telecom")},
        world.log,
        artifacts,
        datasets=datasets,
        analyser=TrainingDriftAnalyser(),
        clock=lambda: COMPUTED_AT,
    )


@pytest.fixture
def monitor(world: World, artifacts: ContentTypeRecorder, data_root: Path) -> DriftMonitor:
    return build_monitor(world, artifacts, DirectoryDatasets(data_root))


def held_out_rows(model: str, data_root: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """Feature rows of the held-out split (unseen in the reference), as a caller would send."""
    config = load_model_config(model)
    frame, _ = load_dataset(config, data_root)
    _, test = split_frame(frame, config)
    features = test[config.features.all]
    if limit is not None:
        features = features.head(limit)
    rows = features.astype(object).where(features.notna(), None).to_dict("records")
    return [{str(k): v for k, v in row.items()} for row in rows]


def logged(
    model: str,
    rows: list[dict[str, Any]],
    *,
    version: str = "v1",
    start: int = 0,
    source: str = "api",
) -> list[PredictionRecord]:
    """Prediction records of ``rows``, one second apart, as the prediction log keeps them."""
    return [
        PredictionRecord(
            prediction_id=f"p{start + i}",
            model=model,
            version=version,
            created_at=f"2025-06-01T05:{(start + i) // 60 % 60:02d}:{(start + i) % 60:02d}.000",
            features=row,
            probability=0.5,
            prediction=0,
            expires_at=0,
            source=source,
        )
        for i, row in enumerate(rows)
    ]


@pytest.mark.parametrize(("model", "limit"), [("telecom", None), ("bank", 2000)])
def test_predictions_like_the_training_data_show_no_drift(
    world: World, monitor: DriftMonitor, data_root: Path, model: str, limit: int | None
) -> None:
    # Given held-out rows of the model's own dataset scored and logged by the prediction service
    rows = held_out_rows(model, data_root, limit)
    world.predictions.predict_many(model, rows, strict=True, field_prefix="rows")
    # When the drift report is refreshed
    report = monitor.refresh(model)
    # Then every feature was compared and none drifted
    config = load_model_config(model)
    assert report["status"] == "ok"
    assert (report["drift"], report["drifted_features"]) == (False, [])
    assert sorted(report["features"]) == sorted(config.features.all)
    assert report["window"]["rows"] == len(rows) and report["window"]["versions"] == ["v1"]
    frame, _ = load_dataset(config, data_root)
    assert report["reference"]["rows"] == len(split_frame(frame, config)[0])
    assert report["reference"]["description"].startswith(
        f"training split of {config.dataset.source}"
    )
    assert report["computed_at"] == COMPUTED_AT and report["model"] == model


def test_a_shifted_feature_is_flagged_and_the_report_stored(
    world: World, monitor: DriftMonitor, artifacts: ContentTypeRecorder, data_root: Path
) -> None:
    # Given telecom traffic whose mobile data use tripled
    rows = [{**row, "mb_used": row["mb_used"] * 3} for row in held_out_rows("telecom", data_root)]
    world.log.put_many(logged("telecom", rows))
    # When the drift report is refreshed
    report = monitor.refresh("telecom")
    # Then mb_used alone is flagged, with its reasons
    assert report["drift"] is True and report["drifted_features"] == ["mb_used"]
    mb_used = report["features"]["mb_used"]
    assert mb_used["psi"] >= 0.2 and mb_used["reasons"]
    assert mb_used["current_mean"] > 2.5 * mb_used["reference_mean"]
    # And the same report is stored as the latest one, as JSON
    key = "drift/telecom/latest.json"
    assert drift_report_key("telecom") == key
    assert json.loads(artifacts.objects[key]) == report
    assert artifacts.content_types[key] == "application/json"


def test_fewer_predictions_than_min_rows_report_insufficient_data(
    world: World, monitor: DriftMonitor, data_root: Path
) -> None:
    # Given 199 logged predictions, one short of the default minimum
    world.log.put_many(logged("telecom", held_out_rows("telecom", data_root, 199)))
    # When the drift report is refreshed
    report = monitor.refresh("telecom")
    # Then nothing is compared, nothing is flagged, and the report still says why
    assert report["status"] == "insufficient_data"
    assert (report["features"], report["drifted_features"], report["drift"]) == ({}, [], False)
    assert report["window"]["rows"] == 199 and report["min_rows"] == 200
    assert report["decision"] == (
        "not compared: 199 predictions from api, batch in the window, fewer than min_rows 200"
    )
    assert monitor.latest("telecom") == report


def test_no_predictions_at_all_is_insufficient_data(monitor: DriftMonitor) -> None:
    # Given an empty log window
    # When drift is computed
    report = monitor.compute("telecom", [])
    # Then it is insufficient data, with an empty window that names what it would have read
    assert report["status"] == "insufficient_data" and report["drift"] is False
    assert report["window"] == {
        "rows": 0,
        "limit": 5000,
        "sources": ["api", "batch"],
        "from": None,
        "to": None,
        "versions": [],
    }


def test_the_window_is_the_latest_predictions_with_their_versions(
    world: World, data_root: Path, artifacts: ContentTypeRecorder
) -> None:
    # Given 100 older predictions by v1 and 80 newer ones by v2
    rows = held_out_rows("telecom", data_root, 180)
    world.log.put_many(logged("telecom", rows[:100], version="v1"))
    world.log.put_many(logged("telecom", rows[100:], version="v2", start=100))
    config = with_drift(load_model_config("telecom"), window=90, min_rows=20)
    monitor = build_monitor(world, artifacts, DirectoryDatasets(data_root), {"telecom": config})
    # When the report is refreshed over a window of 90
    window = monitor.refresh("telecom")["window"]
    # Then it covers the newest 90 predictions: 10 by v1, 80 by v2
    assert window == {
        "rows": 90,
        "limit": 90,
        "sources": ["api", "batch"],
        "from": "2025-06-01T05:01:30.000",
        "to": "2025-06-01T05:02:59.000",
        "versions": ["v1", "v2"],
    }


def test_logged_features_are_typed_like_the_reference(bank_config: ModelConfig) -> None:
    # Given logged bank features with a missing key, None, a numeric string and padded text
    records = logged(
        "bank",
        [
            {"age": 41, "balance": None, "job": " admin. ", "marital": None},
            {"age": "42", "balance": 10.5, "job": "services", "marital": "single"},
        ],
    )
    # When they become the current frame
    frame = current_frame(bank_config, records)
    # Then numerics are floats with NaN where missing, categoricals stripped strings or NaN
    assert list(frame.columns) == bank_config.features.all
    assert frame["age"].tolist() == [41.0, 42.0] and frame["age"].dtype == "float64"
    assert math.isnan(frame["balance"][0]) and frame["balance"][1] == 10.5
    assert frame["job"].tolist() == ["admin.", "services"]
    assert frame["marital"].isna().tolist() == [True, False]
    assert frame["education"].isna().all() and frame["day"].isna().all()


def test_drift_reports_reads_back_what_the_monitor_wrote(
    world: World, monitor: DriftMonitor, data_root: Path
) -> None:
    # Given no report yet for telecom
    reports = DriftReports(world.artifacts, models=["bank", "telecom"])
    assert reports.latest("telecom") is None and monitor.latest("telecom") is None
    with pytest.raises(NoDriftReportError, match="no drift report yet for model 'telecom'"):
        reports.for_model("telecom")
    # When the monitor writes one
    world.log.put_many(logged("telecom", held_out_rows("telecom", data_root, 200)))
    written = monitor.refresh("telecom")
    # Then the light reader returns the same report, by either method
    assert reports.latest("telecom") == written == reports.for_model("telecom")
    assert monitor.latest("telecom") == written
    # And an unknown model is reported as such, not as "no report yet"
    with pytest.raises(UnknownModelError):
        reports.for_model("churn")


def test_a_corrupt_report_is_an_artifact_error(world: World) -> None:
    # Given a drift object that is not a JSON object
    world.artifacts.objects[drift_report_key("bank")] = b"[1, 2"
    world.artifacts.objects[drift_report_key("telecom")] = b"[1, 2]"
    reports = DriftReports(world.artifacts)
    # When read / Then it is an artifact error (503), not a 404 or a crash
    for model in ("bank", "telecom"):
        with pytest.raises(ArtifactError):
            reports.latest(model)


def s3_answering(code: str, status: int) -> ObjectStore:
    """The real S3 adapter over a stubbed client that refuses GetObject with ``code``."""
    client = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(client)
    stubber.add_client_error("get_object", service_error_code=code, http_status_code=status)
    stubber.activate()
    return ObjectStore("artifacts", client=client)


def test_access_denied_on_the_drift_key_means_no_report_yet() -> None:
    # Given S3 answering 403 AccessDenied, as it does for a missing key without s3:ListBucket
    reports = DriftReports(
        s3_answering("AccessDenied", 403), is_missing=is_not_found_or_access_denied
    )
    # When the latest report is read / Then there is none yet
    assert reports.latest("bank") is None


def test_access_denied_is_an_error_unless_the_reader_is_told_otherwise() -> None:
    # Given the default predicate (only NotFoundError means missing)
    reports = DriftReports(s3_answering("AccessDenied", 403))
    # When read / Then the storage error surfaces (a 503, not a silent 404)
    with pytest.raises(StorageError):
        reports.latest("bank")


def test_other_storage_failures_are_not_taken_for_a_missing_report() -> None:
    # Given S3 throttling the read
    reports = DriftReports(s3_answering("SlowDown", 503), is_missing=is_not_found_or_access_denied)
    # When read / Then the failure surfaces
    with pytest.raises(StorageError):
        reports.latest("bank")


def test_importing_the_report_reader_loads_no_heavy_module() -> None:
    # When a fresh interpreter imports the reader the predict function uses
    code = (
        "import sys, json\n"
        "import propensity.service.drift_reports\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    # Then none of numpy/pandas/sklearn/scipy/joblib was imported
    assert result.stdout.strip() == "[]"


def test_the_window_holds_only_the_configured_sources(
    world: World, monitor: DriftMonitor, data_root: Path, artifacts: ContentTypeRecorder
) -> None:
    # Given 250 API and 50 batch predictions like the training data, and newer dashboard and chat
    # predictions whose data use tripled
    rows = held_out_rows("telecom", data_root, 600)
    shifted = [{**row, "mb_used": row["mb_used"] * 3} for row in rows[300:]]
    world.log.put_many(logged("telecom", rows[:250]))
    world.log.put_many(logged("telecom", rows[250:300], start=250, source="batch"))
    world.log.put_many(logged("telecom", shifted[:150], start=300, source="dashboard"))
    world.log.put_many(logged("telecom", shifted[150:], start=450, source="chat"))
    # When the report is refreshed with the shipped sources (api, batch)
    report = monitor.refresh("telecom")
    # Then the window is the 300 API and batch predictions, and nothing drifted
    assert report["window"]["rows"] == 300 and report["window"]["sources"] == ["api", "batch"]
    assert report["drift"] is False
    # When a config reads the dashboard and chat only
    config = with_drift(load_model_config("telecom"), sources=["dashboard", "chat"])
    demo = build_monitor(world, artifacts, DirectoryDatasets(data_root), {"telecom": config})
    # Then the window is their 300 predictions, and mb_used drifted
    report = demo.refresh("telecom")
    assert report["window"]["rows"] == 300 and report["drifted_features"] == ["mb_used"]


def test_the_reference_is_read_once_per_model(
    world: World, artifacts: ContentTypeRecorder, data_root: Path
) -> None:
    # Given a monitor over a dataset store that counts its reads, and enough predictions
    datasets = CountingDatasets(data_root)
    monitor = build_monitor(world, artifacts, datasets)
    world.log.put_many(logged("telecom", held_out_rows("telecom", data_root, 200)))
    # When the schedule refreshes the report twice
    first, second = monitor.refresh("telecom"), monitor.refresh("telecom")
    # Then the base dataset was read once, and both reports agree
    assert datasets.reads == ["users_behavior.csv.gz"]
    assert first == second


def test_importing_the_monitor_loads_no_heavy_module() -> None:
    # When a fresh interpreter imports the monitor (the analyser is injected by the root)
    code = (
        "import sys, json\n"
        "import propensity.service.drift_monitor\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    # Then none of numpy/pandas/sklearn/scipy/joblib was imported
    assert result.stdout.strip() == "[]"
