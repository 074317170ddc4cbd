"""Serving: champion cache refresh and fallbacks, prediction logging, batch limits."""

from __future__ import annotations

import json

import pytest

from propensity.errors import (
    BatchTooLargeError,
    InvalidInputError,
    ModelUnavailableError,
    UnknownModelError,
)
from propensity.records import PromotionEvent, VersionRecord
from tests.unit.service.conftest import World

TELECOM_ROW = {"calls": 85, "minutes": 516.7, "messages": 56, "mb_used": 22696.96}


def add_version(world: World, model: str, number: int, scorecard: bytes) -> VersionRecord:
    """Publish a hand-made version and point the champion alias at it."""
    import hashlib

    prefix = f"models/{model}/v{number}/"
    world.artifacts.objects[prefix + "scorecard.json"] = scorecard
    record = VersionRecord(
        model=model,
        version=f"v{number}",
        number=number,
        status="candidate",
        created_at="t",
        trigger="admin",
        artifact_prefix=prefix,
        artifacts={"scorecard.json": hashlib.sha256(scorecard).hexdigest()},
        metrics={},
        data_sha256="x",
    )
    world.registry.put_version(record)
    champion = world.registry.get_champion(model)
    world.registry.promote(
        record,
        expected_revision=champion.revision if champion else None,
        event=PromotionEvent(model, record.version, None, "t", "test", "test"),
    )
    return record


def test_prediction_is_scored_by_the_champion_and_logged(world: World) -> None:
    prediction = world.predictions.predict("telecom", TELECOM_ROW)
    assert prediction.version == "v1"
    assert prediction.label in {"ultra", "smart"}
    assert 0.0 < prediction.probability < 1.0
    logged = world.log.get(prediction.prediction_id)
    assert logged.features == TELECOM_ROW
    assert logged.probability == prediction.probability


def test_new_champion_is_served_after_the_refresh_interval(world: World) -> None:
    # Given v1 served and cached
    assert world.predictions.predict("telecom", TELECOM_ROW).version == "v1"
    card = json.loads(world.artifacts.objects["models/telecom/v1/scorecard.json"])
    add_version(
        world,
        "telecom",
        2,
        json.dumps({**card, "version": "v2", "intercept": card["intercept"] + 1}).encode(),
    )
    # When less than the refresh interval passed, v1 still answers; after it, v2 does
    assert world.predictions.predict("telecom", TELECOM_ROW).version == "v1"
    world.clock.now += 31
    assert world.predictions.predict("telecom", TELECOM_ROW).version == "v2"
    # And a refresh that worked is not reported as stale
    assert world.stale == []


@pytest.mark.parametrize("damage", ["tampered", "truncated", "missing"])
def test_a_corrupt_new_champion_never_replaces_the_served_one(world: World, damage: str) -> None:
    assert world.predictions.predict("telecom", TELECOM_ROW).version == "v1"
    good = world.artifacts.objects["models/telecom/v1/scorecard.json"]
    record = add_version(world, "telecom", 2, good.replace(b'"version": "v1"', b'"version": "v2"'))
    key = record.scorecard_key
    if damage == "tampered":
        world.artifacts.objects[key] = world.artifacts.objects[key].replace(
            b'"intercept": ', b'"intercept": 5'
        )
    elif damage == "truncated":
        world.artifacts.objects[key] = world.artifacts.objects[key][:100]
    else:
        del world.artifacts.objects[key]
    world.clock.now += 31
    assert world.predictions.predict("telecom", TELECOM_ROW).version == "v1"
    # And the failed refresh is reported (ChampionRefreshFailures in AWS), once per due re-check
    assert world.predictions.predict("telecom", TELECOM_ROW).version == "v1"
    assert world.stale == ["telecom"]


def test_storage_outage_keeps_serving_the_cached_champion(world: World) -> None:
    first = world.predictions.predict("bank", {"age": 40})
    world.registry.fail = world.artifacts.fail = True
    world.clock.now += 120
    again = world.predictions.predict("bank", {"age": 40})
    assert (again.version, again.probability) == (first.version, first.probability)
    # And the champion served without a re-check is reported as not refreshed
    assert world.stale == ["bank"]


def test_no_champion_and_no_cache_is_unavailable(world: World) -> None:
    world.registry.champions.pop("bank")
    with pytest.raises(ModelUnavailableError, match="no champion"):
        world.predictions.predict("bank", {"age": 40})


def test_unknown_model_and_invalid_rows_name_what_is_wrong(world: World) -> None:
    with pytest.raises(UnknownModelError):
        world.predictions.predict("churn", TELECOM_ROW)
    with pytest.raises(InvalidInputError) as caught:
        world.predictions.predict_batch("telecom", [TELECOM_ROW, {**TELECOM_ROW, "calls": "many"}])
    assert caught.value.field == "rows[1].calls"
    # and nothing of a rejected batch is logged
    assert world.log.records == {}


def test_batch_limit_is_enforced(world: World) -> None:
    with pytest.raises(BatchTooLargeError):
        world.predictions.predict_batch("telecom", [TELECOM_ROW] * 4)
    assert len(world.predictions.predict_batch("telecom", [TELECOM_ROW] * 3)) == 3
    assert len(world.log.records) == 3
