"""The Spark training backend: a ``Trainer`` whose fit runs in Spark (EMR Serverless, or local).

The rows are prepared on the driver exactly as the scikit-learn backend prepares them
(``SklearnTrainer.prepare``: the gate's held-out split, feedback hold-out, screened extra rows),
so both backends are judged on the same held-out rows. The encoding, the fit and the parity
check of every row run in Spark. What differs from the scikit-learn backend, and is recorded in
the metrics: C is ``estimator.C`` (no cross-validated ``C_grid`` search), the threshold is
chosen on the training rows' in-sample predictions (not out-of-fold ones), missing values are
imputed (``missing = "auto"`` means "impute"), and there is no out-of-time refit.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pyspark.sql import DataFrame, SparkSession

from propensity.config import ModelConfig
from propensity.errors import DatasetError
from propensity.inputs import TrainingSet
from propensity.records import Candidate
from propensity.scoring import Scorer
from propensity.training.candidate import PreparedData, SklearnTrainer, finite_metrics
from propensity.training.evaluate import choose_threshold, evaluate, scalar_metrics
from propensity.training.feedback_holdout import frame_scores, holdout_report
from propensity.training.gate_evidence import gate_evidence
from propensity.training.spark.compile import compile_spark_scorecard
from propensity.training.spark.encoding import FEATURES_COLUMN, check_supported, fit_encoding
from propensity.training.spark.fit import (
    LABEL_COLUMN,
    PROBABILITY_COLUMN,
    fit_logistic,
    parity,
    with_probability,
)
from propensity.training.spark.render import SparkTrained, render_spark_artifacts
from propensity.training.train import SCORECARD_FILE, library_versions

ROW_COLUMN = "_row"
BACKEND = "spark"


def to_spark(spark: SparkSession, frame: pd.DataFrame, config: ModelConfig) -> DataFrame:
    """``frame``'s features, 0/1 label and row number as a Spark frame (through Arrow):
    numbers as doubles (missing: null), categories as strings (missing: null)."""
    data: dict[str, Any] = {}
    for name in config.features.numeric:
        data[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    for name in config.features.categorical:
        column = frame[name].astype(object)
        data[name] = column.where(column.notna(), None).map(lambda v: None if v is None else str(v))
    data[LABEL_COLUMN] = frame[config.target.column].astype("int64").to_numpy()
    data[ROW_COLUMN] = np.arange(len(frame), dtype=np.int64)
    table = pd.DataFrame(data)
    # Arrow cuts the frame into 10,000-row batches, one partition each: one task per core is
    # enough, and each L-BFGS iteration is one job over every partition.
    return spark.createDataFrame(table).repartition(spark.sparkContext.defaultParallelism)


def _probabilities(scored: DataFrame, n: int) -> NDArray[np.float64]:
    """The Spark probabilities in row order."""
    out = np.full(n, np.nan)
    for row in scored.select(ROW_COLUMN, PROBABILITY_COLUMN).collect():
        out[int(row[ROW_COLUMN])] = float(row[PROBABILITY_COLUMN])
    return out


class SparkTrainer:
    """Trains a candidate with Spark MLlib; its scorecard is served like any other."""

    def __init__(self, spark: SparkSession, *, prepare: SklearnTrainer | None = None) -> None:
        self._spark = spark
        self._prepare = prepare or SklearnTrainer()

    def train(
        self,
        config: ModelConfig,
        data: TrainingSet,
        *,
        version: str,
        comparators: Mapping[str, Scorer],
    ) -> Candidate:
        check_supported(config)
        prepared = self._prepare.prepare(config, data)
        trained = self.fit(config, prepared, version=version, data_sha256=data.fingerprint())
        return self._candidate(trained, prepared, comparators)

    def fit(
        self, config: ModelConfig, prepared: PreparedData, *, version: str, data_sha256: str
    ) -> SparkTrained:
        target, features = config.target.column, config.features.all
        train = pd.concat([prepared.train, prepared.extra[[*features, target]]], ignore_index=True)
        test = prepared.test
        y_train = train[target].to_numpy(dtype=int)
        y_test = test[target].to_numpy(dtype=int)
        if len(np.unique(y_train)) < 2:
            raise DatasetError(config.name, "the training data hold a single class")
        started = time.perf_counter()
        spark_train = to_spark(self._spark, train, config).cache()
        encoding = fit_encoding(self._spark, spark_train, config)
        encoded = (
            encoding.features(spark_train)
            .select(ROW_COLUMN, LABEL_COLUMN, FEATURES_COLUMN, *features)
            .cache()
        )
        counts = {0: int((y_train == 0).sum()), 1: int((y_train == 1).sum())}
        fitted = fit_logistic(encoded, config, config.estimator.C, counts)
        fit_seconds = time.perf_counter() - started
        scored_train = with_probability(fitted, encoded)
        scored_test = with_probability(
            fitted, encoding.features(to_spark(self._spark, test, config))
        )
        p_train = _probabilities(scored_train, len(train))
        p_test = _probabilities(scored_test, len(test))
        threshold, details = choose_threshold(y_train, p_train, config.threshold)
        details = {**details, "on": "in-sample predictions of the training split (spark)"}
        trained_at = datetime.now(UTC).isoformat(timespec="seconds")
        training = self._training_record(config, prepared, train, test, version, data_sha256)
        training.update(trained_at=trained_at, threshold=details)
        training["spark"] = {
            "reg_param": fitted.reg_param,
            "weight_sum": fitted.weight_sum,
            "iterations": fitted.iterations,
            "columns": encoding.n_columns,
            "fit_seconds": round(fit_seconds, 3),
        }
        scorecard = compile_spark_scorecard(
            encoding,
            fitted.coefficients,
            fitted.intercept,
            config,
            rows_train=len(train),
            threshold=threshold,
            version=version,
            metadata={
                "created_at": trained_at,
                "training_data": {"sha256": data_sha256, "rows": len(train)},
                "library_versions": training["library_versions"],
                "lineage": prepared.lineage,
            },
        )
        columns = [*features, PROBABILITY_COLUMN]
        every_row = scored_train.select(*columns).unionByName(scored_test.select(*columns))
        checked = parity(every_row, scorecard, config)
        spark_train.unpersist()
        encoded.unpersist()
        metrics = evaluate(
            y_test,
            p_test,
            threshold,
            y_train=y_train,
            description=(
                f"held-out split (test_size={config.split.test_size}, seed={config.split.seed}, "
                f"{'stratified' if config.split.stratify else 'random'})"
            ),
            intervals=config.evaluation,
        )
        metrics.update(
            model=config.name,
            version=version,
            threshold=details,
            tuning=training["tuning"],
            missing_policy=training["missing_policy"],
            backend=BACKEND,
            class_balance={
                "train": {"0": counts[0], "1": counts[1]},
                "test": {"0": int((y_test == 0).sum()), "1": int((y_test == 1).sum())},
            },
        )
        if config.evaluation.out_of_time:
            metrics["out_of_time"] = {"skipped": "the spark backend does not refit out of time"}
        return SparkTrained(
            config, version, scorecard, metrics, training, test, p_test, checked, fit_seconds
        )

    @staticmethod
    def _training_record(
        config: ModelConfig,
        prepared: PreparedData,
        train: pd.DataFrame,
        test: pd.DataFrame,
        version: str,
        data_sha256: str,
    ) -> dict[str, Any]:
        versions = library_versions()
        for package in ("pyspark", "pyarrow"):
            try:
                versions[package] = metadata.version(package)
            except metadata.PackageNotFoundError:
                versions[package] = "not installed"
        return {
            "version": version,
            "backend": BACKEND,
            "rows_train": len(train),
            "rows_test": len(test),
            "rows_extra": len(prepared.extra),
            "data_sha256": data_sha256,
            "library_versions": versions,
            "estimator": config.estimator.model_dump(),
            "tuning": {
                "chosen_C": config.estimator.C,
                "on": "estimator.C (the spark backend does not search C_grid)",
                "scores": [],
            },
            "missing_policy": {
                "configured": config.estimator.missing,
                "chosen": "impute",
                "on": "the spark backend imputes the training median/mode",
            },
        }

    def _candidate(
        self, trained: SparkTrained, prepared: PreparedData, comparators: Mapping[str, Scorer]
    ) -> Candidate:
        config = trained.config
        files = render_spark_artifacts(trained)
        scorer = Scorer(trained.scorecard)
        test = trained.test_frame
        y = test[config.target.column].to_numpy(dtype=int)
        scores = {name: frame_scores(s, config, test) for name, s in comparators.items()}
        comparisons = {
            name: finite_metrics(scalar_metrics(y, scores[name], comparators[name].threshold))
            for name in comparators
        }
        evidence: dict[str, Any] = {}
        if comparators and len(np.unique(y)) == 2:
            categories = {c: test[c].to_numpy(dtype=object) for c in config.features.categorical}
            evidence = gate_evidence(
                config.promotion,
                y,
                trained.p_test,
                scores,
                categories,
                seed=config.split.seed,
            )
        evidence.update(
            scorecard_bytes=len(files[SCORECARD_FILE]),
            backend=BACKEND,
            parity=dict(trained.parity),
        )
        report = holdout_report(
            config,
            prepared.held,
            lambda frame: frame_scores(scorer, config, frame),
            comparators,
            selected=prepared.selected,
            excluded=prepared.held_excluded,
        )
        return Candidate(
            model=config.name,
            version=trained.version,
            files=files,
            artifacts=dict(trained.artifacts),
            metrics=finite_metrics(trained.metrics),
            comparisons=comparisons,
            threshold=float(trained.scorecard["threshold"]),
            rows_train=int(trained.training["rows_train"]),
            extra_rows=int(trained.training["rows_extra"]),
            data_sha256=str(trained.training["data_sha256"]),
            lineage=dict(prepared.lineage),
            evidence=evidence,
            feedback_holdout=report,
        )


def spark_session(master: str | None = None, app: str = "propensity-train") -> SparkSession:
    """A session for the job (EMR Serverless sets the master) or for local runs and tests."""
    builder = SparkSession.builder.appName(app).config(
        "spark.sql.execution.arrow.pyspark.enabled", "true"
    )
    if master is not None:
        # Local mode: the workers run this interpreter (PySpark refuses another minor version).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = (
            builder.master(master)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            # A few cores: Spark's 200 shuffle partitions would be mostly scheduling overhead.
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.pyspark.python", sys.executable)
            .config("spark.pyspark.driver.python", sys.executable)
        )
    return builder.getOrCreate()
