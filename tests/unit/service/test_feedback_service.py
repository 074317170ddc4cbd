"""Feedback: stored once however often it is retried, validated before anything is written."""

from __future__ import annotations

from typing import Any

import pytest

from propensity.errors import ConflictError, InvalidInputError, NotFoundError, UnknownModelError
from tests.unit.service.conftest import World

TELECOM_ROW = {"calls": 85, "minutes": 516.7, "messages": 56, "mb_used": 22696.96}


def test_feedback_on_a_prediction_uses_its_logged_features_and_counts_once(world: World) -> None:
    prediction = world.predictions.predict("telecom", TELECOM_ROW)
    first, created = world.feedback.submit(
        "telecom", label="yes", prediction_id=prediction.prediction_id
    )
    again, created_again = world.feedback.submit(
        "telecom", label=1, prediction_id=prediction.prediction_id
    )
    assert (created, created_again) == (True, False)
    assert again == first
    assert first.features == TELECOM_ROW and first.label == 1
    assert world.feedback_store.pending("telecom") == 1


def test_a_different_label_for_the_same_prediction_is_a_conflict(world: World) -> None:
    prediction = world.predictions.predict("telecom", TELECOM_ROW)
    world.feedback.submit("telecom", label=0, prediction_id=prediction.prediction_id)
    with pytest.raises(ConflictError):
        world.feedback.submit("telecom", label=1, prediction_id=prediction.prediction_id)
    assert world.feedback_store.pending("telecom") == 1


def test_idempotency_key_makes_feature_feedback_count_once(world: World) -> None:
    for _ in range(3):
        world.feedback.submit("telecom", label="no", features=TELECOM_ROW, idempotency_key="k-1")
    assert world.feedback_store.pending("telecom") == 1
    with pytest.raises(ConflictError, match="Idempotency-Key"):
        world.feedback.submit("telecom", label="yes", features=TELECOM_ROW, idempotency_key="k-1")


def test_idempotency_keys_of_two_callers_do_not_collide(world: World) -> None:
    # Given vendor-7's feedback under a key
    mine, _ = world.feedback.submit(
        "telecom", label="no", features=TELECOM_ROW, idempotency_key="k-1", subject="vendor-7"
    )
    # When another caller uses the same key, for another label
    theirs, created = world.feedback.submit(
        "telecom", label="yes", features=TELECOM_ROW, idempotency_key="k-1", subject="mallory"
    )
    # Then it is their own new feedback: neither a conflict nor vendor-7's record replayed
    assert created and theirs.feedback_id != mine.feedback_id
    assert (theirs.subject, theirs.label) == ("mallory", 1)
    # And each caller's retry still counts once
    for subject in ("vendor-7", "mallory"):
        _, again = world.feedback.submit(
            "telecom",
            label="no" if subject == "vendor-7" else "yes",
            features=TELECOM_ROW,
            idempotency_key="k-1",
            subject=subject,
        )
        assert not again
    assert world.feedback_store.pending("telecom") == 2
    assert [r.subject for r in world.feedback_store.list_for_model("telecom")] == [
        "vendor-7",
        "mallory",
    ]


def test_another_models_prediction_is_not_found(world: World) -> None:
    prediction = world.predictions.predict("telecom", TELECOM_ROW)
    with pytest.raises(NotFoundError):
        world.feedback.submit("bank", label=1, prediction_id=prediction.prediction_id)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"label": "maybe", "features": TELECOM_ROW}, "y"),
        ({"label": 1, "features": {**TELECOM_ROW, "zip": "x"}}, "features.zip"),
        ({"label": 1, "features": {**TELECOM_ROW, "calls": float("nan")}}, "features.calls"),
        ({"label": 1, "features": {**TELECOM_ROW, "calls": "85"}}, "features.calls"),
        ({"label": 1, "features": {}}, "features"),
        ({"label": 1}, "prediction_id"),
        ({"label": 1, "features": TELECOM_ROW, "prediction_id": "abc"}, "prediction_id"),
    ],
)
def test_invalid_feedback_names_the_field_and_stores_nothing(
    world: World, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        world.feedback.submit("telecom", **kwargs)
    assert caught.value.field == field
    assert world.feedback_store.items == {}


def test_unknown_model(world: World) -> None:
    with pytest.raises(UnknownModelError):
        world.feedback.submit("churn", label=1, features=TELECOM_ROW)
