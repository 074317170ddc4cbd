"""Services over in-memory ports, with the session's trained models published into them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from propensity.adapters.datasets import DirectoryDatasets
from propensity.config import load_model_config
from propensity.service.champions import ChampionCache
from propensity.service.feedback import FeedbackService
from propensity.service.predictions import PredictionService
from propensity.service.retraining import RetrainOrchestrator
from propensity.training.candidate import SklearnTrainer, candidate_from
from propensity.training.train import TrainedModel
from tests.support.fakes import FakeArtifacts, FakeFeedbackStore, FakePredictionLog, FakeRegistry


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    registry: FakeRegistry
    artifacts: FakeArtifacts
    log: FakePredictionLog
    feedback_store: FakeFeedbackStore
    clock: FakeClock
    champions: ChampionCache
    predictions: PredictionService
    feedback: FeedbackService
    retrain: RetrainOrchestrator
    # Models whose due champion re-check failed, one entry per failure (the cache's on_stale).
    stale: list[str]


@pytest.fixture
def world(trained: dict[str, TrainedModel], data_root: Path) -> World:
    configs = {name: load_model_config(name) for name in ("bank", "telecom")}
    registry, artifacts, log, store, clock = (
        FakeRegistry(),
        FakeArtifacts(),
        FakePredictionLog(),
        FakeFeedbackStore(),
        FakeClock(),
    )
    stale: list[str] = []
    champions = ChampionCache(
        registry, artifacts, refresh_seconds=30, clock=clock, on_stale=stale.append
    )
    retrain = RetrainOrchestrator(
        configs,
        registry,
        artifacts,
        store,
        datasets=DirectoryDatasets(data_root),
        trainer=SklearnTrainer(),
    )
    for model in trained.values():
        retrain.publish(candidate_from(model), trigger="bootstrap")
    return World(
        registry=registry,
        artifacts=artifacts,
        log=log,
        feedback_store=store,
        clock=clock,
        champions=champions,
        stale=stale,
        predictions=PredictionService(
            champions, log, models=sorted(configs), log_ttl_days=90, batch_limit=3
        ),
        feedback=FeedbackService(configs, store, log),
        retrain=retrain,
    )
