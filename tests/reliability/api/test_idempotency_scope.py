"""Idempotency keys are scoped to the caller as well as the model: a key another caller saw
or guessed cannot be claimed first, and each caller's retries still count once."""

from __future__ import annotations

from collections import Counter

from tests.reliability.api.conftest import FEEDBACK_HEADERS, Api
from tests.reliability.api.credentials import BANK_LABELLER
from tests.reliability.figures import record

checked: Counter[str] = Counter()


def test_an_idempotency_key_is_scoped_to_its_caller(api: Api) -> None:
    # Given bank feedback a labelling client stored under an Idempotency-Key
    first = api.client.post(
        "/models/bank/feedback",
        json={"features": {"age": 41}, "y": "yes"},
        headers={"Idempotency-Key": "shared-key-0002", **BANK_LABELLER},
    )
    assert first.status_code == 201, first.text
    # When another caller, who saw or guessed the key, sends other data under it
    other = api.client.post(
        "/models/bank/feedback",
        json={"features": {"age": 42}, "y": "no"},
        headers={"Idempotency-Key": "shared-key-0002", **FEEDBACK_HEADERS},
    )
    checked["callers"] += 1
    # Then it is that caller's own new record: the key was not claimed from the first caller
    assert other.status_code == 201, other.text
    assert other.json()["feedback_id"] != first.json()["feedback_id"]
    assert (first.json()["subject"], other.json()["subject"]) == ("bank-labels", "labeller")
    # And each caller's retry is still recognised as such
    for sent, headers in ((first, BANK_LABELLER), (other, FEEDBACK_HEADERS)):
        body = {"features": {"age": 41 if sent is first else 42}, "y": sent.json()["y"]}
        retry = api.client.post(
            "/models/bank/feedback",
            json=body,
            headers={"Idempotency-Key": "shared-key-0002", **headers},
        )
        checked["callers"] += 1
        assert retry.status_code == 200, retry.text
        assert retry.json()["feedback_id"] == sent.json()["feedback_id"]
        assert retry.json()["duplicate"] is True


def test_idempotency_figures_are_recorded() -> None:
    # Given the cases above (this test comes last in the module)
    record("api_idempotency", dict(checked))
    # Then both callers sent under one key, and both retried
    assert checked["callers"] >= 3
