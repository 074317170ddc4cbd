"""Who may teach the model: the feedback route with FeedbackAuth=required, on in-memory stores.

The poisoning attacks in this suite are sent by an authenticated client; this module shows an
anonymous one never gets that far. Figures go to the ``learning`` suite.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from propensity.api.app import create_app
from propensity.api.dependencies import Services
from propensity.api.routes import feedback
from propensity.config import load_model_config
from propensity.service.admin_auth import AdminAuthenticator
from propensity.service.feedback import FeedbackService
from tests.reliability.figures import record
from tests.support.fakes import FakeFeedbackStore, FakePredictionLog

SECRET = "learning-suite-secret-0123456789"
AUTH = AdminAuthenticator(SECRET)
POISON = {"features": {"age": 35, "job": "student", "poutcome": "success"}, "y": 0}
ROWS = 300


@pytest.fixture
def store() -> FakeFeedbackStore:
    return FakeFeedbackStore()


@pytest.fixture
def client(store: FakeFeedbackStore) -> Iterator[TestClient]:
    configs = {"bank": load_model_config("bank"), "telecom": load_model_config("telecom")}
    services = Services(
        default_model="bank",
        feedback=FeedbackService(configs, store, FakePredictionLog()),
        authenticator=AUTH,
    )
    with TestClient(create_app(services, [feedback.router])) as test_client:
        yield test_client


def _send(client: TestClient, headers: dict[str, str]) -> Counter[int]:
    statuses: Counter[int] = Counter()
    for i in range(ROWS):
        response = client.post(
            "/models/bank/feedback", json=POISON, headers={**headers, "Idempotency-Key": f"p{i}"}
        )
        statuses[response.status_code] += 1
    return statuses


def test_anonymous_poison_is_refused_and_nothing_is_stored(
    client: TestClient, store: FakeFeedbackStore
) -> None:
    # Given a round of poisoned rows from a client without a credential, and with a token
    # for another model
    anonymous = _send(client, {})
    telecom_token = AUTH.issue("telecom-labels", 600, ["telecom"], scope="feedback")
    other_model = _send(client, {"X-Admin-Token": telecom_token})
    # Then every one is refused and neither a row nor the retrain counter moved
    record(
        "learning",
        {
            "anonymous_feedback_sent": ROWS,
            "anonymous_feedback_statuses": dict(anonymous),
            "other_model_token_statuses": dict(other_model),
            "anonymous_feedback_stored": len(store.list_for_model("bank")),
        },
    )
    assert anonymous == {401: ROWS} and other_model == {403: ROWS}
    assert store.list_for_model("bank") == [] and store.pending("bank") == 0


def test_an_authenticated_sender_is_on_record_for_every_row(
    client: TestClient, store: FakeFeedbackStore
) -> None:
    # Given a feedback token handed to one labelling client
    token = AUTH.issue("vendor-7", 600, ["bank"], scope="feedback")
    # When it sends a round of rows
    assert _send(client, {"X-Admin-Token": token}) == {201: ROWS}
    # Then each stored row names it, so an operator can exclude or erase exactly its rows
    assert {(r.subject, r.source) for r in store.list_for_model("bank")} == {("vendor-7", "api")}
    assert store.pending("bank") == ROWS
