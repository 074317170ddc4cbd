"""The previous Lambda runtime against ours: the same handlers under Python 3.11 and 3.13.

Cold start (spawn → first response, fresh processes, the same program as the cold-start part)
and warm p50 (one process per interpreter and design, the prediction log stubbed) for our
predict handler and the frameworks' floor, taking turns so that other load on the machine falls
on each alike. The 3.11 interpreter gets its own venv (``.venv-py311``: the serving pins only;
our package comes from ``src/``, which stays 3.11-compatible for this comparison).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.cold import cold_start_sample
from bench.common import EVENTS, FLOOR_HANDLER, PREDICT_HANDLER, REPO, percentiles, say, summary

PREVIOUS = "3.11"
PREVIOUS_VENV = REPO / ".venv-py311"

WARM_CODE = r"""
import importlib.util, json, sys, time, copy
kind, path, event_path, requests, warmup = sys.argv[1:6]
spec = importlib.util.spec_from_file_location("handler", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
if kind == "ours":  # like for like with the floor: no prediction-log write
    module.services.predictions._log.put_many = lambda records: None
class Context:
    function_name = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench-warm"
    def get_remaining_time_in_millis(self):
        return 30000
with open(event_path) as handle:
    event = json.load(handle)
event["headers"].pop("content-length", None)
events = [copy.deepcopy(event) for _ in range(int(requests) + int(warmup))]
for e in events[: int(warmup)]:
    assert module.lambda_handler(e, Context())["statusCode"] == 200
durations = []
for e in events[int(warmup):]:
    started = time.perf_counter()
    module.lambda_handler(e, Context())
    durations.append((time.perf_counter() - started) * 1000)
print(json.dumps({"ms": durations, "python": sys.version.split()[0]}))
"""


def previous_python() -> str | None:
    """A Python 3.11 interpreter (pyenv's, whose shim refuses unless selected, or on PATH)."""
    found = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{PREVIOUS}*/bin/python3")))
    candidates = [*found, shutil.which(f"python{PREVIOUS}") or ""]
    for candidate in filter(None, candidates):
        probe = subprocess.run(  # noqa: S603 (a fixed probe)
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == PREVIOUS:
            return candidate
    return None


def previous_venv(python: str) -> Path:
    """``.venv-py311`` with the serving dependencies pinned in pyproject.toml (made once)."""
    interpreter = PREVIOUS_VENV / "bin" / "python"
    pins = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    stamp = PREVIOUS_VENV / ".pins"
    if interpreter.exists() and stamp.exists() and stamp.read_text() == "\n".join(pins):
        return interpreter
    say(f"making {PREVIOUS_VENV.name} (Python {PREVIOUS}, the serving pins) …")
    subprocess.run([python, "-m", "venv", "--clear", str(PREVIOUS_VENV)], check=True)  # noqa: S603
    subprocess.run(  # noqa: S603 (our pins)
        [str(interpreter), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *pins],
        check=True,
    )
    stamp.write_text("\n".join(pins))
    return interpreter


def _warm(python: str, kind: str, env: Mapping[str, str], requests: int) -> list[float]:
    handler = PREDICT_HANDLER if kind == "ours" else FLOOR_HANDLER
    done = subprocess.run(  # noqa: S603 (our interpreter, fixed arguments)
        [
            python,
            "-c",
            WARM_CODE,
            kind,
            str(handler),
            str(EVENTS / "predict-bank.json"),
            str(requests),
            "200",
        ],
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"warm run of {kind} on {python} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return list(result["ms"])


def measure(env: Mapping[str, str], cold_runs: int, warm_requests: int) -> dict[str, Any]:
    """Both interpreters × (ours, floor): cold-start medians and warm percentiles."""
    previous = previous_python()
    if previous is None:
        return {"available": False, "why": f"no Python {PREVIOUS} on this machine"}
    interpreters = {PREVIOUS: str(previous_venv(previous)), "current": sys.executable}
    # Our package from src/ for the 3.11 venv (the current one has it installed).
    src = str(REPO / "src")
    envs = {
        PREVIOUS: {
            **env,
            "PYTHONPATH": os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")])),
        },
        "current": dict(env),
    }
    cold: dict[str, dict[str, list[float]]] = {n: {"ours": [], "floor": []} for n in interpreters}
    for _ in range(cold_runs):
        for name, python in interpreters.items():
            for kind in ("ours", "floor"):
                sample = cold_start_sample(kind, envs[name], python=python)
                cold[name][kind].append(sample["to_first_response_s"])
    warm: dict[str, dict[str, list[float]]] = {n: {"ours": [], "floor": []} for n in interpreters}
    for _ in range(2):  # two turns each, alternating
        for name, python in interpreters.items():
            for kind in ("ours", "floor"):
                warm[name][kind] += _warm(python, kind, envs[name], warm_requests // 2)
    current = f"{sys.version_info.major}.{sys.version_info.minor}"
    labels = {PREVIOUS: PREVIOUS, "current": current}
    return {
        "available": True,
        "interpreters": {labels[n]: p for n, p in interpreters.items()},
        "cold_to_first_response_s": {
            labels[n]: {k: summary(v) for k, v in by_kind.items()} for n, by_kind in cold.items()
        },
        "warm_request_ms": {
            labels[n]: {k: percentiles(v) for k, v in by_kind.items()}
            for n, by_kind in warm.items()
        },
        "note": (
            f"ours = functions/predict/handler.py (log write stubbed when warm), floor = "
            f"bench/floor_handler.py; {cold_runs} cold starts and {warm_requests:,} warm "
            "requests per interpreter and design, alternating."
        ),
    }
