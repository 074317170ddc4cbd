"""A model defined only at run time, on the local stack over HTTP: added by `propensity models
add` (its dataset by the presigned POST), trained by the job the add queued, served, taught by
feedback, retrained to v2, and archived by `propensity models archive` (then refused, its
versions still listed). No config of that name is packaged, and nothing is redeployed.

The stack runs with RetrainMinFeedback=3 and ModelRefreshSeconds=0 (template parameters): three
labels retrain, and every function reads the model catalogue again on each request.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from propensity.cli import main
from propensity.config import available_models
from propensity.local.stack_run import LocalStack
from propensity.local.template import Stack

from .httpclient import call_json

pytestmark = pytest.mark.slow

MODEL = "churn-live"
CHAT_MODEL = Path(__file__).resolve().parents[1] / "support" / "chat_model"
ROW = {
    "tenure": 14,
    "MonthlyCharges": 67.8,
    "Contract": "Month-to-month",
    "InternetService": "Fiber optic",
    "Partner": "Yes",
}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    # No bootstrap: the packaged models are not what this test is about.
    template = Stack(parameters={"RetrainMinFeedback": "3", "ModelRefreshSeconds": "0"})
    with LocalStack(
        port=0, run_schedules=False, bootstrap=False, quiet=True, stack=template
    ) as running:
        yield running


@pytest.fixture
def model_files(tmp_path: Path) -> tuple[Path, Path]:
    """churn's TOML and CSV (tests/support/chat_model) under a name nothing packages."""
    config = tmp_path / f"{MODEL}.toml"
    config.write_text(
        (CHAT_MODEL / "churn.toml").read_text().replace('name = "churn"', f'name = "{MODEL}"')
    )
    data = tmp_path / f"{MODEL}.csv"
    data.write_bytes((CHAT_MODEL / "churn.csv").read_bytes())
    return config, data


def admin(stack: LocalStack) -> dict[str, str]:
    return {"X-Admin-Token": stack.admin_token}


def wait_for_job(stack: LocalStack, job_path: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stack.drain_streams()
        status, job = call_json("GET", f"{stack.url}{job_path}", headers=admin(stack))
        assert status == 200, job
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return dict(job)
        time.sleep(0.5)


def versions(stack: LocalStack) -> list[str]:
    status, body = call_json("GET", f"{stack.url}/models/{MODEL}/versions", headers=admin(stack))
    assert status == 200, body
    return [v["version"] for v in body["versions"]]


def predict(stack: LocalStack) -> tuple[int, Any]:
    return call_json("POST", f"{stack.url}/models/{MODEL}/predict", {"features": ROW})


def test_a_model_added_at_run_time_trains_serves_learns_and_is_archived(
    stack: LocalStack, model_files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, data = model_files
    assert MODEL not in available_models()
    api = ["--api-url", stack.url, "--token", stack.admin_token]
    # Given the model is unknown to the running stack
    assert predict(stack)[0] == 404
    # When it is added from the command line, its dataset by the presigned POST
    code = main(
        ["models", "add", "--config", str(config), "--data", str(data), "--presigned", *api]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert f"{MODEL}: added; 400 rows" in printed
    job_path = printed.split("(GET ")[1].split(")")[0]
    # Then the job the add queued trains and promotes its first version
    job = wait_for_job(stack, job_path)
    assert job["status"] == "succeeded" and job["version"] == "v1", job
    # And the dashboard's list and the predict route serve it
    status, listed = call_json("GET", f"{stack.url}/models")
    assert status == 200 and MODEL in [m["name"] for m in listed]
    status, scored = predict(stack)
    assert status == 200 and scored["version"] == "v1", scored
    # And adding it again changes nothing
    assert main(["models", "add", "--config", str(config), "--data", str(data), *api]) == 0
    assert "already added (nothing changed)" in capsys.readouterr().out
    # When three labelled outcomes arrive as feedback
    for label in ("Yes", "No", "Yes"):
        _, prediction = predict(stack)
        status, stored = call_json(
            "POST",
            f"{stack.url}/models/{MODEL}/feedback",
            {"prediction_id": prediction["prediction_id"], "y": label},
            {"X-Admin-Token": stack.feedback_token},
        )
        assert status == 201, stored
    stack.drain_streams()
    # Then the stream retrains it to v2
    assert versions(stack) == ["v2", "v1"]
    # When it is archived from the command line
    assert main(["models", "archive", MODEL, "--reason", "campaign over", *api]) == 0
    assert f"{MODEL}: archived by admin" in capsys.readouterr().out
    # Then predictions and feedback are refused with who archived it, and why
    status, refused = predict(stack)
    assert status == 410 and refused["reason"] == "campaign over", refused
    status, _ = call_json(
        "POST",
        f"{stack.url}/models/{MODEL}/feedback",
        {"features": ROW, "y": "No"},
        {"X-Admin-Token": stack.feedback_token},
    )
    assert status == 410
    # And it is no longer listed, while its versions are kept
    _, listed = call_json("GET", f"{stack.url}/models")
    assert MODEL not in [m["name"] for m in listed]
    assert versions(stack) == ["v2", "v1"]


def test_the_command_line_says_which_field_is_wrong_and_refuses_a_packaged_name(
    stack: LocalStack, model_files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, data = model_files
    api = ["--api-url", stack.url, "--token", stack.admin_token]
    # Given a config with a regularisation strength the schema refuses
    bad = config.with_name("bad.toml")
    bad.write_text(config.read_text().replace("[estimator]\n", "[estimator]\nC = -1\n"))
    # When it is added, then telecom's name is used for a config
    code = main(["models", "add", "--config", str(bad), "--data", str(data), *api])
    # Then the command exits 2 naming the TOML field, and nothing is served
    assert code == 2
    assert "HTTP 422: config.estimator.C: Input should be greater than 0" in capsys.readouterr().err
    packaged = main(
        ["models", "add", "--config", str(config), "--data", str(data), "--model", "telecom", *api]
    )
    refused = capsys.readouterr().err
    assert packaged == 2
    assert "HTTP 409" in refused and "is a packaged model" in refused
