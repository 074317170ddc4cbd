"""The feedback hold-out: which feedback is kept out of training, and what is reported on it."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from propensity.columns import FeedbackColumns
from propensity.config import ModelConfig, load_model_config
from propensity.inputs import TrainingSet
from propensity.records import FeedbackRecord
from propensity.scoring import Scorer
from propensity.training.candidate import SklearnTrainer
from propensity.training.feedback_holdout import (
    holdout_point,
    holdout_report,
    is_held_out,
    split_feedback,
)
from propensity.training.train import TrainedModel

IDS = [f"{i:032x}" for i in range(20_000)]


def telecom(**evaluation: Any) -> ModelConfig:
    config = load_model_config("telecom")
    return config.model_copy(update={"evaluation": config.evaluation.model_copy(update=evaluation)})


def fresh_telecom_feedback(data_root: Path, n: int, start: int = 0) -> list[FeedbackRecord]:
    """Real subscribers' usage, nudged off the base rows (so every row is new to the models),
    with their true labels."""
    frame = pd.read_csv(
        io.BytesIO(gzip.decompress((data_root / "users_behavior.csv.gz").read_bytes()))
    ).iloc[start : start + n]
    records = []
    for i, row in enumerate(frame.to_dict("records")):
        label = int(row.pop("is_ultra"))
        features = {str(k): v for k, v in row.items()}
        features.update(minutes=features["minutes"] + 0.37, mb_used=features["mb_used"] + 1.5)
        records.append(FeedbackRecord(f"fresh{start + i}", "telecom", label, features, "t"))
    return records


def training_set(data_root: Path, feedback: list[FeedbackRecord]) -> TrainingSet:
    source = data_root / "users_behavior.csv.gz"
    return TrainingSet(
        "telecom", source.read_bytes(), str(source), FeedbackColumns.from_records(feedback)
    )


# --- selection --------------------------------------------------------------------------------


def test_the_selection_takes_about_the_share_and_the_same_ids_every_time() -> None:
    # Given 20,000 feedback ids
    # When they are split at 0.2 twice
    first = [is_held_out(i, 0.2) for i in IDS]
    second = [is_held_out(i, 0.2) for i in IDS]
    # Then the same ids are held out both times, about a fifth of them (±4 standard errors)
    assert first == second
    assert abs(np.mean(first) - 0.2) < 4 * np.sqrt(0.2 * 0.8 / len(IDS))
    # And a larger share only adds ids: none held out at 0.2 is trained on at 0.3
    assert all(is_held_out(i, 0.3) for i, held in zip(IDS, first, strict=True) if held)
    # And 0 holds nothing out
    assert not any(is_held_out(i, 0.0) for i in IDS)


def test_the_selection_is_a_sha256_the_same_in_any_process() -> None:
    # Given a child interpreter with another hash seed (``hash()`` would differ there)
    code = (
        "from propensity.training.feedback_holdout import holdout_point;"
        f"print([holdout_point(i) for i in {IDS[:200]!r}])"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    child = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    # Then it places every id where this process does
    assert json.loads(child.stdout) == [holdout_point(i) for i in IDS[:200]]
    # And the places are pinned: changing the hash would move stored feedback across sides
    assert holdout_point("fb0") == pytest.approx(0.32042080691281183, abs=1e-15)
    assert holdout_point("k0") == pytest.approx(0.9711836762700234, abs=1e-15)


def test_a_row_keeps_its_side_as_more_feedback_arrives(data_root: Path) -> None:
    # Given 300 feedback rows split, then the same rows and 300 more
    earlier = fresh_telecom_feedback(data_root, 300)
    later = earlier + fresh_telecom_feedback(data_root, 300, start=300)
    _, held_before = split_feedback(FeedbackColumns.from_records(earlier), 0.2)
    kept_after, held_after = split_feedback(FeedbackColumns.from_records(later), 0.2)
    # Then every row held out before is still held out, and none of them is trained on
    assert set(held_before.feedback_id) <= set(held_after.feedback_id)
    assert not set(held_before.feedback_id) & set(kept_after.feedback_id)


# --- the trainer ------------------------------------------------------------------------------


def test_held_out_feedback_is_not_trained_on_and_is_reported_for_every_model(
    trained: dict[str, TrainedModel], data_root: Path
) -> None:
    # Given 400 fresh labelled rows as feedback, and v1 as champion and reference
    config = telecom()
    feedback = fresh_telecom_feedback(data_root, 400)
    v1 = Scorer(trained["telecom"].scorecard)
    held = [r for r in feedback if is_held_out(r.feedback_id, 0.2)]
    # When a candidate is trained
    candidate = SklearnTrainer().train(
        config,
        training_set(data_root, feedback),
        version="v2",
        comparators={"champion": v1, "reference": v1},
    )
    # Then the held-out rows are not among the training rows: only the others were added
    base_rows = len(trained["telecom"].train_frame)
    assert candidate.extra_rows == 400 - len(held)
    assert candidate.rows_train == base_rows + 400 - len(held)
    assert candidate.lineage["feedback_held_out_selected"] == len(held)
    assert candidate.lineage["feedback_held_out_rows"] == len(held)
    # And the report counts those rows and scores candidate, champion and reference on them
    report = candidate.feedback_holdout
    assert report["status"] == "reported" and report["used_by_gate"] is False
    assert report["rows"] == len(held) and report["positives"] == sum(r.label for r in held)
    assert set(report["models"]) == {"candidate", "champion", "reference"}
    for numbers in report["models"].values():
        assert 0.5 < numbers["roc_auc"] < 1
        assert numbers["log_loss"] > 0 and 0 < numbers["brier"] < 0.5
        assert 0 < numbers["mean_prediction"] < 1
    # (the same scorecard as champion and reference scores the same)
    assert report["models"]["champion"] == report["models"]["reference"]
    against = report["against"]["champion"]
    low, high = against["interval"]
    assert low <= against["roc_auc_difference"] <= high
    # And it is JSON as the registry stores it: no NaN or infinity anywhere
    json.dumps(report, allow_nan=False)


def test_a_copy_of_a_held_out_row_under_another_id_is_not_trained_on(
    trained: dict[str, TrainedModel], data_root: Path
) -> None:
    # Given fresh feedback and, under an id outside the hold-out, a copy of a held-out row
    feedback = fresh_telecom_feedback(data_root, 200)
    held = next(r for r in feedback if is_held_out(r.feedback_id, 0.2))
    copy_id = next(f"copy{i}" for i in range(100) if not is_held_out(f"copy{i}", 0.2))
    copy = FeedbackRecord(copy_id, "telecom", held.label, dict(held.features), "t")
    # When a candidate is trained
    candidate = SklearnTrainer().train(
        telecom(), training_set(data_root, [*feedback, copy]), version="v2", comparators={}
    )
    # Then the copy is left out of training, and counted
    assert candidate.lineage["feedback_held_out_matches_excluded"] == 1
    assert candidate.extra_rows == 201 - candidate.lineage["feedback_held_out_selected"] - 1


def test_a_share_of_zero_trains_on_all_feedback_and_reports_it_disabled(
    trained: dict[str, TrainedModel], data_root: Path
) -> None:
    feedback = fresh_telecom_feedback(data_root, 100)
    candidate = SklearnTrainer().train(
        telecom(feedback_holdout_share=0.0),
        training_set(data_root, feedback),
        version="v2",
        comparators={},
    )
    assert candidate.extra_rows == 100
    assert candidate.feedback_holdout["status"] == "disabled"
    assert "models" not in candidate.feedback_holdout


# --- the report -------------------------------------------------------------------------------


def _rows(config: ModelConfig, labels: list[int]) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "calls": rng.integers(0, 120, len(labels)).astype(float),
            "minutes": rng.uniform(0, 900, len(labels)),
            "messages": rng.integers(0, 100, len(labels)).astype(float),
            "mb_used": rng.uniform(0, 40_000, len(labels)),
            config.target.column: labels,
        }
    )


def test_fewer_rows_than_the_minimum_are_reported_as_too_few_without_metrics(
    trained: dict[str, TrainedModel],
) -> None:
    # Given 29 held-out feedback rows, one fewer than the minimum of 30
    config = telecom(feedback_holdout_min_rows=30)
    frame = _rows(config, [0, 1] * 14 + [1])
    # When reported, then the rows are counted but nothing is scored
    report = holdout_report(
        config,
        frame,
        lambda f: np.full(len(f), 0.3),
        {"champion": Scorer(trained["telecom"].scorecard)},
        selected=31,
        excluded={"base_training_matches": 2},
    )
    assert (report["status"], report["rows"], report["positives"]) == ("too_few_rows", 29, 15)
    assert "fewer than 30" in report["reason"] and "models" not in report
    assert report["selected"] == 31 and report["excluded"] == {"base_training_matches": 2}


def test_one_class_leaves_roc_auc_undefined_with_its_reason(
    trained: dict[str, TrainedModel],
) -> None:
    # Given 40 held-out rows that are all positive
    config = telecom()
    frame = _rows(config, [1] * 40)
    # When reported
    report = holdout_report(
        config,
        frame,
        lambda f: np.full(len(f), 0.3),
        {"champion": Scorer(trained["telecom"].scorecard)},
        selected=40,
        excluded={},
    )
    # Then ROC-AUC and its difference are null with the reason; calibration is still measured
    candidate = report["models"]["candidate"]
    assert candidate["roc_auc"] is None and "label 1" in candidate["roc_auc_reason"]
    assert candidate["mean_gap"] == pytest.approx(0.3 - 1.0)
    assert report["against"]["champion"]["roc_auc_difference"] is None
    assert report["against"]["champion"]["interval"] is None
    json.dumps(report, allow_nan=False)
