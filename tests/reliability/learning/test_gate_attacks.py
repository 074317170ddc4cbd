"""Attacks on the learning loop's gate, run through the real orchestrator on in-memory stores.

Each attack sends feedback the way a client of the feedback route would, retrains after each
round, and counts what the gate let through. Figures go to the ``learning`` suite.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpy.typing import NDArray

from propensity.config import ModelConfig, load_model_config
from propensity.errors import InvalidInputError
from propensity.records import RetrainOutcome
from propensity.scoring import Scorer
from propensity.service.catalog import ModelCatalog
from propensity.service.champions import ChampionCache
from propensity.service.feedback import FeedbackService
from propensity.service.predictions import PredictionService
from propensity.service.retraining import RetrainOrchestrator
from propensity.training.candidate import SklearnTrainer, candidate_from
from propensity.training.dataset import load_dataset
from propensity.training.train import TrainedModel, split_frame, train_model
from tests.reliability.figures import record
from tests.support.fakes import FakeArtifacts, FakeFeedbackStore, FakePredictionLog, FakeRegistry

pytestmark = pytest.mark.slow


class BytesDatasets:
    """A dataset store holding one model's base dataset as given bytes."""

    def __init__(self, payload: bytes, location: str) -> None:
        self._payload, self._location = payload, location

    def read(self, source: str) -> tuple[bytes, str]:
        return self._payload, self._location


@dataclass
class Loop:
    config: ModelConfig
    registry: FakeRegistry
    artifacts: FakeArtifacts
    store: FakeFeedbackStore
    feedback: FeedbackService
    retrain: RetrainOrchestrator
    v1: TrainedModel
    sent: int = 0
    sender: str = "labeller"  # the subject of the feedback token the rows are sent with

    def send(self, rows: pd.DataFrame, labels: NDArray[Any]) -> None:
        features = self.config.features.all
        for row, label in zip(rows[features].to_dict("records"), labels, strict=True):
            clean = {
                str(k): (None if isinstance(v, float) and np.isnan(v) else v)
                for k, v in row.items()
            }
            # As an authenticated client would (test_feedback_access: anonymous ones get a 401).
            self.feedback.submit(
                self.config.name,
                label=int(label),
                features=clean,
                idempotency_key=f"a{self.sent}",
                subject=self.sender,
            )
            self.sent += 1

    def round(self) -> RetrainOutcome:
        return self.retrain.retrain(self.config.name, trigger="stream")

    def champion_scorer(self) -> Scorer:
        alias = self.registry.get_champion(self.config.name)
        assert alias is not None
        return Scorer.from_json(self.artifacts.objects[alias.scorecard_key])


def _loop(config: ModelConfig, base: pd.DataFrame, v1: TrainedModel, payload: bytes) -> Loop:
    registry, artifacts, store = FakeRegistry(), FakeArtifacts(), FakeFeedbackStore()
    retrain = RetrainOrchestrator(
        {config.name: config},
        registry,
        artifacts,
        store,
        datasets=BytesDatasets(payload, f"memory://{config.name}"),
        trainer=SklearnTrainer(),
    )
    retrain.publish(candidate_from(v1), trigger="bootstrap")
    return Loop(
        config,
        registry,
        artifacts,
        store,
        FeedbackService({config.name: config}, store, FakePredictionLog()),
        retrain,
        v1,
    )


@pytest.fixture
def bank_loop(trained: dict[str, TrainedModel], data_root: Path) -> Iterator[Loop]:
    config = load_model_config("bank")
    payload = (data_root / config.dataset.source).read_bytes()
    frame, _ = load_dataset(config, data_root)
    yield _loop(config, frame, trained["bank"], payload)


def _training_rows(loop: Loop) -> pd.DataFrame:
    frame, _ = load_dataset(loop.config, Path(__file__).resolve().parents[3] / "data")
    train, _ = split_frame(frame, loop.config)
    return train


def _slice_mean(loop: Loop, scorer: Scorer, feature: str, value: str) -> float:
    test = loop.v1.test_frame
    rows = test[test[feature] == value][loop.config.features.all]
    clean = rows.astype(object).where(rows.notna(), None).to_dict("records")
    return float(
        np.mean([scorer.score({str(k): v for k, v in r.items()}).probability for r in clean])
    )


def _run_ratchet(
    loop: Loop, feature: str, value: str, rounds: int, per_round: int
) -> dict[str, Any]:
    """Copies of real ``feature=value`` training rows relabelled 0, ``per_round`` a round."""
    segment = _training_rows(loop)
    segment = segment[segment[feature] == value]
    rng = np.random.default_rng(7)
    v1_scorer = loop.champion_scorer()
    before = _slice_mean(loop, v1_scorer, feature, value)
    promoted, reasons = 0, []
    for _ in range(rounds):
        poisoned = segment.iloc[rng.integers(0, len(segment), per_round)]
        loop.send(poisoned, np.zeros(per_round, dtype=int))
        outcome = loop.round()
        promoted += outcome.promoted
        reasons.append(outcome.reason)
    after = _slice_mean(loop, loop.champion_scorer(), feature, value)
    return {
        "promoted": promoted,
        "reasons": reasons,
        "slice_mean_before": before,
        "slice_mean_after": after,
    }


def test_a_ratchet_of_poisoned_rounds_is_never_promoted(bank_loop: Loop) -> None:
    # Given copies of real poutcome=success rows relabelled 0, 300 a round, for 8 rounds
    result = _run_ratchet(bank_loop, "poutcome", "success", rounds=8, per_round=300)
    # Then no round is promoted: v1 still serves, and the segment's mean score did not move
    record(
        "learning",
        {
            "ratchet_rounds": 8,
            "ratchet_rows_per_round": 300,
            "ratchet_poisoned_promoted": result["promoted"],
            "ratchet_segment_mean_before": round(result["slice_mean_before"], 4),
            "ratchet_segment_mean_after": round(result["slice_mean_after"], 4),
            "ratchet_first_rejection": result["reasons"][0][:200],
        },
    )
    assert result["promoted"] == 0, result["reasons"]
    assert bank_loop.registry.get_champion("bank").version == "v1"  # type: ignore[union-attr]
    assert abs(result["slice_mean_after"] - result["slice_mean_before"]) < 1e-9
    # And every rejection states the numbers it was made on
    assert all(re.search(r"\d\.\d{3}", r) for r in result["reasons"]), result["reasons"]


def test_the_same_attack_on_students_is_never_promoted(bank_loop: Loop) -> None:
    result = _run_ratchet(bank_loop, "job", "student", rounds=3, per_round=300)
    record("learning", {"students_rounds": 3, "students_poisoned_promoted": result["promoted"]})
    assert result["promoted"] == 0, result["reasons"]


def test_a_flood_of_true_positive_rows_is_stopped_by_the_calibration_guard(
    bank_loop: Loop,
) -> None:
    # Given 6,000 real positive rows with their true label (1): true, but not representative
    train = _training_rows(bank_loop)
    positives = train[train["y"] == 1]
    flood = positives.iloc[np.random.default_rng(3).integers(0, len(positives), 6000)]
    bank_loop.send(flood, np.ones(len(flood), dtype=int))
    # When retrained
    outcome = bank_loop.round()
    version = bank_loop.registry.get_version("bank", outcome.version)
    failed = [g["name"] for g in version.extra["gate"]["guards"] if not g["passed"]]
    record(
        "learning",
        {
            "positive_flood_rows": len(flood),
            "positive_flood_promoted": outcome.promoted,
            "positive_flood_failed_guards": failed[:8],
        },
    )
    # Then it is rejected, and the calibration guards are among those that failed
    assert not outcome.promoted
    assert {"mean_prediction", "log_loss", "brier", "ece"} & set(failed), failed


def test_genuine_new_data_is_still_promoted(data_root: Path) -> None:
    # Given v1 trained without a third of its training rows, held back as "future" feedback
    config = load_model_config("bank")
    full, _ = load_dataset(config, data_root)
    train, _ = split_frame(full, config)
    future = train.sample(frac=0.33, random_state=11)
    kept = full.drop(
        index=full.index[
            full.set_index(list(full.columns)).index.isin(
                future.set_index(list(future.columns)).index
            )
        ]
    )
    reduced_config = config.model_copy(
        update={"dataset": config.dataset.model_copy(update={"sha256": None})}
    )
    payload = gzip.compress(kept.to_csv(sep=";", index=False).encode())
    v1 = train_model(reduced_config, kept.reset_index(drop=True), version="v1")
    loop = _loop(reduced_config, kept, v1, payload)
    # When the future rows arrive with their true labels
    loop.send(future, future["y"].to_numpy())
    outcome = loop.round()
    holdout = loop.registry.get_version("bank", outcome.version).extra["feedback_holdout"]
    models = holdout.get("models", {})
    record(
        "learning",
        {
            "genuine_rows": len(future),
            "genuine_promoted": outcome.promoted,
            "genuine_reason": outcome.reason[:200],
            "genuine_feedback_held_out_rows": holdout["rows"],
            **{
                f"genuine_feedback_held_out_roc_auc_{name}": round(numbers["roc_auc"], 4)
                for name, numbers in models.items()
            },
        },
    )
    # Then the candidate is promoted (trained on the rows outside the feedback hold-out): the
    # gate is not so strict that it never promotes
    assert outcome.promoted, outcome.reason
    # And the held-out fifth of that feedback is reported for the candidate and the champion
    assert holdout["status"] == "reported" and {"candidate", "champion"} <= set(models)


@pytest.mark.parametrize("copies", [1, 3])
def test_held_out_rows_sent_as_feedback_are_excluded_and_counted(
    bank_loop: Loop, copies: int
) -> None:
    # Given 1,000 of bank's held-out rows sent back as feedback, with their true labels
    leaked = bank_loop.v1.test_frame.iloc[:1000]
    for _ in range(copies):
        bank_loop.send(leaked, leaked["y"].to_numpy())
    # When retrained
    outcome = bank_loop.round()
    version = bank_loop.registry.get_version("bank", outcome.version)
    excluded = version.extra["lineage"]["held_out_matches_excluded"]
    record(
        "learning",
        {
            f"held_out_leak_{copies}x_sent": len(leaked) * copies,
            f"held_out_leak_{copies}x_excluded": excluded,
            f"held_out_leak_{copies}x_roc_auc": round(outcome.metrics["roc_auc"], 4),
        },
    )
    # Then every leaked row is excluded and counted, and the reported metrics do not move
    assert excluded == len(leaked) * copies
    assert outcome.metrics["roc_auc"] == pytest.approx(
        float(bank_loop.v1.metrics["roc_auc"]), abs=1e-12
    )


def test_a_flood_of_fresh_categories_cannot_grow_the_scorecard(bank_loop: Loop) -> None:
    # Given 32,000 feedback rows, each with a job string never seen before
    train = _training_rows(bank_loop)
    flood = train.iloc[np.random.default_rng(5).integers(0, len(train), 32_000)].copy()
    flood["job"] = [f"job-{i}" for i in range(len(flood))]
    bank_loop.send(flood, flood["y"].to_numpy())
    # When retrained
    outcome = bank_loop.round()
    version = bank_loop.registry.get_version("bank", outcome.version)
    scorecard = bank_loop.artifacts.objects[version.scorecard_key]
    catalog = ModelCatalog(
        {"bank": bank_loop.config},
        bank_loop.registry,
        PredictionService(
            ChampionCache(bank_loop.registry, bank_loop.artifacts, refresh_seconds=0),
            FakePredictionLog(),
            models=["bank"],
            log_ttl_days=90,
            batch_limit=10,
        ),
        bank_loop.artifacts,
    )
    detail = json.dumps(catalog.describe("bank")).encode()
    record(
        "learning",
        {
            "category_flood_rows": len(flood),
            "category_flood_as_unknown": version.extra["lineage"]["new_categories_as_unknown"],
            "category_flood_held_out": version.extra["lineage"]["feedback_held_out_rows"],
            "category_flood_scorecard_bytes": len(scorecard),
            "category_flood_model_detail_bytes": len(detail),
        },
    )
    # Then the fresh strings were trained as unknown (every row but the feedback hold-out's,
    # which is not trained on), and the scorecard and GET /models/bank stay small (far below the
    # gate's limit and Lambda's 6 MB answer)
    lineage = version.extra["lineage"]
    assert 0 < lineage["feedback_held_out_rows"] < len(flood) // 4
    assert lineage["new_categories_as_unknown"] == len(flood) - lineage["feedback_held_out_rows"]
    assert len(scorecard) < bank_loop.config.promotion.max_scorecard_bytes
    assert len(detail) < 1_000_000


@pytest.mark.parametrize("value", [1e308, -1e308, 1e10])
def test_extreme_numbers_in_feedback_get_a_422_and_store_nothing(
    bank_loop: Loop, value: float
) -> None:
    # Given a real row with one absurd balance
    row = _training_rows(bank_loop).iloc[0]
    features = {k: row[k] for k in bank_loop.config.features.all}
    features["balance"] = value
    # When it is sent as feedback, then it is refused naming the field, and nothing is stored
    with pytest.raises(InvalidInputError) as refused:
        bank_loop.feedback.submit("bank", label=1, features=features)
    assert refused.value.field == "features.balance"
    assert bank_loop.store.pending("bank") == 0
    record("learning", {f"extreme_{value:g}": f"422 {refused.value.reason}"})


def test_out_of_range_rows_are_left_out_of_training_and_counted(bank_loop: Loop) -> None:
    # Given rows with an age of 900 (finite, under the hard limit, far outside training)
    rows = _training_rows(bank_loop).iloc[:50].copy()
    rows["age"] = 900.0
    bank_loop.send(rows, rows["y"].to_numpy())
    # When retrained, they are excluded, and the version says so
    outcome = bank_loop.round()
    lineage = bank_loop.registry.get_version("bank", outcome.version).extra["lineage"]
    record("learning", {"out_of_range_excluded": lineage["out_of_range_excluded"]})
    assert lineage["out_of_range_excluded"] == 50
