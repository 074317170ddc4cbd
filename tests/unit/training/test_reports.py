"""Evaluation plots, dataset profile, model card and data card."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from propensity.config import ModelConfig, load_model_config
from propensity.errors import DatasetError
from propensity.training.cards import profile_dataset, render_data_card, render_model_card
from propensity.training.plots import write_plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def bank() -> ModelConfig:
    return load_model_config("bank")


@pytest.fixture(scope="module")
def telecom() -> ModelConfig:
    return load_model_config("telecom")


def _metrics() -> dict[str, Any]:
    """A metrics dict shaped like the trainer's, with distinctive values to look for."""
    return {
        "model": "bank",
        "threshold": {"value": 0.3141, "strategy": "max_f1", "f1": 0.4567},
        "accuracy": 0.8765,
        "precision": 0.4321,
        "recall": 0.5432,
        "f1": 0.4813,
        "roc_auc": 0.7919,
        "pr_auc": 0.4142,
        "brier": 0.0857,
        "log_loss": 0.2961,
        "confusion_matrix": {"tn": 700, "fp": 80, "fn": 50, "tp": 70},
        "baseline": {
            "accuracy": 0.8333,
            "precision": 0.0,
            "recall": 0.0,
            "f1": 0.0,
            "roc_auc": 0.5,
            "pr_auc": 0.1667,
            "brier": 0.1389,
            "log_loss": 0.4506,
            "strategy": "majority_class",
        },
        "curves": {
            "roc": {"fpr": [0.0, 0.05, 0.1, 0.3, 0.6, 1.0], "tpr": [0.0, 0.3, 0.47, 0.7, 0.9, 1.0]},
            "pr": {"precision": [1.0, 0.7, 0.47, 0.3, 0.17], "recall": [0.0, 0.2, 0.47, 0.8, 1.0]},
        },
        "calibration": {
            "bins": [
                {
                    "lower": 0.0,
                    "upper": 0.5,
                    "count": 800,
                    "mean_predicted": 0.1,
                    "fraction_positive": 0.09,
                },
                {
                    "lower": 0.5,
                    "upper": 0.9,
                    "count": 100,
                    "mean_predicted": 0.62,
                    "fraction_positive": 0.58,
                },
                # An empty bin, as the trainer writes it: skipped on the plot.
                {
                    "lower": 0.9,
                    "upper": 1.0,
                    "count": 0,
                    "mean_predicted": float("nan"),
                    "fraction_positive": float("nan"),
                },
            ]
        },
        "class_balance": {"train": {"0": 3000, "1": 600}, "test": {"0": 780, "1": 120}},
        "evaluated_on": {"rows": 900, "positives": 120, "description": "held-out split"},
    }


def _training(strategy: str = "max_f1") -> dict[str, Any]:
    return {
        "version": "20260101T000000Z-abc123",
        "trained_at": "2026-01-01T00:00:00+00:00",
        "rows_train": 3600,
        "rows_test": 900,
        "data_sha256": "d" * 64,
        "library_versions": {"python": "3.11.7", "scikit-learn": "1.7.2"},
        "artifacts": {"scorecard.json": "a" * 64, "metrics.json": "b" * 64},
        "estimator": {"C": 1.0, "class_weight": None, "numeric_encoding": "bins", "n_bins": 10},
        "threshold": {
            "strategy": strategy,
            "value": 0.3141,
            "details": {"fp_cost": 1.0, "fn_cost": 5.0} if strategy == "cost" else {},
        },
    }


def test_write_plots_produces_four_png_files(tmp_path: Path) -> None:
    # Given a metrics dict from the trainer
    metrics = _metrics()

    # When the plots are written into a directory that does not exist yet
    paths = write_plots(metrics, tmp_path / "plots", labels=("no", "yes"))

    # Then four non-trivial PNG files exist under the documented names
    assert {name: path.name for name, path in paths.items()} == {
        "roc": "roc.png",
        "pr": "pr.png",
        "confusion_matrix": "confusion_matrix.png",
        "calibration": "calibration.png",
    }
    for path in paths.values():
        content = path.read_bytes()
        assert content.startswith(PNG_SIGNATURE)
        assert len(content) > 1024


def test_model_card_reports_metrics_baseline_and_threshold(bank: ModelConfig) -> None:
    # Given the trainer's metrics and training record
    metrics, training = _metrics(), _training()

    # When the model card is rendered
    card = render_model_card(bank, metrics, training)

    # Then every section is there, with numbers to 3 decimals
    for section in (
        "## Objective",
        "## Data",
        "## Model",
        "## Metrics",
        "## Threshold logic",
        "## Limitations",
        "## Reproducibility",
    ):
        assert section in card
    assert "| `roc_auc` | 0.792 | 0.500 |" in card
    assert "| `log_loss` | 0.296 | 0.451 |" in card
    assert "| `f1` | 0.481 | 0.000 |" in card
    # The confusion matrix at the chosen threshold and the strategy that chose it
    assert "threshold 0.314 (max_f1)" in card
    assert "| Actual yes (1) | 50 | 70 |" in card
    assert "`max_f1`" in card
    assert "never on the held-out test split" in card
    # Provenance and reproducibility
    assert bank.dataset.citation in card
    assert bank.dataset.license in card
    assert "`duration`: only known after the call ends: target leakage" in card
    assert "d" * 64 in card
    assert "| `scorecard.json` | `" + "a" * 64 + "` |" in card
    # Config limitations and the generic ones
    assert bank.limitations[0] in card
    assert "Fairness" in card and "Drift" in card


def test_model_card_explains_cost_strategy(telecom: ModelConfig) -> None:
    # Given a threshold chosen by cost with FN five times as expensive as FP
    metrics, training = _metrics(), _training(strategy="cost")

    # When the model card is rendered
    card = render_model_card(telecom, metrics, training)

    # Then the rule and both costs are spelled out; telecom has no categorical step
    assert "Strategy `cost`" in card
    assert "1.000 × FP + 5.000 × FN" in card
    assert "Categorical features (" not in card


def test_profile_dataset_describes_target_features_and_drops(bank: ModelConfig) -> None:
    # Given a small raw bank frame with the leaky duration column and one missing age
    frame = _bank_frame(rows=200)
    frame.loc[0, "age"] = np.nan

    # When it is profiled
    profile = profile_dataset(frame, bank)

    # Then rows, balance, statistics, categories and dropped columns are reported
    assert profile["rows"] == 200
    assert profile["target"]["positive"] == 20
    assert profile["target"]["negative"] == 180
    assert profile["target"]["positive_fraction"] == pytest.approx(0.1)
    age = profile["numeric"]["age"]
    assert age["missing"] == 1
    assert age["min"] == 21.0  # row 0 (age 20) is the missing one
    assert age["max"] == 219.0
    assert age["p50"] == pytest.approx(frame["age"].median())
    contact = profile["categorical"]["contact"]
    assert contact["n_categories"] == 2
    assert contact["top"] == [
        {"value": "cellular", "count": 150},
        {"value": "telephone", "count": 50},
    ]
    assert {
        "column": "duration",
        "reason": "only known after the call ends: target leakage",
    } in profile["dropped"]


def test_data_card_shows_the_dropped_column_reason(bank: ModelConfig) -> None:
    # Given the profile of a bank frame
    profile = profile_dataset(_bank_frame(rows=200), bank)

    # When the data card is rendered
    card = render_data_card(bank, profile)

    # Then it has the source, the statistics and why duration is dropped
    assert "| `duration` | only known after the call ends: target leakage |" in card
    assert bank.dataset.citation in card
    assert "cellular (150)" in card
    assert "positive share 0.100" in card


def test_profile_names_a_missing_column(bank: ModelConfig) -> None:
    # Given a frame without the target
    frame = _bank_frame(rows=20).drop(columns=["y"])

    # When / Then profiling names the missing column
    with pytest.raises(DatasetError) as raised:
        profile_dataset(frame, bank)
    assert raised.value.column == "y"


def _bank_frame(rows: int) -> pd.DataFrame:
    index = np.arange(rows)
    frame = pd.DataFrame(
        {
            "age": 20.0 + index,
            "balance": index * 10.0,
            "day": index % 28 + 1,
            "campaign": index % 5 + 1,
            "pdays": -1,
            "previous": 0,
            "job": "admin.",
            "marital": "married",
            "education": "secondary",
            "default": "no",
            "housing": "yes",
            "loan": "no",
            "contact": np.where(index % 4 == 0, "telephone", "cellular"),
            "month": "may",
            "poutcome": "unknown",
            "duration": index,
            "y": np.where(index % 10 == 0, "yes", "no"),
        }
    )
    return frame


def test_model_card_shows_selection_both_evaluations_with_intervals_and_lift(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    # Given the shipped bank model (CV grid for C, a file in time order)
    model = trained["bank"]
    metrics, training = model.metrics, model.training
    # When its model card is rendered
    card = render_model_card(model.config, metrics, training)
    # Then it shows the chosen C and the CV score of every C of the grid
    chosen = training["tuning"]["chosen_C"]
    assert f"C = **{chosen:.3f}**" in card
    for entry in training["tuning"]["scores"]:
        assert f"| {entry['C']:.3f} | {entry['mean']:.3f} |" in card
    # and the missing-value policy with what it was measured on
    assert f"A field missing at serving: **{training['missing_policy']['chosen']}**" in card
    # and both evaluations, each figure with its interval
    roc, late = metrics["intervals"]["roc_auc"], metrics["out_of_time"]
    late_roc = late["intervals"]["roc_auc"]
    random_cell = f"{metrics['roc_auc']:.3f} [{roc['low']:.3f}, {roc['high']:.3f}]"
    late_cell = f"{late['roc_auc']:.3f} [{late_roc['low']:.3f}, {late_roc['high']:.3f}]"
    assert f"| `roc_auc` | {random_cell} | {late_cell} |" in card
    assert "## Out-of-time evaluation" in card and "95% bootstrap" in card
    # and the lift table, one row per decile
    top = metrics["lift"][0]
    assert "## Lift and gains" in card
    assert f"| 1 | {top['rows']:,} | {top['positives']:,} | {top['positive_rate']:.3f} |" in card
    # and the sentinels and crosses the scorecard uses
    assert "`pdays` = -1" in card and "`month × contact`" in card
    # and the gains chart is drawn next to the other plots
    paths = write_plots(metrics, tmp_path, labels=("no", "yes"))
    assert paths["gains"].read_bytes().startswith(PNG_SIGNATURE)


def test_model_card_says_when_no_out_of_time_evaluation_was_possible(
    trained: dict[str, Any],
) -> None:
    # Given telecom, whose rows have no time order
    model = trained["telecom"]
    card = render_model_card(model.config, model.metrics, model.training)
    # Then the card says the out-of-time evaluation was not run, and why
    assert "Not run: the configuration names no order column" in card
