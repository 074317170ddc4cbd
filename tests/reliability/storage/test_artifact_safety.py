"""Guarantees: an artifact is used only if it is exactly what the registry recorded, and no
path the service runs ever unpickles anything.

1. A scorecard.json that was tampered with, truncated, emptied or swapped for another
   version's is refused (its SHA-256 differs from the registry's) on every path that reads
   one: manual promotion, rollback, serving (cold start and refresh) and the retrain's
   champion comparison; the state those paths guard stays as it was.
2. A malicious pickle placed where model.joblib lives, with the registry's SHA-256 rewritten
   to match it, is never executed by any function: predict, feedback, admin and retrain
   (stream, job, schedule) run their routes and events, and the payload's side effect (a
   marker file) never appears, nor does any unpickling call. (The operator's ``propensity
   eval`` unpickles only after a manifest check: tests/cli/test_cli.py covers that refusal.)
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import pytest

from propensity.adapters.datasets import BucketDatasets
from propensity.config import load_model_config
from propensity.errors import ConflictError, ModelUnavailableError
from propensity.records import PromotionEvent
from propensity.service.champions import ChampionCache
from propensity.service.drift_monitor import DriftMonitor
from propensity.service.registry_admin import RegistryAdmin
from propensity.training.candidate import candidate_from
from propensity.training.drift_window import TrainingDriftAnalyser
from tests.functions.conftest import (
    ADMIN_TOKEN,
    SIGNED_IN,
    body_of,
    http_event,
    invoke,
    load_handler,
    route_event,
)
from tests.reliability.figures import record
from tests.reliability.storage.conftest import (
    MotoBackend,
    Train,
    configs,
    job_stream_event,
    store_v2_candidate,
    stream_event,
    telecom_feedback,
    telecom_v1,
)

MODEL = "telecom"
BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ROW = {"calls": 85, "minutes": 516.7, "messages": 56, "mb_used": 22696.96}


def _tampered(body: bytes, _: bytes) -> bytes:
    card = json.loads(body)
    return json.dumps({**card, "intercept": card["intercept"] + 3}).encode()


DAMAGES: dict[str, Callable[[bytes, bytes], bytes]] = {
    "tampered": _tampered,  # valid JSON, one weight changed
    "truncated": lambda body, _: body[: len(body) // 2],
    "emptied": lambda _, __: b"",
    "swapped": lambda _, other: other,  # another version's genuine scorecard
}
PATHS = ("promote", "serve refresh", "serve cold start", "retrain comparison", "rollback")
REFUSALS: Counter[str] = Counter()


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_scorecard_is_refused_on_every_path(
    moto_backend: MotoBackend, train: Train, damage: str
) -> None:
    # Given v1 champion (served, so cached) and a complete candidate v2
    moto_backend.retrain_service().publish(candidate_from(telecom_v1(train)), trigger="bootstrap")
    registry, objects = moto_backend.registry(), moto_backend.objects()
    admin = RegistryAdmin(configs(), registry, objects, moto_backend.feedback_store())
    warm = ChampionCache(registry, objects, refresh_seconds=0)
    assert warm.get(MODEL)[0].version == "v1"
    v1 = registry.get_version(MODEL, "v1")
    v2 = store_v2_candidate(moto_backend, intercept_shift=0.5)
    v1_body, v2_body = objects.get_bytes(v1.scorecard_key), objects.get_bytes(v2.scorecard_key)
    damaged = DAMAGES[damage]
    refused: dict[str, bool] = {}

    # When v2's scorecard is damaged, an operator promotes v2
    objects.put_bytes(v2.scorecard_key, damaged(v2_body, v1_body))
    with pytest.raises(ConflictError, match="SHA-256") as promote:
        admin.promote(MODEL, "v2", actor="ops")
    refused["promote"] = registry.get_champion(MODEL).version == "v1"  # type: ignore[union-attr]
    assert "refusing to serve" in str(promote.value)

    # When the alias names v2 anyway (damaged after its promotion), serving refreshes
    registry.promote(
        v2, expected_revision=1, event=PromotionEvent(MODEL, "v2", "v1", "t", "ops", "test")
    )
    alias, scorer = warm.get(MODEL)
    refused["serve refresh"] = (alias.version, scorer.model) == ("v1", MODEL)
    # and a cold start (nothing cached) finds it
    with pytest.raises(ModelUnavailableError):
        ChampionCache(registry, objects, refresh_seconds=0).get(MODEL)
    refused["serve cold start"] = True

    # When a retrain compares its candidate against that champion
    job = admin.request_retrain(MODEL, actor="ops")
    invoke(moto_backend.handler("retrain"), job_stream_event(MODEL, job.job_id))
    failed = admin.job(MODEL, job.job_id)
    refused["retrain comparison"] = (
        failed.status == "failed"
        and "SHA-256" in failed.reason
        and registry.get_champion(MODEL).version == "v2"  # type: ignore[union-attr]
        and [v.version for v in registry.list_versions(MODEL)] == ["v2", "v1"]
    )

    # When v1 is damaged too and an operator rolls back to it
    objects.put_bytes(v1.scorecard_key, damaged(v1_body, v2_body))
    with pytest.raises(ConflictError, match="SHA-256"):
        admin.rollback(MODEL, actor="ops")
    refused["rollback"] = registry.get_champion(MODEL).version == "v2"  # type: ignore[union-attr]

    REFUSALS.update(paths_checked=len(refused), refused=sum(refused.values()))
    REFUSALS.update(accepted=len(refused) - sum(refused.values()))
    record(
        "artifacts",
        {
            "scorecard_damages": len(DAMAGES),
            "scorecard_paths": len(PATHS),
            "scorecard_checks": REFUSALS["paths_checked"],
            "scorecard_refused": REFUSALS["refused"],
            "scorecard_accepted": REFUSALS["accepted"],
        },
    )
    # Then every path refused it and kept the state it guards
    assert tuple(refused) == PATHS
    assert all(refused.values()), refused


# --- a malicious pickle ----------------------------------------------------------------------
class Payload:
    """Unpickling this writes a marker file: the side effect a real exploit would have."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


def spy_on_unpickling(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call of pickle.load(s)/joblib.load from now on, by name (they still work)."""
    calls: list[str] = []

    def spy(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(pickle, "loads", spy("pickle.loads", pickle.loads))
    monkeypatch.setattr(pickle, "load", spy("pickle.load", pickle.load))
    monkeypatch.setattr(joblib, "load", spy("joblib.load", joblib.load))
    return calls


def test_a_malicious_pickle_in_place_of_model_joblib_never_executes(
    moto_backend: MotoBackend, train: Train, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a payload that demonstrably runs when unpickled
    marker = tmp_path / "pwned"
    evil = pickle.dumps(Payload(marker))
    pickle.loads(evil)
    assert marker.read_text() == "pwned"
    marker.unlink()
    # And a stack whose v1 model.joblib is that payload, with the registry's SHA-256 rewritten
    # to match (an attacker who can write the bucket and the table)
    moto_backend.retrain_service().publish(candidate_from(telecom_v1(train)), trigger="bootstrap")
    store = moto_backend.feedback_store()
    for item in telecom_feedback(3):
        store.add(item)
    v1 = moto_backend.registry().get_version(MODEL, "v1")
    moto_backend.objects().put_bytes(v1.artifact_prefix + "model.joblib", evil)
    import boto3

    boto3.client("dynamodb").update_item(
        TableName=moto_backend.name("RegistryTable"),
        Key={"model": {"S": MODEL}, "record": {"S": "VERSION#000001"}},
        UpdateExpression="SET artifacts.#f = :sha",
        ExpressionAttributeNames={"#f": "model.joblib"},
        ExpressionAttributeValues={":sha": {"S": hashlib.sha256(evil).hexdigest()}},
    )
    assert moto_backend.registry().get_version(MODEL, "v1").artifacts["model.joblib"] == (
        hashlib.sha256(evil).hexdigest()
    )

    # When every function runs its routes and events, any unpickling being recorded
    calls = spy_on_unpickling(monkeypatch)
    statuses = exercise_every_function(moto_backend)

    record(
        "artifacts",
        {
            "pickle_paths_run": len(statuses),
            "pickle_paths_ok": sum(200 <= s < 300 for s in statuses.values()),
            "pickle_unpickle_calls": len(calls),
            "pickle_marker_created": marker.exists(),
        },
    )
    # Then every path ran to success, nothing was unpickled and the payload never executed
    assert {name: s for name, s in statuses.items() if not 200 <= s < 300} == {}
    assert calls == []
    assert not marker.exists()


def exercise_every_function(backend: MotoBackend) -> dict[str, int]:
    """Each function's routes and events, cold-started; their status codes by path."""
    statuses: dict[str, int] = {}
    predict = load_handler("predict")  # cold start: preloads the default model
    for name, event in {
        "GET /health": route_event("GET", "/health"),
        "GET /models": route_event("GET", "/models"),
        "GET /models/telecom": route_event("GET", "/models/telecom"),
        "GET /models/telecom/metrics": route_event("GET", "/models/telecom/metrics"),
        "POST /models/telecom/predict/batch": route_event(
            "POST", "/models/telecom/predict/batch", body={"rows": [ROW] * 3}
        ),
    }.items():
        statuses[name] = invoke(predict, event)["statusCode"]
    scored = invoke(predict, http_event("predict-telecom-flat.json"))
    statuses["POST /models/telecom/predict"] = scored["statusCode"]

    feedback = load_handler("feedback")
    statuses["POST /models/telecom/feedback"] = invoke(
        feedback,
        route_event(
            "POST",
            "/models/telecom/feedback",
            body={"prediction_id": body_of(scored)["prediction_id"], "y": 1},
            headers=SIGNED_IN,
        ),
    )["statusCode"]

    admin, retrain = load_handler("admin"), load_handler("retrain")
    accepted = invoke(admin, route_event("POST", "/models/telecom/retrain", headers=BEARER))
    statuses["POST /models/telecom/retrain"] = accepted["statusCode"]
    job_id = body_of(accepted)["job_id"]
    for name, record_event in {
        "stream JOB# (retrain job)": job_stream_event(MODEL, job_id),
        "stream COUNTER": stream_event(MODEL, "COUNTER"),
    }.items():
        statuses[name] = 500 if invoke(retrain, record_event)["batchItemFailures"] else 200
    # The schedule's sweep (drift report + retrain), for the one model this stack has data of
    only_telecom = {MODEL: load_model_config(MODEL)}
    monitor = DriftMonitor(
        only_telecom,
        backend.prediction_log(),
        backend.objects(),
        datasets=BucketDatasets(backend.objects()),
        analyser=TrainingDriftAnalyser(),
    )
    backend.feedback_store().add(telecom_feedback(1, start=10)[0])  # something to retrain on
    runs = backend.retrain_service(only_telecom, drift=monitor).run_schedule()
    statuses["schedule (drift + retrain)"] = 200 if [r for r in runs if r.outcome] else 500
    for name, event in {
        "GET /models/telecom/versions": route_event(
            "GET", "/models/telecom/versions", headers=BEARER
        ),
        f"GET /models/telecom/jobs/{job_id}": route_event(
            "GET", f"/models/telecom/jobs/{job_id}", headers=BEARER
        ),
        "POST /models/telecom/versions/v1/promote": route_event(
            "POST", "/models/telecom/versions/v1/promote", headers=BEARER
        ),
        "POST /models/telecom/rollback": route_event(
            "POST", "/models/telecom/rollback", headers=BEARER
        ),
    }.items():
        statuses[name] = invoke(admin, event)["statusCode"]
    # a second predict container, after the new champions and the drift report
    predict = load_handler("predict")
    statuses["POST /models/telecom/predict (new container)"] = invoke(
        predict, http_event("predict-telecom-flat.json")
    )["statusCode"]
    statuses["GET /models/telecom/drift"] = invoke(
        predict, route_event("GET", "/models/telecom/drift")
    )["statusCode"]
    return statuses
