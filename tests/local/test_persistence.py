"""``make run``'s stack on disk: what it learned survives a restart, and retrains never hold up
the HTTP API.

The stack runs as ``make run`` runs it: DynamoDB Local and s3rver under a state folder, each
function in a process of its own. RetrainMinFeedback=3 and ModelRefreshSeconds=0 make three
feedback posts one retrain whose champion the next prediction sees.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from propensity.cli import main
from propensity.local.stack_run import LocalStack
from propensity.local.state import LocalState, StateError
from propensity.local.template import REPO_ROOT, Stack

from .httpclient import call_json

pytestmark = pytest.mark.slow

TELECOM_ROW = {"calls": 85, "minutes": 516.7, "messages": 56, "mb_used": 22696.96}
BANK_ROW = {"age": 45, "job": "technician", "balance": 1200, "housing": "yes"}
# An answer while a retrain runs in another process comes back in milliseconds here; in one
# process it waited seconds behind the training (see test_answers_while_a_retrain_runs).
RESPONSIVE_SECONDS = 2.0


def on_disk(state_dir: Path, **parameters: str) -> LocalStack:
    template = Stack(
        parameters={"RetrainMinFeedback": "3", "ModelRefreshSeconds": "0", **parameters}
    )
    return LocalStack(
        port=0,
        run_schedules=False,
        quiet=True,
        stack=template,
        state_dir=state_dir,
        function_processes=True,
    )


def admin(stack: LocalStack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.admin_token}"}


def versions(stack: LocalStack, model: str) -> dict[str, Any]:
    status, body = call_json("GET", f"{stack.url}/models/{model}/versions", headers=admin(stack))
    assert status == 200, body
    return dict(body)


def predict(stack: LocalStack, model: str, features: dict[str, Any]) -> dict[str, Any]:
    status, body = call_json("POST", f"{stack.url}/models/{model}/predict", {"features": features})
    assert status == 200, body
    return dict(body)


def feedback(stack: LocalStack, model: str, prediction_id: str, y: int) -> int:
    status, _ = call_json(
        "POST",
        f"{stack.url}/models/{model}/feedback",
        {"prediction_id": prediction_id, "y": y},
        {"X-Admin-Token": stack.feedback_token},
    )
    return status


def job(stack: LocalStack, model: str, job_id: str) -> dict[str, Any]:
    status, body = call_json(
        "GET", f"{stack.url}/models/{model}/jobs/{job_id}", headers=admin(stack)
    )
    assert status == 200, body
    return dict(body)


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("local-state") / "state"


@pytest.fixture(scope="module")
def before_restart(state_dir: Path) -> dict[str, Any]:
    """A first run: bootstrap, three feedback posts (v2, promoted), a queued retrain (v3, by
    the gate's verdict); then stopped."""
    with on_disk(state_dir) as stack:
        first_bootstrap = stack.bootstrap_result
        for i in range(3):
            answer = predict(stack, "telecom", {**TELECOM_ROW, "calls": 80 + i})
            assert feedback(stack, "telecom", answer["prediction_id"], i % 2) == 201
        stack.drain_streams()
        if versions(stack, "telecom")["champion"] != "v2":
            # The gate may keep v1 on three rows; an admin promotes v2 then, as one would.
            status, body = call_json(
                "POST", f"{stack.url}/models/telecom/versions/v2/promote", headers=admin(stack)
            )
            assert status == 200, body
        status, queued = call_json(
            "POST", f"{stack.url}/models/telecom/retrain", headers=admin(stack)
        )
        assert status == 202, queued
        deadline = time.monotonic() + 120
        while job(stack, "telecom", queued["job_id"])["status"] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline, "the queued retrain never finished"
            stack.drain_streams()
            time.sleep(0.5)
        status, stored = call_json(
            "GET", f"{stack.url}/models/telecom/feedback", headers=admin(stack)
        )
        assert status == 200
        seen = {
            "bootstrap": first_bootstrap,
            "versions": versions(stack, "telecom"),
            "bank": versions(stack, "bank"),
            "feedback": stored,
            "job": job(stack, "telecom", queued["job_id"]),
            "admin_token": stack.admin_token,
            "feedback_token": stack.feedback_token,
        }
    return seen  # stopped: the next stack on the folder is a restart


def test_a_restart_keeps_champions_feedback_and_jobs_and_retrains_nothing(
    state_dir: Path, before_restart: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a first run that bootstrapped both models, retrained telecom twice and promoted
    assert [o["version"] for o in before_restart["bootstrap"]["outcomes"]] == ["v1", "v1"]
    champion = before_restart["versions"]["champion"]
    assert champion in ("v2", "v3")
    assert [v["version"] for v in before_restart["versions"]["versions"]] == ["v3", "v2", "v1"]
    # When the stack starts again on the same folder
    with on_disk(state_dir) as stack:
        # Then bootstrap trained nothing, and the champions, versions, feedback and job are there
        assert stack.bootstrap_result["outcomes"] == []
        assert stack.admin_token == before_restart["admin_token"]
        assert versions(stack, "telecom") == before_restart["versions"]
        assert versions(stack, "bank") == before_restart["bank"]
        status, stored = call_json(
            "GET", f"{stack.url}/models/telecom/feedback", headers=admin(stack)
        )
        assert status == 200 and stored == before_restart["feedback"]
        assert len(stored["items"]) == 3
        assert job(stack, "telecom", before_restart["job"]["job_id"]) == before_restart["job"]
        # And the champion serves; no stream record from before the restart is redelivered
        assert predict(stack, "telecom", TELECOM_ROW)["version"] == champion
        assert stack.drain_streams() == []
        assert [v["version"] for v in versions(stack, "telecom")["versions"]] == ["v3", "v2", "v1"]
        # And a feedback token minted before the restart still works
        answer = predict(stack, "bank", BANK_ROW)
        assert feedback(stack, "bank", answer["prediction_id"], 1) == 201
        # And `propensity invoke --running DIR` runs an event file against this stack's data
        capsys.readouterr()
        event = REPO_ROOT / "events" / "predict-telecom-flat.json"
        assert (
            main(["invoke", "PredictFunction", "--event", str(event), "--running", str(state_dir)])
            == 0
        )
        result = json.loads(capsys.readouterr().out)
        assert json.loads(result["body"])["version"] == champion


def test_fresh_starts_over(state_dir: Path, before_restart: dict[str, Any]) -> None:
    # Given a state folder with telecom at v3 (the first test's run)
    assert before_restart["versions"]["versions"][0]["version"] == "v3"
    # When the stack starts with fresh=True
    stack = on_disk(state_dir)
    stack.fresh = True
    with stack:
        # Then everything was trained again as v1, under a new admin secret
        assert [o["version"] for o in stack.bootstrap_result["outcomes"]] == ["v1", "v1"]
        assert [v["version"] for v in versions(stack, "telecom")["versions"]] == ["v1"]
        assert stack.admin_token != before_restart["admin_token"]


def test_a_folder_that_is_not_a_state_folder_is_never_wiped(tmp_path: Path) -> None:
    # Given a folder with someone's files and no state marker
    (tmp_path / "notes.txt").write_text("mine")
    # When it is asked to start fresh there, Then it refuses and deletes nothing
    with pytest.raises(StateError, match="not a propensity state folder"):
        LocalState(tmp_path).wipe()
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_second_stack_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    # Given a state folder held by a running stack
    held = LocalState(tmp_path / "state").open()
    try:
        # When a second one opens it, Then it is told which folder is in use
        with pytest.raises(StateError, match="another local stack is using"):
            LocalState(tmp_path / "state").open()
    finally:
        held.close()


def test_answers_while_a_retrain_runs(tmp_path: Path) -> None:
    # Given the stack on disk with every function in its own process, and feedback that never
    # triggers a retrain by itself
    with on_disk(tmp_path / "state", RetrainMinFeedback="100000") as stack:
        # (both started: a cold start is a cost of its own, not this test's subject)
        warm = predict(stack, "bank", BANK_ROW)
        assert feedback(stack, "bank", warm["prediction_id"], 0) == 201
        # When a bank retrain is running
        status, queued = call_json("POST", f"{stack.url}/models/bank/retrain", headers=admin(stack))
        assert status == 202, queued
        delivered = threading.Thread(target=stack.drain_streams, daemon=True)
        delivered.start()
        deadline = time.monotonic() + 60
        while job(stack, "bank", queued["job_id"])["status"] != "running":
            assert time.monotonic() < deadline, "the retrain never started"
            time.sleep(0.05)
        # And predictions and feedback are sent meanwhile
        took: list[float] = []
        during = 0
        while during < 20:
            started = time.perf_counter()
            answer = predict(stack, "bank", {**BANK_ROW, "age": 30 + during})
            assert feedback(stack, "bank", answer["prediction_id"], during % 2) == 201
            took.append(time.perf_counter() - started)
            if job(stack, "bank", queued["job_id"])["status"] != "running":
                break
            during += 1
        delivered.join(120)
        # Then every pair was answered within the bound while the retrain ran
        assert during >= 3, f"the retrain ended after {during} calls: nothing was measured"
        assert max(took) < RESPONSIVE_SECONDS, f"predict+feedback took {took} s"
        assert job(stack, "bank", queued["job_id"])["status"] == "succeeded"
