"""The model TOML picks the training backend; bad combinations fail naming the field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from propensity.config import TrainingConfig, available_models, load_model_config


def test_every_packaged_model_trains_in_the_lambda_backend() -> None:
    for name in available_models():
        config = load_model_config(name)
        assert config.training.backend == "lambda"
        assert config.training.backend_for(10**9) == "lambda"


def test_auto_switches_to_spark_from_the_row_threshold() -> None:
    training = TrainingConfig(backend="auto", spark_min_rows=1_000_000)
    assert training.backend_for(999_999) == "lambda"
    assert training.backend_for(1_000_000) == "spark"


def test_spark_always_picks_spark() -> None:
    assert TrainingConfig(backend="spark").backend_for(1) == "spark"


def test_auto_without_a_threshold_names_the_field() -> None:
    with pytest.raises(ValidationError, match=r"training\.spark_min_rows is required"):
        TrainingConfig(backend="auto")


def test_a_threshold_without_auto_names_the_field() -> None:
    with pytest.raises(ValidationError, match=r"training\.spark_min_rows applies only"):
        TrainingConfig(backend="spark", spark_min_rows=10)


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(ValidationError, match="backend"):
        TrainingConfig.model_validate({"backend": "gpu"})
