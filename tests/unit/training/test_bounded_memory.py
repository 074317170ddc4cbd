"""What keeps a million-row retrain inside one function: shared texts in the feedback columns,
and an encoder that builds its matrix block by block. Both must change no value trained on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from propensity.columns import FeedbackColumns
from propensity.config import load_model_config
from propensity.service.snapshot_format import decode_part, encode_part
from propensity.training import pipeline
from propensity.training.dataset import load_dataset
from propensity.training.pipeline import build_encoder


def rows(n: int, start: int = 0) -> FeedbackColumns:
    columns = FeedbackColumns()
    for i in range(start, start + n):
        columns.append(
            {
                "feedback_id": f"fb{i:05d}",
                "seq": i + 1,
                "label": i % 2,
                "created_at": f"2026-11-01T10:00:{i % 60:02d}+00:00",
                "source": "api",
                "subject": f"client-{i % 3}",
            },
            # A new string object per cell, as a JSON parser makes them.
            {"plan": "".join(["pre", "paid"]) if i % 2 else "".join(["post", "paid"]), "age": i},
        )
    return columns


def test_equal_texts_of_decoded_parts_are_one_object_and_keep_their_values() -> None:
    # Given two parts written as a snapshot writes them
    first, entry_a = encode_part("telecom", rows(50))
    second, entry_b = encode_part("telecom", rows(50, start=50))
    # When they are decoded and joined, as a retrain reads a snapshot
    joined = decode_part("telecom", entry_a, first)
    joined.extend(decode_part("telecom", entry_b, second))
    # Then every row is there with its own values
    assert joined.to_json() == rows(100).to_json()
    # And each distinct text is held once, across both parts
    plans = joined.features["plan"]
    assert len({id(p) for p in plans}) == 2 and len({id(s) for s in joined.subject}) == 3
    # But ids and numbers are kept as they are: one per row
    assert len({id(f) for f in joined.feedback_id}) == 100
    assert joined.features["age"] == list(range(100))


def test_a_non_text_value_is_not_merged_with_an_equal_one_of_another_type() -> None:
    # Given feature values 1, 1.0 and True, equal in Python, and the text "1"
    columns = FeedbackColumns()
    for value in (1, 1.0, True, "1"):
        columns.append({"feedback_id": f"f{value!r}", "label": 1}, {"x": value})
    # Then each keeps its own type
    assert [type(v) for v in columns.features["x"]] == [int, float, bool, str]


@pytest.fixture(scope="module")
def bank() -> pd.DataFrame:
    config = load_model_config("bank")
    frame, _ = load_dataset(config, Path(__file__).resolve().parents[3] / "data")
    return frame.sample(6_000, random_state=3).reset_index(drop=True)


@pytest.mark.parametrize("missing", ["impute", "mean"])
def test_the_matrix_built_block_by_block_is_the_matrix_built_at_once(
    bank: pd.DataFrame, missing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given bank's encoder fitted on rows with holes in them (the mean policy spreads them)
    config = load_model_config("bank")
    frame = bank[list(config.features.all)].copy()
    frame.loc[frame.index % 7 == 0, "balance"] = np.nan
    frame.loc[frame.index % 5 == 0, "job"] = np.nan
    encoder = build_encoder(config, missing=missing).fit(frame)
    whole = encoder.transform(frame)
    # When the same rows are encoded 1,000 at a time (the last block a short one)
    monkeypatch.setattr(pipeline, "TRANSFORM_BLOCK", 1_000)
    blocks = encoder.transform(frame)
    # Then the matrices are equal entry for entry, in the same shape
    assert blocks.shape == whole.shape == (6_000, encoder.n_columns_)
    assert (blocks != whole).nnz == 0
    assert blocks.nnz == whole.nnz > 6_000
