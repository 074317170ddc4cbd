"""A dataset that spells missing cells its own way trains through ``dataset.na_values`` alone."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from propensity.config import load_model_config
from propensity.errors import DatasetError, UploadInvalidError
from propensity.scoring import Scorer
from propensity.training.dataset import load_labelled_csv
from propensity.training.train import train_model
from tests.integration.test_scorecard_parity import assert_parity


def _with_holes(data_root: Path) -> bytes:
    """The telecom CSV with one cell in seven blanked: as " " (a space) or as "?"."""
    lines = gzip.decompress((data_root / "users_behavior.csv.gz").read_bytes()).decode()
    rows = lines.strip().splitlines()
    rng = np.random.default_rng(11)
    out = [rows[0]]
    for row in rows[1:]:
        cells = row.split(",")
        for j in range(len(cells) - 1):  # never the target
            draw = rng.random()
            if draw < 0.07:
                cells[j] = " "
            elif draw < 0.14:
                cells[j] = "?"
        out.append(",".join(cells))
    return ("\n".join(out) + "\n").encode()


def test_a_csv_with_its_own_missing_spellings_trains_via_na_values_only(data_root: Path) -> None:
    # Given telecom's data with blanks written as " " and "?", unchanged on disk
    payload = _with_holes(data_root)
    config = load_model_config("telecom")
    # When the config does not know "?", the file is refused, naming a column
    with pytest.raises((DatasetError, UploadInvalidError)):
        load_labelled_csv(payload, "holes.csv", config)
    # And when the dataset config lists the spellings, the same bytes load and train
    config = config.model_copy(
        update={
            "dataset": config.dataset.model_copy(update={"na_values": [" ", "?"]}),
            "estimator": config.estimator.model_copy(update={"C_grid": []}),
        }
    )
    frame = load_labelled_csv(payload, "holes.csv", config)
    share_missing = float(frame[config.features.all].isna().to_numpy().mean())
    assert 0.10 < share_missing < 0.18
    model = train_model(config, frame, version="holes")
    # Then the model is usable and the scorecard matches the pipeline on every row, holes included
    assert model.metrics["roc_auc"] > 0.7
    assert_parity(model, frame)
    # and the missing-value policy was measured and followed
    missing = model.metrics["missing_policy"]
    assert model.scorecard["missing"] == missing["chosen"] == missing["measured_best"]
    score = Scorer(model.scorecard).score({"calls": 40})
    assert score.imputed == ("minutes", "messages", "mb_used")
