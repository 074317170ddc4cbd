"""The compiled scorecard reproduces the scikit-learn pipeline on every row of both datasets."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from propensity.config import ModelConfig, load_model_config
from propensity.scoring import Scorer
from propensity.training.dataset import load_dataset
from propensity.training.train import TrainedModel, train_model

PARITY = 1e-9


def as_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as the API receives them: JSON-like values, None for missing."""
    return [
        {str(k): (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def assert_parity(model: TrainedModel, frame: pd.DataFrame) -> None:
    features = model.config.features.all
    expected = model.pipeline.predict_proba(frame[features])[:, 1]
    scorer = Scorer(model.scorecard)
    actual = np.array([scorer.score(row).probability for row in as_records(frame[features])])
    assert len(actual) == len(frame)
    assert np.max(np.abs(actual - expected)) <= PARITY
    threshold = model.scorecard["threshold"]
    predicted = np.array(
        [scorer.score(row).prediction for row in as_records(frame[features][:500])]
    )
    assert (predicted == (expected[:500] >= threshold)).all()


@pytest.mark.parametrize("name", ["bank", "telecom"])
def test_scorecard_matches_pipeline_on_every_row(
    trained: dict[str, TrainedModel], data_root: Any, name: str
) -> None:
    # Given the model trained with its default config (bank: sentinels and crosses), and its
    # whole dataset
    model = trained[name]
    frame, _ = load_dataset(model.config, data_root)
    if name == "bank":
        sentinels = {
            f["name"]: f["sentinels"] for f in model.scorecard["features"] if "sentinels" in f
        }
        assert {k: [s["value"] for s in v] for k, v in sentinels.items()} == {
            "pdays": [-1.0],
            "previous": [0.0],
        }
        assert [c["name"] for c in model.scorecard["crosses"]] == [
            "month × contact",
            "poutcome × month",
            "housing × month",
        ]
    # When every row is scored by the pipeline and by the scorecard
    # Then the probabilities agree to 1e-9 and so do the decisions
    assert_parity(model, frame)


def test_parity_holds_for_missing_values_and_unknown_categories(
    trained: dict[str, TrainedModel], data_root: Any
) -> None:
    # Given bank rows where values are missing and categories unseen in training
    model = trained["bank"]
    frame, _ = load_dataset(model.config, data_root)
    sample = frame.sample(2000, random_state=1).reset_index(drop=True)
    rng = np.random.default_rng(7)
    for column in model.config.features.all:
        holes = rng.random(len(sample)) < 0.15
        sample.loc[holes, column] = np.nan
    sample.loc[rng.random(len(sample)) < 0.1, "job"] = "astronaut"
    sample.loc[rng.random(len(sample)) < 0.1, "balance"] = 10_000_000.0
    # Then the scorer matches the pipeline (imputation, ignored unknowns, end bins)
    assert_parity(model, sample)
    scorer = Scorer(model.scorecard)
    astronaut = as_records(sample[sample["job"] == "astronaut"][model.config.features.all])[0]
    assert "job" in scorer.score(astronaut).unknown


@pytest.mark.parametrize("name", ["bank", "telecom"])
def test_parity_with_standard_scaling(data_root: Any, name: str) -> None:
    # Given the seeds' choice of encoding (standard scaling) instead of quantile bins
    config = load_model_config(name)
    config = config.model_copy(
        update={"estimator": config.estimator.model_copy(update={"numeric_encoding": "standard"})}
    )
    frame, _ = load_dataset(config, data_root)
    model = train_model(config, frame, version="std")
    # Then the compiled scaled weights reproduce the pipeline too
    assert_parity(model, frame)
    assert {f["encoding"] for f in model.scorecard["features"] if f["type"] == "numeric"} == {
        "standard"
    }


def _one_value_grid(config: ModelConfig, **features: Any) -> ModelConfig:
    """``config`` with C fixed (no CV grid: cheaper) and the given feature settings."""
    return config.model_copy(
        update={
            "estimator": config.estimator.model_copy(update={"C_grid": []}),
            "features": config.features.model_validate(
                {**config.features.model_dump(), **features}
            ),
        }
    )


@pytest.mark.parametrize("encoding", ["bins", "standard"])
def test_parity_with_numeric_crosses_and_sentinels_on_every_row(
    data_root: Any, encoding: str
) -> None:
    # Given bank with crosses of a categorical and a binned numeric (one with a sentinel),
    # under both numeric encodings
    config = _one_value_grid(
        load_model_config("bank"),
        crosses=[
            {"first": "job", "second": "age", "bins": 5},
            {"first": "poutcome", "second": "pdays", "bins": 3},
            {"first": "month", "second": "contact"},
        ],
    )
    config = config.model_copy(
        update={"estimator": config.estimator.model_copy(update={"numeric_encoding": encoding})}
    )
    frame, _ = load_dataset(config, data_root)
    model = train_model(config, frame, version="crosses")
    # Then the scorecard reproduces the pipeline on every row
    assert_parity(model, frame)
    pdays = next(c for c in model.scorecard["crosses"] if c["name"] == "poutcome × pdays")
    assert pdays["sentinels"] == [-1.0] and len(pdays["edges"]) >= 1
    # and a reason names the cross it comes from
    scorer = Scorer(model.scorecard)
    texts = [
        c.describe()
        for row in as_records(frame[config.features.all][:200])
        for c in scorer.score(row).reasons(15)
    ]
    assert any(t.startswith("month=") and " × contact=" in t for t in texts)


@pytest.mark.parametrize("policy", ["impute", "mean"])
def test_parity_under_each_missing_value_policy(data_root: Any, policy: str) -> None:
    # Given telecom trained with each missing-value policy and rows with holes
    config = load_model_config("telecom")
    config = config.model_copy(
        update={"estimator": config.estimator.model_copy(update={"missing": policy})}
    )
    frame, _ = load_dataset(config, data_root)
    model = train_model(config, frame, version="missing")
    assert model.scorecard["missing"] == policy
    holes = frame.copy()
    rng = np.random.default_rng(3)
    for column in config.features.all:
        holes.loc[rng.random(len(holes)) < 0.3, column] = np.nan
    # Then scorer and pipeline agree on every row, whatever is missing
    assert_parity(model, holes)


def test_choices_and_evaluations_are_recorded(trained: dict[str, TrainedModel]) -> None:
    # Given the shipped models
    bank, telecom = trained["bank"], trained["telecom"]
    # Then C was chosen from the config's grid by CV, with a score per value
    tuning = bank.metrics["tuning"]
    assert [s["C"] for s in tuning["scores"]] == sorted(bank.config.estimator.C_grid)
    best = max(tuning["scores"], key=lambda s: s["mean"])
    assert tuning["chosen_C"] == best["C"] == bank.training["tuning"]["chosen_C"]
    assert tuning["chosen_C"] == bank.pipeline.named_steps["classifier"].C
    # and the missing-value policy follows its measurement
    missing = bank.metrics["missing_policy"]
    assert missing["chosen"] == missing["measured_best"] == bank.scorecard["missing"]
    logloss = {p: m["log_loss"] for p, m in missing["policies"].items()}
    assert logloss[missing["chosen"]] == min(logloss.values())
    # and bank (a file in time order) has an out-of-time evaluation; telecom has none
    late = bank.metrics["out_of_time"]
    assert late["evaluated_on"]["rows"] == round(0.2 * 45211)
    assert late["roc_auc"] < bank.metrics["roc_auc"]  # the random split flatters
    assert "out_of_time" not in telecom.metrics
    # and every evaluation carries 95 % intervals around its figures
    for metrics in (bank.metrics, late, telecom.metrics):
        for name in ("roc_auc", "pr_auc", "brier", "f1"):
            bounds = metrics["intervals"][name]
            assert bounds["low"] <= metrics[name] <= bounds["high"]
        assert len(metrics["lift"]) == 10


@pytest.mark.parametrize(("name", "floor"), [("bank", 0.79), ("telecom", 0.82)])
def test_default_config_reaches_the_quality_floor(
    trained: dict[str, TrainedModel], name: str, floor: float
) -> None:
    metrics = trained[name].metrics
    assert metrics["roc_auc"] >= floor
    # and beats the majority-class baseline where it matters
    assert metrics["roc_auc"] > metrics["baseline"]["roc_auc"] + 0.2
    assert metrics["f1"] > metrics["baseline"]["f1"]


def test_reasons_name_strong_effects(trained: dict[str, TrainedModel]) -> None:
    # Given a client whose previous campaign succeeded
    scorer = Scorer(trained["bank"].scorecard)
    score = scorer.score(
        {
            "age": 40,
            "job": "management",
            "marital": "married",
            "education": "tertiary",
            "default": "no",
            "balance": 1500,
            "housing": "no",
            "loan": "no",
            "contact": "cellular",
            "day": 15,
            "month": "mar",
            "campaign": 1,
            "pdays": 90,
            "previous": 2,
            "poutcome": "success",
        }
    )
    # Then the strongest reasons are positive and include the previous outcome
    top = score.reasons(3)
    assert any(r.feature == "poutcome" and r.contribution > 0.5 for r in top)
    assert score.probability > 0.5
