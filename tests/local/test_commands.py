"""`propensity invoke` on a fresh stack, `propensity serve` as a process (SIGTERM stops it), and
`propensity mlflow-export` against a running local stack."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from propensity.cli import main
from propensity.local.events import http_api_event
from propensity.local.stack_run import LocalStack
from propensity.local.template import Stack

from .httpclient import call_json


def test_invoke_a_fresh_stack_prints_the_result_on_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an HTTP API event for GET /health on stage dev
    event_file = tmp_path / "health.json"
    event_file.write_text(
        json.dumps(http_api_event("GET", "/health", route_key="GET /health", stage="dev"))
    )
    # When invoked like `sam local invoke`, on a fresh stack without models
    code = main(["invoke", "PredictFunction", "--event", str(event_file), "--no-bootstrap"])
    # Then stdout is exactly the function's result; logs and the decoded body went to stderr
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out)
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["status"] == "ok"
    assert "decoded body (status 200)" in captured.err


def test_invoke_refuses_unknown_functions_and_bad_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event_file = tmp_path / "e.json"
    event_file.write_text("{}")
    assert main(["invoke", "NoSuchFunction", "--event", str(event_file)]) == 2
    known = ", ".join(sorted(Stack().functions()))
    assert f"known: {known}" in capsys.readouterr().err
    event_file.write_text("{not json")
    assert main(["invoke", "PredictFunction", "--event", str(event_file)]) == 2


def test_serve_prints_the_routes_serves_and_stops_on_sigterm() -> None:
    # Given `propensity serve` on a free port, without the model bootstrap (quick)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "propensity.cli", "serve", "--port", "0", "--no-bootstrap"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        banner = []
        for line in process.stdout:
            banner.append(line)
            if line.startswith("Ctrl-C stops"):
                break
        text = "".join(banner)
        # Then the banner names the URL, the routes and an example
        found = re.search(r"HTTP API: (http://localhost:\d+)", text)
        assert found, text
        assert "POST /models/{model}/predict" in text and "-> PredictFunction" in text
        assert "curl -s -X POST" in text
        # And it serves
        assert call_json("GET", found.group(1) + "/dev/health")[0] == 200
        # When SIGTERM arrives / Then it stops cleanly
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_mlflow_export_reads_a_running_local_stack(tmp_path: Path) -> None:
    # Given a running local stack (the `make run` one: bootstrapped, v1 of each model)
    with LocalStack(
        port=0, serve_http=False, poll_streams=False, run_schedules=False, quiet=True
    ) as stack:
        assert stack.emulator_url is not None
        # When the export is pointed at its emulator from another process, without AWS settings
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
        command = [sys.executable, "-m", "propensity.cli", "mlflow-export", "--model", "telecom"]
        command += ["--emulator-url", stack.emulator_url, "--tracking-uri", uri, "--no-plots"]
        command += ["--artifact-location", (tmp_path / "mlartifacts").as_uri()]
        result = subprocess.run(
            command, capture_output=True, text=True, env=env, check=False, timeout=120
        )
    # Then telecom v1 is registered in MLflow with the champion alias
    assert result.returncode == 0, result.stderr[-2000:]
    assert "v1 -> version 1" in result.stdout
    assert "champion v1 -> alias 'champion' on version 1" in result.stdout
