"""The learning loop on the local stack over HTTP: feedback → one retrain → served; the gate;
credentials on the admin routes.

The stack runs with RetrainMinFeedback=3 and ModelRefreshSeconds=0 (template parameters), so
three feedback posts make exactly one retrain and the next prediction sees the new champion.
"""

from __future__ import annotations

import gzip
import io
import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import urllib3

from propensity.local.stack_run import LocalStack
from propensity.local.template import REPO_ROOT, Stack

from .httpclient import call_json, call_raw_body

pytestmark = pytest.mark.slow

TELECOM_ROW = {"calls": 85, "minutes": 516.7, "messages": 56, "mb_used": 22696.96}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    template = Stack(parameters={"RetrainMinFeedback": "3", "ModelRefreshSeconds": "0"})
    with LocalStack(port=0, run_schedules=False, quiet=True, stack=template) as running:
        yield running


def versions(stack: LocalStack, model: str) -> dict[str, Any]:
    status, body = call_json(
        "GET",
        f"{stack.url}/models/{model}/versions",
        headers={"Authorization": f"Bearer {stack.admin_token}"},
    )
    assert status == 200
    return dict(body)


def wait_for_job(
    stack: LocalStack, model: str, job_id: str, timeout: float = 60.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stack.drain_streams()
        status, job = call_json(
            "GET",
            f"{stack.url}/models/{model}/jobs/{job_id}",
            headers={"X-Admin-Token": stack.admin_token},
        )
        assert status == 200
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return dict(job)
        time.sleep(0.5)


def predict(stack: LocalStack, model: str, features: dict[str, Any]) -> dict[str, Any]:
    status, body = call_json("POST", f"{stack.url}/models/{model}/predict", {"features": features})
    assert status == 200, body
    return dict(body)


def test_three_feedback_posts_make_exactly_one_retrain_that_is_then_served(
    stack: LocalStack,
) -> None:
    # Given three predictions and their true outcomes
    predictions = [predict(stack, "telecom", {**TELECOM_ROW, "calls": 80 + i}) for i in range(3)]
    for i, prediction in enumerate(predictions[:2]):
        status, _ = call_json(
            "POST",
            f"{stack.url}/models/telecom/feedback",
            {"prediction_id": prediction["prediction_id"], "y": i % 2},
            {"X-Admin-Token": stack.feedback_token},
        )
        assert status == 201
    # When only two arrived, nothing retrains (threshold 3)
    stack.drain_streams()
    assert [v["version"] for v in versions(stack, "telecom")["versions"]] == ["v1"]
    # When the third arrives (and a client retry repeats it)
    for _ in range(2):
        call_json(
            "POST",
            f"{stack.url}/models/telecom/feedback",
            {"prediction_id": predictions[2]["prediction_id"], "y": "yes"},
            {"X-Admin-Token": stack.feedback_token},
        )
    stack.drain_streams()
    # Then exactly one new version exists, made of the three examples (each trained on or, when
    # its id hashes into the feedback hold-out, kept out to measure on), and it serves
    listed = versions(stack, "telecom")
    assert [v["version"] for v in listed["versions"]] == ["v2", "v1"]
    assert listed["versions"][0]["trigger"] == "stream"
    extra = listed["versions"][0]["extra"]
    assert extra["feedback_rows"] + extra["lineage"]["feedback_held_out_selected"] == 3
    if listed["champion"] == "v2":
        assert predict(stack, "telecom", TELECOM_ROW)["version"] == "v2"


def test_a_worse_candidate_is_rejected_and_the_champion_keeps_serving(stack: LocalStack) -> None:
    # Given a labelled CSV that contradicts the data (every label flipped)
    raw = gzip.decompress((REPO_ROOT / "data" / "users_behavior.csv.gz").read_bytes())
    frame = pd.read_csv(io.BytesIO(raw)).head(2500)
    frame["is_ultra"] = 1 - frame["is_ultra"]
    champion_before = versions(stack, "telecom")["champion"]
    body, content_type = urllib3.encode_multipart_formdata(
        {"labeled_csv": ("flipped.csv", frame.to_csv(index=False).encode(), "text/csv")}
    )
    status, _, _ = call_raw_body(f"{stack.url}/models/telecom/retrain", body, content_type)
    assert status == 401  # no credential: nothing stored
    request = urllib.request.Request(
        f"{stack.url}/models/telecom/retrain",
        data=body,
        method="POST",
        headers={"content-type": content_type, "Authorization": f"Bearer {stack.admin_token}"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        assert response.status == 202
        job = json.loads(response.read())
    # (the background poller may hold the model's retrain lock for the counter's record: the job's
    # record is then retried, as Lambda would, until it runs)
    polled = wait_for_job(stack, "telecom", job["job_id"])
    # Then the candidate is recorded as rejected with its reason, and the champion is unchanged
    assert polled["status"] == "succeeded" and polled["promoted"] is False
    listed = versions(stack, "telecom")
    newest = listed["versions"][0]
    assert newest["version"] == polled["version"] and newest["status"] == "rejected"
    assert newest["reason"] == polled["reason"]
    assert listed["champion"] == champion_before
    assert predict(stack, "telecom", TELECOM_ROW)["version"] == champion_before


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token-wrong-token"}])
def test_promote_and_rollback_need_credentials(stack: LocalStack, headers: dict[str, str]) -> None:
    for path in ("/models/bank/versions/v1/promote", "/models/bank/rollback"):
        status, body = call_json("POST", f"{stack.url}{path}", headers=headers)
        assert status == 401, body
