"""SnapStart on the predict function: what a snapshot holds and what a restore re-checks.

A restore is played as Lambda plays it: init and the before-snapshot hooks run once, then each
restored environment starts from a copy of that memory (here: os.fork) and runs the
after-restore hooks before its first invocation.
"""

from __future__ import annotations

import json
import os
import random

import pytest

from propensity.service.retraining import RetrainOrchestrator
from tests.functions.conftest import body_of, invoke, load_event, load_handler

IDS_PER_ENVIRONMENT = 50


def test_a_champion_promoted_after_the_snapshot_is_served_after_the_restore(
    published: RetrainOrchestrator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a snapshot of the predict function holding telecom's v1, with a refresh interval
    # far longer than the test
    monkeypatch.setenv("DEFAULT_MODEL", "telecom")
    monkeypatch.setenv("MODEL_REFRESH_SECONDS", "3600")
    handler = load_handler("predict", restore=False)
    # When a retrain promotes v2 after the snapshot was taken, and an environment is restored
    outcome = published.retrain("telecom", trigger="admin")
    assert outcome.promoted and outcome.version == "v2"
    handler.snapshot_hooks.run_after_restore()
    # Then its first prediction is v2's, not the snapshot's v1
    answer = body_of(invoke(handler, load_event("predict-telecom-flat.json")))
    assert answer["version"] == "v2"


@pytest.mark.usefixtures("published")
def test_prediction_ids_minted_in_two_restored_environments_never_collide() -> None:
    # Given one snapshot of the predict function, with some state seeded before it
    handler = load_handler("predict", restore=False)
    random.seed(7)
    snapshot_random_state = random.getstate()
    # When two environments are restored from it and each serves predictions
    results = []
    for _ in range(2):
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:  # a restored environment: a copy of the snapshot's memory
            try:
                os.close(read_end)
                # A restore copies memory and runs no at-fork handlers: undo the reseed of
                # `random` that Python does in a forked child.
                random.setstate(snapshot_random_state)
                handler.snapshot_hooks.run_after_restore()
                ids = [
                    body_of(invoke(handler, load_event("predict-bank.json")))["prediction_id"]
                    for _ in range(IDS_PER_ENVIRONMENT)
                ]
                report = {"ids": ids, "copied_state": random.getstate()[1][:8]}
                os.write(write_end, json.dumps(report).encode())
            finally:
                os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end) as pipe:
            results.append(json.loads(pipe.read()))
        os.waitpid(child, 0)
    first, second = results
    # Then every id is unique across both environments
    assert len(first["ids"]) == len(second["ids"]) == IDS_PER_ENVIRONMENT
    assert not set(first["ids"]) & set(second["ids"])
    assert len(set(first["ids"])) == IDS_PER_ENVIRONMENT
    # And this is not luck of the harness: state seeded before the snapshot is copied into
    # both, which is why no id may come from it
    assert first["copied_state"] == second["copied_state"]
