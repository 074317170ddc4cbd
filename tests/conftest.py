"""Shared fixtures: the shipped models trained once per session (a few seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from propensity.config import ModelConfig, load_model_config
from propensity.training.dataset import load_dataset
from propensity.training.train import TrainedModel, train_model

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_ROOT = REPO_ROOT / "data"


@pytest.fixture(scope="session")
def data_root() -> Path:
    return DATA_ROOT


@pytest.fixture(scope="session")
def bank_config() -> ModelConfig:
    return load_model_config("bank")


@pytest.fixture(scope="session")
def telecom_config() -> ModelConfig:
    return load_model_config("telecom")


@pytest.fixture(scope="session")
def trained() -> dict[str, TrainedModel]:
    """Both shipped models with their default configs, trained on the vendored data."""
    models = {}
    for name in ("bank", "telecom"):
        config = load_model_config(name)
        frame, _ = load_dataset(config, DATA_ROOT)
        models[name] = train_model(config, frame, version="v1")
    return models


def pytest_sessionstart(session: pytest.Session) -> None:
    from tests.reliability import figures

    figures.reset()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.reliability import figures

    suites = figures.recorded()
    if not suites:
        return
    terminalreporter.section("reliability figures")
    for suite, values in suites.items():
        shown = ", ".join(f"{k}={v}" for k, v in sorted(values.items()))
        terminalreporter.write_line(f"{suite}: {shown}")
