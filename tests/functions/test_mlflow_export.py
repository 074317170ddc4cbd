"""`propensity mlflow-export`: our registry's versions, numbers, files and champion in MLflow.

Against the template's tables and bucket in moto, and a local MLflow store (SQLite) in tmp_path:
telecom's v1 (bootstrap), v2 (promoted on honest feedback) and v3 (rejected on label-flipped
feedback) are exported, then exported again, then the champion moves and they are exported once
more.
"""

from __future__ import annotations

import gzip
import io
import json
from dataclasses import dataclass
from pathlib import Path

import boto3
import pandas as pd
import pytest
from mlflow import MlflowClient

from propensity.adapters.datasets import BucketDatasets
from propensity.adapters.feedback import DynamoFeedbackStore
from propensity.adapters.object_store import ObjectStore
from propensity.adapters.registry import DynamoRegistry
from propensity.cli import main
from propensity.config import load_model_config
from propensity.local.template import Stack
from propensity.records import PromotionEvent
from propensity.service.retraining import RetrainOrchestrator
from propensity.service.uploads import UploadService
from propensity.training.candidate import SklearnTrainer

MODEL = "telecom"


@pytest.fixture
def retrainer(stack: Stack, published: RetrainOrchestrator) -> Retrainer:
    """The retrain service of the `published` stack (v1 of each model), taking CSV uploads
    (label-flipped rows by the thousand: as feedback items they would take minutes in moto)."""
    configs = {MODEL: load_model_config(MODEL)}
    bucket = ObjectStore(stack.names["ArtifactsBucket"])
    feedback = DynamoFeedbackStore(stack.names["FeedbackTable"])
    service = RetrainOrchestrator(
        configs,
        DynamoRegistry(stack.names["RegistryTable"]),
        bucket,
        feedback,
        datasets=BucketDatasets(bucket),
        trainer=SklearnTrainer(),
        uploads=feedback,
    )
    return Retrainer(service, UploadService(configs, bucket, feedback))


@dataclass
class Retrainer:
    service: RetrainOrchestrator
    uploads: UploadService

    def retrain_on(self, data_root: Path, rows: slice, *, flip: bool) -> bool:
        """Upload those subscribers of the dataset as labelled rows (labels flipped or not),
        retrain telecom, and say whether the new version was promoted."""
        frame = pd.read_csv(
            io.BytesIO(gzip.decompress((data_root / "users_behavior.csv.gz").read_bytes()))
        ).iloc[rows]
        if flip:
            frame = frame.assign(is_ultra=1 - frame["is_ultra"])
        self.uploads.accept(MODEL, frame.to_csv(index=False).encode(), "labels.csv")
        return self.service.retrain(MODEL, trigger="admin").promoted


def export(stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """The documented command against the stack's bucket and registry table; its output."""
    code = main(
        [
            "mlflow-export",
            "--model",
            MODEL,
            "--tracking-uri",
            tracking_uri(tmp_path),
            "--artifact-location",
            (tmp_path / "mlartifacts").as_uri(),
            "--bucket",
            stack.names["ArtifactsBucket"],
            "--registry-table",
            stack.names["RegistryTable"],
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def tracking_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def test_export_matches_the_registry_and_adds_only_new_versions(
    stack: Stack,
    retrainer: Retrainer,
    data_root: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given two retrains of telecom: v2 promoted, v3 rejected (so the champion is not the latest)
    assert retrainer.retrain_on(data_root, slice(0, 50), flip=False)
    assert not retrainer.retrain_on(data_root, slice(0, 2500), flip=True)
    registry = retrainer.service._registry
    ours = {v.version: v for v in registry.list_versions(MODEL)}
    assert sorted(ours) == ["v1", "v2", "v3"]
    assert registry.get_champion(MODEL).version == "v2"  # type: ignore[union-attr]

    # When the model is exported to an empty MLflow store
    out = export(stack, tmp_path, capsys)

    # Then every version of ours is one registered version, tagged with our name and status
    client = MlflowClient(tracking_uri=tracking_uri(tmp_path))
    registered = {
        mv.tags["propensity.version"]: mv for mv in client.search_model_versions("name = 'telecom'")
    }
    assert {v: mv.tags["propensity.status"] for v, mv in registered.items()} == {
        v: record.status for v, record in ours.items()
    }
    assert registered["v3"].tags["propensity.status"] == "rejected"
    assert registered["v3"].description == ours["v3"].reason
    # and the champion alias is on our champion's version
    assert client.get_model_version_by_alias(MODEL, "champion").version == registered["v2"].version
    assert "added 3 of 3 versions" in out

    # And v2's run holds its params (config, chosen C, bins), metrics with intervals, artifacts
    assert registered["v2"].run_id is not None
    run = client.get_run(registered["v2"].run_id)
    params, metrics = run.data.params, run.data.metrics
    scorecard = json.loads(
        boto3.client("s3")
        .get_object(Bucket=stack.names["ArtifactsBucket"], Key=ours["v2"].scorecard_key)["Body"]
        .read()
    )
    evaluation = json.loads(
        boto3.client("s3")
        .get_object(
            Bucket=stack.names["ArtifactsBucket"], Key=f"{ours['v2'].artifact_prefix}metrics.json"
        )["Body"]
        .read()
    )
    assert float(params["C"]) == evaluation["tuning"]["chosen_C"]
    assert params["config.numeric_encoding"] == "bins" and params["bins"] == "10"
    assert {f"bins.{f['name']}" for f in scorecard["features"]} <= set(params)
    assert params["trigger"] == "admin" and params["parent_version"] == "v1"
    assert metrics["roc_auc"] == pytest.approx(ours["v2"].metrics["roc_auc"])
    bounds = evaluation["intervals"]["roc_auc"]
    assert (metrics["roc_auc.ci_low"], metrics["roc_auc.ci_high"]) == pytest.approx(
        (bounds["low"], bounds["high"])
    )
    assert metrics["champion.roc_auc"] == pytest.approx(ours["v1"].metrics["roc_auc"])
    files = {a.path for a in client.list_artifacts(run.info.run_id, "model")}
    assert {f"model/{name}" for name in ours["v2"].artifacts} | {"model/manifest.json"} == files
    plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert {"plots/roc.png", "plots/pr.png", "plots/confusion_matrix.png"} <= plots
    exported = Path(
        client.download_artifacts(run.info.run_id, "model/scorecard.json", str(tmp_path))
    )
    assert json.loads(exported.read_bytes()) == scorecard

    # When exported again
    runs_before = len(client.search_runs([run.info.experiment_id]))
    out = export(stack, tmp_path, capsys)
    # Then nothing is added
    assert "added 0 of 3 versions" in out
    assert len(client.search_model_versions("name = 'telecom'")) == 3
    assert len(client.search_runs([run.info.experiment_id])) == runs_before == 3

    # When our champion moves back to v1 and the model is exported once more
    champion = registry.get_champion(MODEL)
    assert champion is not None
    registry.promote(
        ours["v1"],
        expected_revision=champion.revision,
        event=PromotionEvent(
            MODEL, "v1", "v2", "2026-01-02T00:00:00+00:00", "test", "back", "rollback"
        ),
    )
    out = export(stack, tmp_path, capsys)
    # Then the alias follows it, and still nothing is added
    assert client.get_model_version_by_alias(MODEL, "champion").version == registered["v1"].version
    assert "added 0 of 3 versions" in out


def test_an_interrupted_run_is_logged_again(
    stack: Stack,
    published: RetrainOrchestrator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a run of v1 that an earlier export left unfinished (no model version)
    client = MlflowClient(tracking_uri=tracking_uri(tmp_path))
    experiment = client.create_experiment(
        "propensity/telecom", artifact_location=(tmp_path / "mlartifacts").as_uri()
    )
    stale = client.create_run(
        experiment, tags={"propensity.model": MODEL, "propensity.version": "v1"}
    )
    # When the model is exported
    out = export(stack, tmp_path, capsys)
    # Then v1 is registered from a new, finished run, and the stale run is deleted
    (version,) = client.search_model_versions("name = 'telecom'")
    assert version.run_id != stale.info.run_id
    assert version.run_id is not None
    assert client.get_run(version.run_id).info.status == "FINISHED"
    assert client.get_run(stale.info.run_id).info.lifecycle_stage == "deleted"
    assert "added 1 of 1 versions" in out


def test_export_needs_a_target_and_a_known_model(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Without a stack or resources, the error names the options
    assert main(["mlflow-export", "--model", MODEL]) == 2
    assert "--stack-name" in capsys.readouterr().err
    # And a model with no version in the registry is named
    code = main(
        [
            "mlflow-export",
            "--model",
            "nosuch",
            "--tracking-uri",
            tracking_uri(tmp_path),
            "--bucket",
            stack.names["ArtifactsBucket"],
            "--registry-table",
            stack.names["RegistryTable"],
        ]
    )
    assert code == 2
    assert "'nosuch' has no version" in capsys.readouterr().err
