"""Config of sentinels, crosses, the C grid and out-of-time evaluation: validated, then used."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from propensity.config import ModelConfig, load_model_config
from propensity.training.dataset import load_dataset
from propensity.training.train import train_model


def _with(config: ModelConfig, section: str, **values: Any) -> ModelConfig:
    raw = config.model_dump()
    raw[section] = {**raw[section], **values}
    return ModelConfig.model_validate(raw)


@pytest.mark.parametrize(
    ("section", "values", "message"),
    [
        ("features", {"sentinels": {"job": [0]}}, "not numeric"),
        ("features", {"crosses": [{"first": "age", "second": "job"}]}, "first must be"),
        ("features", {"crosses": [{"first": "job", "second": "salary"}]}, "second must be"),
        ("features", {"crosses": [{"first": "job", "second": "job"}]}, "second must be"),
        (
            "features",
            {"crosses": [{"first": "job", "second": "age"}, {"first": "job", "second": "age"}]},
            "listed twice",
        ),
        ("estimator", {"C_grid": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}, "at most 5"),
        ("estimator", {"C_grid": [0.0]}, "greater than 0"),
        ("estimator", {"missing": "median"}, "auto"),
        ("evaluation", {"order_column": "duration"}, "is not a feature"),
    ],
)
def test_bad_quality_settings_are_refused_naming_the_reason(
    section: str, values: dict[str, Any], message: str
) -> None:
    # Given the bank config with one bad setting
    # Then validation refuses it and says why
    with pytest.raises(ValidationError, match=message):
        _with(load_model_config("bank"), section, **values)


def test_an_order_column_gives_an_out_of_time_evaluation(data_root: Any) -> None:
    # Given telecom ordered by a column (here a feature, as the loader keeps only features)
    config = _with(load_model_config("telecom"), "evaluation", order_column="mb_used")
    config = _with(config, "estimator", C_grid=[])
    frame, _ = load_dataset(config, data_root)
    # When it is trained
    model = train_model(config, frame, version="ordered")
    # Then the out-of-time evaluation tests on the rows with the largest values, not the file's
    late = model.metrics["out_of_time"]
    assert "ordered by mb_used" in late["evaluated_on"]["description"]
    assert late["evaluated_on"]["rows"] == round(0.2 * len(frame))
    cut = frame["mb_used"].sort_values(kind="stable").iloc[-late["evaluated_on"]["rows"]]
    assert late["evaluated_on"]["positives"] == int(
        frame.loc[frame["mb_used"] >= cut, "is_ultra"].sum()
    )
    # and a one-value grid is recorded as the only candidate
    assert [s["C"] for s in model.metrics["tuning"]["scores"]] == [config.estimator.C]
