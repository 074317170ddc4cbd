"""Guarantees: serving survives a storage outage; one poison stream record fails alone.

- S3 (or the registry) unavailable at predict time: the cached champion keeps answering, with
  the same scores; a new champion is picked up once storage is back; a cold start with no
  cached champion answers "unavailable" (503), never a partial model.
- A stream batch holding one record that cannot be processed: only that record is reported in
  ``batchItemFailures`` (Lambda retries just it), every other record is processed once.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from propensity.errors import ModelUnavailableError, PropensityError
from propensity.records import PromotionEvent
from propensity.service.champions import ChampionCache
from propensity.service.predictions import PredictionService
from propensity.training.candidate import candidate_from
from tests.functions.conftest import invoke
from tests.reliability.figures import record
from tests.reliability.storage.conftest import (
    MotoBackend,
    Train,
    store_v2_candidate,
    stream_event,
    telecom_feedback,
    telecom_v1,
)
from tests.reliability.storage.faults import Mode, Step

MODEL = "telecom"
ROW = {"calls": 85, "minutes": 516.7, "messages": 56, "mb_used": 22696.96}
REQUESTS_PER_OUTAGE = 10
OUTAGES: list[tuple[str, Step, Mode]] = [
    ("S3 refuses", Step("s3", "GetObject", "models/telecom/vN/scorecard.json"), "error"),
    ("S3 times out", Step("s3", "GetObject", "models/telecom/vN/scorecard.json"), "lost"),
    ("registry refuses", Step("dynamodb", "GetItem", "registry ALIAS#champion"), "error"),
]


def predictions(backend: MotoBackend) -> PredictionService:
    """The predict function's service on the real adapters; the alias is re-read every call."""
    cache = ChampionCache(backend.registry(), backend.objects(), refresh_seconds=0)
    return PredictionService(
        cache, backend.prediction_log(), models=[MODEL], log_ttl_days=1, batch_limit=10
    )


def promote_v2(backend: MotoBackend) -> None:
    """A new champion whose scorecard differs from v1's (another intercept)."""
    v2 = store_v2_candidate(backend, intercept_shift=1.0)
    backend.registry().promote(
        v2, expected_revision=1, event=PromotionEvent(MODEL, "v2", "v1", "t", "ops", "test")
    )


def test_a_storage_outage_at_predict_time_keeps_the_cached_champion_serving(
    moto_backend: MotoBackend, train: Train
) -> None:
    # Given v1 served (and so cached), then v2 promoted while storage is about to fail
    moto_backend.retrain_service().publish(candidate_from(telecom_v1(train)), trigger="bootstrap")
    service = predictions(moto_backend)
    first = service.predict(MODEL, ROW)
    assert first.version == "v1"
    promote_v2(moto_backend)
    answered: Counter[str] = Counter()

    # When S3 or the registry fails for a series of requests
    for _, step, mode in OUTAGES:
        moto_backend.faults.arm(step, mode)
        for _ in range(REQUESTS_PER_OUTAGE):
            try:
                again = service.predict(MODEL, ROW)
            except PropensityError:
                answered["errors"] += 1
                continue
            same = (again.version, again.probability) == (first.version, first.probability)
            answered["served_cached" if same else "served_other"] += 1
        moto_backend.faults.clear()
    hits = len(moto_backend.faults.injected)

    # And when storage is back
    recovered = service.predict(MODEL, ROW)
    # And a cold start happens during an outage (nothing cached yet)
    moto_backend.faults.arm(OUTAGES[0][1], "error")
    with pytest.raises(ModelUnavailableError):
        predictions(moto_backend).predict(MODEL, ROW)
    moto_backend.faults.clear()

    record(
        "serving_outage",
        {
            "requests_during_outages": len(OUTAGES) * REQUESTS_PER_OUTAGE,
            "faults_hit": hits,
            "served_cached": answered["served_cached"],
            "served_other": answered["served_other"],
            "errors": answered["errors"],
            "new_champion_after_recovery": recovered.version,
            "cold_start_during_outage": "503 (ModelUnavailableError)",
        },
    )
    # Then every request during the outages was answered by the cached v1, identically
    assert hits >= len(OUTAGES) * REQUESTS_PER_OUTAGE
    assert answered == {"served_cached": len(OUTAGES) * REQUESTS_PER_OUTAGE}
    # And v2 is served as soon as its scorecard can be read and verified again
    assert recovered.version == "v2" and recovered.probability != first.probability


# --- poison records ------------------------------------------------------------------------
POISONS: dict[str, tuple[str, str]] = {
    "counter of an unknown model": ("no-such-model", "COUNTER"),
    "job that does not exist": (MODEL, "JOB#0123456789abcdef"),
    "job of an unknown model": ("no-such-model", "JOB#0123456789abcdef"),
}


def batch_with(poison: tuple[str, str]) -> dict[str, Any]:
    """The counter's record, the poison, and the counter's record again (a duplicate)."""
    model, item = poison
    records = [
        stream_event(MODEL, "COUNTER", sequence="100")["Records"][0],
        stream_event(model, item, sequence="101", event_name="INSERT")["Records"][0],
        stream_event(MODEL, "COUNTER", sequence="102")["Records"][0],
    ]
    return {"Records": records}


@pytest.mark.parametrize("poison", list(POISONS), ids=list(POISONS))
def test_a_stream_batch_with_one_poison_record_reports_only_that_record(
    moto_backend: MotoBackend, train: Train, poison: str
) -> None:
    # Given pending feedback for telecom
    moto_backend.retrain_service().publish(candidate_from(telecom_v1(train)), trigger="bootstrap")
    store = moto_backend.feedback_store()
    for item in telecom_feedback(3):
        store.add(item)
    # When a batch holding the counter's record twice and one poison record arrives
    result = invoke(moto_backend.handler("retrain"), batch_with(POISONS[poison]))
    # Then only the poison is reported, and the good records retrained telecom exactly once
    versions = moto_backend.registry().list_versions(MODEL)
    record(
        "stream_poison",
        {
            f"{poison.replace(' ', '_')}": {
                "records": 3,
                "reported": [f["itemIdentifier"] for f in result["batchItemFailures"]],
                "versions_written": len(versions) - 1,
            }
        },
    )
    assert result == {"batchItemFailures": [{"itemIdentifier": "101"}]}
    assert [v.version for v in versions] == ["v2", "v1"]
    assert store.pending(MODEL) == 0
