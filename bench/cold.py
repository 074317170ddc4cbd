"""Part 1, cold start: fresh processes per design (ours, baseline, floor) and an import profile."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Mapping
from typing import Any

from bench.common import (
    EVENTS,
    HANDLERS,
    summary,
)

# --- 1. cold start -----------------------------------------------------------------------------

COLD_CODE = r"""
import time
_T0 = time.perf_counter()
import importlib, importlib.util, json, sys
def _hwm():
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0
kind, path, event_path, modules = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
for name in modules:
    importlib.import_module(name)
t_imports = time.perf_counter()
fetch = [0.0]
if kind == "ours":
    from propensity.service.champions import ChampionCache
    _preload = ChampionCache.preload
    def _timed(self, models):
        started = time.perf_counter()
        _preload(self, models)
        fetch[0] += time.perf_counter() - started
    ChampionCache.preload = _timed
spec = importlib.util.spec_from_file_location("handler", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
t_init = time.perf_counter()
if kind == "baseline":
    fetch[0] = module.FETCH_SECONDS + module.LOAD_SECONDS
class Context:
    function_name = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench-cold"
    def get_remaining_time_in_millis(self):
        return 30000
with open(event_path) as handle:
    event = json.load(handle)
response = module.lambda_handler(event, Context())
t_first = time.perf_counter()
first_response_at = time.monotonic()  # CLOCK_MONOTONIC: the parent's clock too (Linux)
cpu_first = time.process_time()
assert response["statusCode"] == 200, response
print(json.dumps({
    "first_response_at": first_response_at,
    "cpu_to_first_response_s": cpu_first,
    "imports_s": t_imports - _T0,
    "init_s": t_init - t_imports,
    "model_fetch_s": fetch[0],
    "first_request_s": t_first - t_init,
    "in_process_s": t_first - _T0,
    "max_rss_mib": _hwm(),
}))
"""


def cold_starts(env: Mapping[str, str], runs: int) -> dict[str, dict[str, Any]]:
    """``runs`` fresh processes per design, ours, the baseline and the floor
    (``bench/floor_handler.py``: the frameworks and clients alone) in turn, so that other load
    on the machine falls on each alike.

    ``to_first_response_s`` (spawn → first response, on the shared CLOCK_MONOTONIC) is what a
    Lambda cold start is: runtime start, init, first invocation. ``process_wall_s`` also
    includes the interpreter's exit (module teardown), which Lambda never waits for.
    ``process_cpu_s`` is the child's user + system CPU time (less sensitive than wall time to
    other load on the machine)."""
    samples: dict[str, list[dict[str, float]]] = {kind: [] for kind in HANDLERS}
    for _ in range(runs):
        for kind, kept in samples.items():
            kept.append(cold_start_sample(kind, env))
    return {
        kind: {key: summary([s[key] for s in kept]) for key in kept[0]}
        for kind, kept in samples.items()
    }


def cold_start_sample(
    kind: str, env: Mapping[str, str], *, python: str = sys.executable
) -> dict[str, float]:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    spawned = time.monotonic()
    started = time.perf_counter()
    done = _cold_start_process(kind, env, python=python)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"cold start of {kind} failed:\n{done.stderr[-3000:]}")
    sample: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    sample["to_first_response_s"] = sample.pop("first_response_at") - spawned
    sample["process_wall_s"] = wall
    sample["process_cpu_s"] = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    return sample


def _cold_start_process(
    kind: str, env: Mapping[str, str], *interpreter_flags: str, python: str = sys.executable
) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter that imports the handler and serves the bank event (COLD_CODE)."""
    handler, modules = HANDLERS[kind]
    return subprocess.run(  # noqa: S603 (our interpreter, fixed arguments)
        [
            python,
            *interpreter_flags,
            "-c",
            COLD_CODE,
            kind,
            str(handler),
            str(EVENTS / "predict-bank.json"),
            json.dumps(modules),
        ],
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )


def import_profile(kind: str, env: Mapping[str, str], top: int = 12) -> dict[str, Any]:
    """One cold start under ``-X importtime``: the costliest top-level imports (cumulative),
    and the costliest of our own modules (``propensity.*``, self time: the module's own code,
    e.g. pydantic models, route decorators and compiled regular expressions)."""
    done = _cold_start_process(kind, env, "-X", "importtime")
    entries = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        own, cumulative, name = line[len("import time:") :].split("|")
        depth = (len(name) - len(name.lstrip())) // 2
        entries.append((int(cumulative), int(own), name.strip(), depth))
    shallow = sorted((e for e in entries if e[3] <= 1), reverse=True)[:top]
    ours = sorted((e for e in entries if e[2].split(".")[0] == "propensity"), key=lambda e: -e[1])
    return {
        "top_cumulative": [
            {"module": n, "depth": d, "cumulative_ms": c / 1000} for c, _, n, d in shallow
        ],
        "own_modules_self": [{"module": n, "self_ms": o / 1000} for _, o, n, _ in ours[:top]],
        "own_modules_self_total_ms": sum(o for _, o, _, _ in ours) / 1000,
        "all_self_total_ms": sum(o for _, o, _, _ in entries) / 1000,
    }
