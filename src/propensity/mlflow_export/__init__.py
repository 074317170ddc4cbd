"""Our model registry as MLflow runs and registered-model versions (``propensity mlflow-export``).

Each version of a model becomes one MLflow run in the experiment ``propensity/<model>``: its
params (the estimator settings it was trained with, the C cross-validation chose, the bins of
each feature), its metrics with their bootstrap intervals (and out of time, baseline and the
champion it was gated against, when measured), and its artifacts (scorecard, metrics, model and
data cards, the plots). The run is then registered as a version of the registered model (named
after ours), and the ``champion`` alias points at our champion's.

Running it again adds only the versions MLflow does not have: every run and model version is
tagged with our version name, and a version already registered is left alone (its status tag is
brought up to date, and the alias follows our champion). A run an interrupted export left
unfinished is deleted and logged again.

Reads only through the registry and artifact ports, each file checked against the SHA-256 the
registry recorded. MLflow is an optional extra (``pip install 'propensity[mlflow]'``), imported
only when an export runs: nothing else imports this module at import time.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from propensity.errors import NotFoundError, PropensityError
from propensity.mlflow_export.runs import (
    MANIFEST,
    MODEL_TAG,
    STATUS_TAG,
    VERSION_TAG,
    chunks,
    millis,
    version_files,
    version_metrics,
    version_params,
    version_tags,
)
from propensity.records import ChampionAlias, VersionRecord
from propensity.service.ports import ArtifactStore, Registry

if TYPE_CHECKING:
    from mlflow import MlflowClient

CHAMPION_ALIAS = "champion"
MODEL_DIR = "model"  # the run's artifact folder a model version's source points at
PLOTS_DIR = "plots"
ALL_VERSIONS = 1_000_000


class MlflowExportError(PropensityError):
    """The MLflow client is missing, or MLflow refused a call (the message says which)."""


@dataclass(frozen=True)
class ExportedVersion:
    version: str
    mlflow_version: str
    run_id: str
    added: bool  # False: MLflow had it from an earlier export


@dataclass(frozen=True)
class ExportReport:
    model: str
    registered_model: str
    experiment_id: str
    versions: tuple[ExportedVersion, ...]
    champion: str | None  # our champion's version name
    champion_mlflow_version: str | None

    @property
    def added(self) -> tuple[ExportedVersion, ...]:
        return tuple(v for v in self.versions if v.added)


# --- the export ------------------------------------------------------------------------------


class MlflowExporter:
    """Exports one model's versions from our registry to an MLflow tracking server/registry."""

    def __init__(
        self,
        registry: Registry,
        artifacts: ArtifactStore,
        *,
        tracking_uri: str | None = None,
        registry_uri: str | None = None,
        experiment: str | None = None,
        registered_model: str | None = None,
        artifact_location: str | None = None,
        plots: bool = True,
    ) -> None:
        self._registry = registry
        self._artifacts = artifacts
        self._tracking_uri = tracking_uri
        self._registry_uri = registry_uri
        self._experiment = experiment
        self._registered_model = registered_model
        self._artifact_location = artifact_location
        self._plots = plots

    def export(self, model: str) -> ExportReport:
        client = self._client()
        from mlflow.exceptions import MlflowException

        try:
            return self._export(client, model)
        except MlflowException as exc:
            raise MlflowExportError(f"MLflow: {exc.message}") from exc

    def _export(self, client: MlflowClient, model: str) -> ExportReport:
        versions = sorted(
            self._registry.list_versions(model, limit=ALL_VERSIONS), key=lambda r: r.number
        )
        if not versions:
            raise NotFoundError(f"model {model!r} has no version in the registry")
        name = self._registered_model or model
        experiment_id = self._experiment_id(client, self._experiment or f"propensity/{model}")
        self._ensure_registered_model(client, name, model)
        runs = self._finished_runs(client, experiment_id, model)
        registered = self._registered_versions(client, name)
        exported = []
        for record in versions:
            existing = registered.get(record.version)
            if existing is not None:
                if existing.tags.get(STATUS_TAG) != record.status:
                    client.set_model_version_tag(name, existing.version, STATUS_TAG, record.status)
                exported.append(
                    ExportedVersion(record.version, str(existing.version), existing.run_id, False)
                )
                continue
            run_id = runs.get(record.version) or self._log_run(client, experiment_id, record)
            created = client.create_model_version(
                name,
                source=f"runs:/{run_id}/{MODEL_DIR}",
                run_id=run_id,
                tags={VERSION_TAG: record.version, STATUS_TAG: record.status},
                description=record.reason,
            )
            exported.append(ExportedVersion(record.version, str(created.version), run_id, True))
        champion = self._registry.get_champion(model)
        champion_version = self._point_alias(client, name, champion, exported)
        return ExportReport(
            model,
            name,
            experiment_id,
            tuple(exported),
            champion.version if champion else None,
            champion_version,
        )

    def _client(self) -> MlflowClient:
        try:
            from mlflow import MlflowClient
        except ImportError as exc:
            raise MlflowExportError(
                "mlflow-export needs the MLflow client: pip install 'propensity[mlflow]'"
            ) from exc
        return MlflowClient(tracking_uri=self._tracking_uri, registry_uri=self._registry_uri)

    def _experiment_id(self, client: MlflowClient, name: str) -> str:
        found = client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        return str(client.create_experiment(name, artifact_location=self._artifact_location))

    @staticmethod
    def _ensure_registered_model(client: MlflowClient, name: str, model: str) -> None:
        from mlflow.exceptions import MlflowException

        try:
            client.get_registered_model(name)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            client.create_registered_model(
                name,
                tags={MODEL_TAG: model},
                description=f"propensity model {model!r}, exported from its registry",
            )

    @staticmethod
    def _finished_runs(client: MlflowClient, experiment_id: str, model: str) -> dict[str, str]:
        """Our version → run id of the finished runs; unfinished ones (an interrupted export)
        are deleted, to be logged again."""
        finished: dict[str, str] = {}
        token: str | None = None
        while True:
            page = client.search_runs(
                [experiment_id],
                filter_string=f"tags.`{MODEL_TAG}` = '{model}'",
                max_results=1000,
                page_token=token,
            )
            for run in page:
                version = run.data.tags.get(VERSION_TAG)
                if run.info.status == "FINISHED" and version and version not in finished:
                    finished[version] = run.info.run_id
                elif run.info.status != "FINISHED":
                    client.delete_run(run.info.run_id)
            token = page.token
            if not token:
                return finished

    @staticmethod
    def _registered_versions(client: MlflowClient, name: str) -> dict[str, Any]:
        """Our version → MLflow model version of those registered already."""
        found: dict[str, Any] = {}
        token: str | None = None
        while True:
            page = client.search_model_versions(
                f"name = '{name}'", max_results=1000, page_token=token
            )
            for version in page:
                ours = version.tags.get(VERSION_TAG)
                if ours and ours not in found:
                    found[ours] = version
            token = page.token
            if not token:
                return found

    def _log_run(self, client: MlflowClient, experiment_id: str, record: VersionRecord) -> str:
        from mlflow.entities import Metric, Param, RunTag

        files = version_files(self._artifacts, record)
        manifest = json.loads(files[MANIFEST])
        metrics = json.loads(files["metrics.json"]) if "metrics.json" in files else {}
        scorecard = json.loads(files["scorecard.json"]) if "scorecard.json" in files else {}
        started = millis(record.created_at)
        run = client.create_run(experiment_id, start_time=started, tags=version_tags(record))
        run_id: str = run.info.run_id
        stamp = started or run.info.start_time
        params = [Param(k, v) for k, v in version_params(record, manifest, scorecard).items()]
        values = [
            Metric(k, v, stamp, 0) for k, v in sorted(version_metrics(record, metrics).items())
        ]
        for chunk in chunks(params):
            client.log_batch(run_id, params=chunk)
        for chunk in chunks(values):
            client.log_batch(run_id, metrics=chunk)
        client.log_batch(
            run_id, tags=[RunTag("propensity.artifact_prefix", record.artifact_prefix)]
        )
        with tempfile.TemporaryDirectory(prefix="propensity-mlflow-") as scratch:
            folder = Path(scratch) / MODEL_DIR
            folder.mkdir()
            for name, body in files.items():
                (folder / name).write_bytes(body)
            client.log_artifacts(run_id, str(folder), MODEL_DIR)
            stored_plots = sorted(name for name in files if name.endswith(".png"))
            if self._plots and metrics and not stored_plots:
                self._log_plots(client, run_id, metrics, scorecard, Path(scratch) / PLOTS_DIR)
        client.set_terminated(run_id, "FINISHED")
        return run_id

    @staticmethod
    def _log_plots(
        client: MlflowClient,
        run_id: str,
        metrics: Mapping[str, Any],
        scorecard: Mapping[str, Any],
        folder: Path,
    ) -> None:
        """The versions trained in AWS store no plots (no matplotlib there): drawn here from the
        version's metrics, with the code `propensity train` draws them with."""
        from propensity.training.plots import write_plots

        target = scorecard.get("target", {})
        labels = (str(target.get("negative_label", "0")), str(target.get("positive_label", "1")))
        write_plots(metrics, folder, labels=labels)
        client.log_artifacts(run_id, str(folder), PLOTS_DIR)

    @staticmethod
    def _point_alias(
        client: MlflowClient,
        name: str,
        champion: ChampionAlias | None,
        exported: list[ExportedVersion],
    ) -> str | None:
        """``champion`` on our champion's MLflow version; removed when we have no champion."""
        current = client.get_registered_model(name).aliases.get(CHAMPION_ALIAS)
        target = next(
            (v.mlflow_version for v in exported if champion and v.version == champion.version),
            None,
        )
        if target is None:
            if current is not None:
                client.delete_registered_model_alias(name, CHAMPION_ALIAS)
            return None
        if str(current) != target:
            client.set_registered_model_alias(name, CHAMPION_ALIAS, target)
        return target
