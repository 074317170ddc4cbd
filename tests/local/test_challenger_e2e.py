"""Challenger trials on the local stack over HTTP, with traffic and time simulated.

A model added at run time (telecom's features and data, ``[challenger]`` in its TOML) gets a
strong v1 and, from a labelled CSV of every row twice with its label flipped, a weak v2 the
offline gate refuses.
An admin then puts versions on trial; live traffic is predictions over HTTP and feedback naming
them with the data's true labels, and the trial review is invoked rather than waited for:

- the weak v2 in shadow is rolled back (the champion answered every request);
- the weak v2 in canary: each caller always meets the same model, the challenger's share of
  1,000 callers is within a binomial bound of the fraction, and it is rolled back;
- the strong v1 in shadow against the weak v2 (made champion by an admin) is promoted;
- injected challenger errors fire the kill switch; a trial out of time expires.

Every verdict is read back from the registry (``GET /models/{m}/challenger``) with its numbers.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import time
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import boto3
import pandas as pd
import pytest
import urllib3

from propensity.clock import iso
from propensity.local.stack_run import LocalStack
from propensity.local.template import REPO_ROOT, Stack

from .httpclient import call_json

pytestmark = pytest.mark.slow

MODEL = "plan-trial"
FEATURES = ["calls", "minutes", "messages", "mb_used"]
LIVE_LABELS = 100
FRACTION = 0.3


def telecom_frame() -> pd.DataFrame:
    raw = gzip.decompress((REPO_ROOT / "data" / "users_behavior.csv.gz").read_bytes())
    return pd.read_csv(io.BytesIO(raw))


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    # Feedback never retrains here (the threshold is out of reach): trials are what is tested.
    template = Stack(parameters={"RetrainMinFeedback": "1000000", "ModelRefreshSeconds": "0"})
    with LocalStack(
        port=0, run_schedules=False, bootstrap=False, quiet=True, stack=template
    ) as running:
        yield running


def admin(stack: LocalStack) -> dict[str, str]:
    return {"X-Admin-Token": stack.admin_token}


def wait_for_job(stack: LocalStack, path: str, timeout: float = 180.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stack.drain_streams()
        status, job = call_json("GET", f"{stack.url}{path}", headers=admin(stack))
        assert status == 200, job
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return dict(job)
        time.sleep(0.5)


@pytest.fixture(scope="module")
def versions(stack: LocalStack) -> dict[str, str]:
    """v1 trained on telecom's data (strong), v2 on it plus every row twice, labels flipped."""
    config = (REPO_ROOT / "src" / "propensity" / "model_configs" / "telecom.toml").read_text()
    config = config.replace('name = "telecom"', f'name = "{MODEL}"')
    config = config.replace('source = "users_behavior.csv.gz"', f'source = "{MODEL}.csv"')
    config = "\n".join(line for line in config.splitlines() if not line.startswith("sha256 ="))
    config += (
        f'\n[challenger]\nmode = "shadow"\nfraction = {FRACTION}\n'
        f"min_live_labels = {LIVE_LABELS}\nmax_trial_days = 7\n"
        "[challenger.kill_switch]\nwindow = 200\nmin_requests = 50\nmean_band = 0.9\n"
    )
    frame = telecom_frame()
    status, added = call_json(
        "PUT",
        f"{stack.url}/models/{MODEL}",
        {"config": config, "dataset": {"csv": frame.to_csv(index=False)}},
        admin(stack),
    )
    assert status == 201, added
    first = wait_for_job(stack, added["job"])
    assert first["status"] == "succeeded" and first["version"] == "v1", first
    # Every row twice with its label flipped: v2 learns the relation backwards.
    flipped = pd.concat([frame, frame])
    flipped["is_ultra"] = 1 - flipped["is_ultra"]
    body, content_type = urllib3.encode_multipart_formdata(
        {"labeled_csv": ("flipped.csv", flipped.to_csv(index=False).encode(), "text/csv")}
    )
    request = urllib.request.Request(
        f"{stack.url}/models/{MODEL}/retrain",
        data=body,
        method="POST",
        headers={"content-type": content_type, **admin(stack)},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        job = json.loads(response.read())
    second = wait_for_job(stack, f"/models/{MODEL}/jobs/{job['job_id']}")
    assert second["status"] == "succeeded" and second["promoted"] is False, second
    return {"strong": "v1", "weak": str(second["version"])}


def predict(stack: LocalStack, row: dict[str, Any], caller: str | None = None) -> dict[str, Any]:
    headers = {"X-Caller-Id": caller} if caller else {}
    status, body = call_json(
        "POST", f"{stack.url}/models/{MODEL}/predict", {"features": row}, headers
    )
    assert status == 200, body
    return dict(body)


def live_traffic(stack: LocalStack, n: int, *, seed: int) -> list[dict[str, Any]]:
    """``n`` predictions of held rows, each then labelled by feedback with its true outcome."""
    rows = telecom_frame().sample(n, random_state=seed)
    answers = []

    def one(item: tuple[int, pd.Series]) -> dict[str, Any]:
        index, row = item
        answer = predict(stack, {f: float(row[f]) for f in FEATURES}, caller=f"c{seed}-{index}")
        status, stored = call_json(
            "POST",
            f"{stack.url}/models/{MODEL}/feedback",
            {"prediction_id": answer["prediction_id"], "y": int(row["is_ultra"])},
            {"X-Admin-Token": stack.feedback_token},
        )
        assert status == 201, stored
        return answer

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(one, rows.iterrows()))
    stack.drain_streams()
    return answers


def set_challenger(stack: LocalStack, version: str, mode: str, **extra: Any) -> dict[str, Any]:
    status, body = call_json(
        "PUT",
        f"{stack.url}/models/{MODEL}/challenger",
        {"version": version, "mode": mode, **extra},
        admin(stack),
    )
    assert status == 200, body
    return dict(body)


def trials(stack: LocalStack) -> dict[str, Any]:
    status, body = call_json("GET", f"{stack.url}/models/{MODEL}/challenger", headers=admin(stack))
    assert status == 200, body
    return dict(body)


def review(stack: LocalStack, trigger: str = "challenger-review") -> list[dict[str, Any]]:
    result = stack.invoke("RetrainFunction", {"trigger": trigger})
    assert result["status"] == "ok", result
    return [r for r in result["reviews"] if r["model"] == MODEL]


def guards(trial: dict[str, Any]) -> dict[str, dict[str, Any]]:
    decision = trial["evidence"].get("decision", trial["evidence"])
    return {g["name"]: g for g in decision["guards"]}


def test_a_worse_challenger_in_shadow_is_rolled_back_and_never_answers(
    stack: LocalStack, versions: dict[str, str]
) -> None:
    weak = versions["weak"]
    # Given the weak version (refused offline) put in shadow by an admin, who must say so
    status, refused = call_json(
        "PUT",
        f"{stack.url}/models/{MODEL}/challenger",
        {"version": weak, "mode": "shadow"},
        admin(stack),
    )
    assert status == 422 and refused["detail"][0]["loc"] == ["body", "version"], refused
    assert "did not pass the offline gate" in refused["detail"][0]["msg"]
    started = set_challenger(stack, weak, "shadow", override_gate=True)["trial"]
    assert started["mode"] == "shadow" and "offline gate overridden" in started["reason"]
    # When live traffic is labelled, but fewer than the trial's minimum
    answers = live_traffic(stack, 40, seed=1)
    # Then the champion answered every request
    assert {(a["version"], a["answered_by"]) for a in answers} == {("v1", "champion")}
    # And the review keeps the trial, with the live comparison so far for the dashboard
    (kept,) = review(stack)
    assert kept["action"] == "kept"
    live = trials(stack)["active"]["live"]
    assert live["labels"] == 40 and live["required"] == LIVE_LABELS
    assert live["challenger_metric"] < live["champion_metric"]
    # When enough labels arrive
    live_traffic(stack, LIVE_LABELS - 40, seed=2)
    (decided,) = review(stack)
    # Then it is rolled back on the gate's own guards, and the evidence is in the registry
    assert decided["action"] == "rolled_back", decided
    listed = trials(stack)
    assert listed["active"] is None
    trial = listed["trials"][0]
    assert trial["version"] == weak and trial["status"] == "rolled_back"
    interval = guards(trial)["metric_interval"]
    assert interval["passed"] is False and interval["value"] < -0.005
    assert trial["evidence"]["labels"] == LIVE_LABELS
    assert trial["evidence"]["evidence"]["against"]["champion"]["method"] == "delong"
    assert 0 <= trial["evidence"]["agreement"] <= 1


def test_a_canary_is_sticky_keeps_its_share_and_a_worse_one_is_rolled_back(
    stack: LocalStack, versions: dict[str, str]
) -> None:
    weak = versions["weak"]
    # Given the weak version in canary for 30 % of callers
    set_challenger(stack, weak, "canary", fraction=FRACTION, override_gate=True)
    row = {"calls": 60.0, "minutes": 400.0, "messages": 30.0, "mb_used": 17000.0}
    callers = [f"customer-{i}" for i in range(50)]
    # When callers named by their X-Caller-Id header each ask twice
    with ThreadPoolExecutor(4) as pool:
        first = list(pool.map(lambda c: predict(stack, row, c)["version"], callers))
        again = list(pool.map(lambda c: predict(stack, row, c)["version"], callers))
    # Then every caller met the same model both times, though their features are the same
    assert first == again and set(first) == {"v1", weak}
    # When 1,000 callers without a header (each known by its features) ask twice, in batches
    rows = [{**row, "calls": float(i)} for i in range(1000)]
    batches = [
        call_json("POST", f"{stack.url}/models/{MODEL}/predict/batch", {"rows": rows})
        for _ in range(2)
    ]
    assert [status for status, _ in batches] == [200, 200], batches
    first, again = ([p["version"] for p in body["predictions"]] for _, body in batches)
    # Then each met the same model both times
    assert first == again
    # And the challenger's share is within 4 standard deviations of the fraction
    share = first.count(weak) / len(first)
    bound = 4 * math.sqrt(FRACTION * (1 - FRACTION) / len(first))
    assert abs(share - FRACTION) <= bound, (share, bound)
    # When live labels arrive and the trial is reviewed
    answers = live_traffic(stack, LIVE_LABELS, seed=3)
    assert {a["answered_by"] for a in answers} == {"champion", "challenger"}
    (decided,) = review(stack)
    # Then the worse canary is rolled back, and the champion answers everyone again
    assert decided["action"] == "rolled_back", decided
    assert {predict(stack, row, c)["version"] for c in callers} == {"v1"}


def test_a_better_challenger_in_shadow_is_promoted_on_live_evidence(
    stack: LocalStack, versions: dict[str, str]
) -> None:
    strong, weak = versions["strong"], versions["weak"]
    # Given the weak version made champion directly by an admin, the strong one in shadow
    assert set_challenger(stack, weak, "direct")["champion"] == weak
    set_challenger(stack, strong, "shadow")
    # When enough live labels arrive
    live_traffic(stack, LIVE_LABELS, seed=4)
    (decided,) = review(stack)
    # Then the challenger is promoted, and the registry holds the numbers it was promoted on
    assert decided["action"] == "promoted", decided
    trial = trials(stack)["trials"][0]
    assert trial["version"] == strong and trial["status"] == "promoted"
    interval = guards(trial)["metric_interval"]
    assert interval["passed"] is True and interval["value"] >= -0.005
    assert trial["live"]["challenger_metric"] > trial["live"]["champion_metric"]
    assert (
        predict(stack, {"calls": 1.0, "minutes": 1.0, "messages": 1.0, "mb_used": 1.0})["version"]
        == strong
    )
    status, listed = call_json("GET", f"{stack.url}/models/{MODEL}/versions", headers=admin(stack))
    assert status == 200 and listed["champion"] == strong
    assert listed["promotions"][0]["reason"].startswith("live trial:")


def test_injected_challenger_errors_fire_the_kill_switch_at_once(
    stack: LocalStack, versions: dict[str, str]
) -> None:
    weak = versions["weak"]
    # Given the weak version in canary, and traffic on which scoring it raised 10 % of the time
    trial = set_challenger(stack, weak, "canary", fraction=FRACTION, override_gate=True)["trial"]
    table = stack.stack.names["PredictionsTable"]
    db = boto3.client("dynamodb")  # the stack's emulator: LocalStack set AWS_ENDPOINT_URL*
    started = datetime.fromisoformat(trial["started_at"])
    for i in range(100):
        item: dict[str, Any] = {
            "prediction_id": {"S": uuid.uuid4().hex},
            "model": {"S": MODEL},
            "version": {"S": "v1"},
            "created_at": {"S": iso(started + timedelta(milliseconds=i + 1))},
            "features": {"S": "{}"},
            "probability": {"N": "0.3"},
            "prediction": {"N": "0"},
            "expires_at": {"N": str(int(time.time()) + 3600)},
            "source": {"S": "api"},
            "scores": {"M": {"v1": {"N": "0.3"}, **({} if i % 10 == 0 else {weak: {"N": "0.3"}})}},
            "challenger_micros": {"N": "40"},
        }
        if i % 10 == 0:
            item["challenger_error"] = {"S": "ValueError"}
        db.put_item(TableName=table, Item=item)
    # When the kill switch runs (its alarm, or its schedule), with no label at all
    (killed,) = review(stack, "challenger-guard")
    # Then the challenger is rolled back with the guard that failed and its numbers
    assert killed["action"] == "killed", killed
    ended = trials(stack)["trials"][0]
    assert ended["status"] == "killed"
    error_rate = guards(ended)["error_rate"]
    assert error_rate["passed"] is False and error_rate["value"] > error_rate["limit"]
    assert "raised on 10 of" in ended["reason"]


def test_a_trial_that_never_gathers_its_labels_expires_with_the_reason(
    stack: LocalStack, versions: dict[str, str]
) -> None:
    weak = versions["weak"]
    # Given a shadow trial whose time ran out (its expiry moved into the past: time simulated)
    trial = set_challenger(stack, weak, "shadow", override_gate=True)["trial"]
    db = boto3.client("dynamodb")
    record = f"TRIAL#{trial['started_at']}#{weak}"
    key = {"model": {"S": MODEL}, "record": {"S": record}}
    db.update_item(
        TableName=stack.stack.names["RegistryTable"],
        Key=key,
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"S": "2026-01-01T00:00:00.000+00:00"}},
    )
    # When the review runs
    (expired,) = review(stack)
    # Then it expired, saying how many live labels it had of how many
    assert expired["action"] == "expired"
    ended = trials(stack)["trials"][0]
    assert ended["status"] == "expired"
    assert f"with 0 live labels of the {LIVE_LABELS} required" in ended["reason"]
