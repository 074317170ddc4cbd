"""Serving during a challenger trial: sticky assignment, both scores logged, the breaker."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from propensity.config_challenger import KillSwitchConfig
from propensity.records import ChallengerPointer
from propensity.service.challenger_routing import Breaker, caller_key, share
from tests.unit.service.conftest import World

ROW = {"calls": 85, "minutes": 516.7, "messages": 56, "mb_used": 22696.96}


def put_challenger_on(world: World, model: str, *, mode: str, fraction: float) -> str:
    """The champion's own scorecard as challenger "v9" (what it scores is not the point here)."""
    alias = world.registry.champions[model]
    pointer = ChallengerPointer(
        version="v9",
        scorecard_key=alias.scorecard_key,
        scorecard_sha256=alias.scorecard_sha256,
        mode=mode,  # type: ignore[arg-type]
        fraction=fraction,
        started_at="2026-12-02T00:00:00.000+00:00",
    )
    world.registry.champions[model] = dataclasses.replace(alias, challenger=pointer)
    world.clock.now += 60  # past the refresh interval: the cache reads the alias again
    return alias.version


def test_share_is_sticky_per_key_and_drawn_anew_for_each_trial() -> None:
    # Given one caller's key
    key = caller_key(ROW, "customer-7")
    # Then it always lands on the same point of a trial, and another trial draws it anew
    assert share("telecom", "v2", key) == share("telecom", "v2", key)
    assert share("telecom", "v2", key) != share("telecom", "v3", key)
    # And without a caller key the features are the key, whatever their order
    assert caller_key(ROW, None) == caller_key(dict(reversed(list(ROW.items()))), None)


def test_the_breaker_trips_on_an_error_rate_over_its_window_only() -> None:
    breaker = Breaker(KillSwitchConfig(window=100, min_requests=50, max_error_rate=0.05))
    for _ in range(40):
        breaker.record(True)
    # Too few requests to judge a rate
    assert not breaker.tripped
    for _ in range(10):
        breaker.record(False)
    # 40 of 50 failed: tripped, and it stays tripped
    assert breaker.tripped
    for _ in range(200):
        breaker.record(False)
    assert breaker.tripped


def test_shadow_scores_both_logs_both_and_the_champion_answers(world: World) -> None:
    # Given a shadow challenger
    champion = put_challenger_on(world, "telecom", mode="shadow", fraction=0.0)
    # When a request is scored
    answer = world.predictions.predict("telecom", ROW)
    # Then the champion answered, and the log holds both scores and the challenger's time
    assert (answer.version, answer.answered_by) == (champion, "champion")
    logged = world.log.get(answer.prediction_id)
    assert set(logged.scores) == {champion, "v9"}
    assert logged.scores[champion] == answer.probability
    assert logged.challenger_micros is not None and logged.challenger_error == ""


def test_a_canary_answers_its_callers_and_a_failing_one_is_cut_off_in_this_environment(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a canary for half the callers
    put_challenger_on(world, "telecom", mode="canary", fraction=0.5)
    answered = {
        world.predictions.predict("telecom", ROW, headers={"x-caller-id": f"c{i}"}).answered_by
        for i in range(40)
    }
    assert answered == {"champion", "challenger"}
    # When scoring with the challenger starts to raise
    _, _, challenger = world.champions.serving("telecom")
    assert challenger is not None

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("challenger broke")

    monkeypatch.setattr(challenger, "score", broken)
    answers = [
        world.predictions.predict("telecom", ROW, headers={"x-caller-id": f"d{i}"})
        for i in range(60)
    ]
    # Then every request is still answered, by the champion, and each failure is logged
    assert {a.answered_by for a in answers} == {"champion"}
    assert all(world.log.get(a.prediction_id).challenger_error == "RuntimeError" for a in answers)
    # And once the breaker tripped, a recovered challenger answers no one in this environment
    monkeypatch.undo()
    after = {
        world.predictions.predict("telecom", ROW, headers={"x-caller-id": f"c{i}"}).answered_by
        for i in range(40)
    }
    assert after == {"champion"}
