"""Lexicons of the bank, telecom and test-only churn models, with feature specs read from their
data (the ranges and categories a scorecard trained on it would hold), so chat tests need no
trained model."""

from __future__ import annotations

import csv
import gzip
import io
from functools import cache
from pathlib import Path

from propensity.chat import Lexicon, build_lexicon
from propensity.config import ModelConfig, load_model_config
from propensity.scoring.specs import FeatureSpec
from tests.conftest import DATA_ROOT

CHAT_MODEL_DIR = Path(__file__).parent / "chat_model"
# How far each feature moves the score, for the "ask next" order (bigger asks first).
INFLUENCE = {"poutcome": 2.0, "month": 1.5, "contact": 1.2, "Contract": 2.5, "tenure": 1.8}


def _rows(config: ModelConfig) -> list[dict[str, str]]:
    path = (
        CHAT_MODEL_DIR / "churn.csv"
        if config.name == "churn"
        else DATA_ROOT / config.dataset.source
    )
    raw = path.read_bytes()
    text = (
        gzip.decompress(raw).decode(config.dataset.encoding)
        if path.suffix == ".gz"
        else raw.decode()
    )
    return list(csv.DictReader(io.StringIO(text), delimiter=config.dataset.delimiter))


def specs_from_data(config: ModelConfig) -> tuple[FeatureSpec, ...]:
    rows = _rows(config)
    specs = []
    for name in config.features.numeric:
        values = [float(r[name]) for r in rows if r[name].strip()]
        specs.append(
            FeatureSpec(
                name, "numeric", (), min(values), max(values), False, INFLUENCE.get(name, 1.0)
            )
        )
    for name in config.features.categorical:
        categories = tuple(sorted({r[name] for r in rows}))
        specs.append(
            FeatureSpec(
                name, "categorical", categories, None, None, False, INFLUENCE.get(name, 1.0)
            )
        )
    return tuple(specs)


def model_config(name: str) -> ModelConfig:
    return load_model_config(name, CHAT_MODEL_DIR)


@cache
def lexicon(name: str) -> Lexicon:
    config = model_config(name)
    return build_lexicon(config, specs_from_data(config))
