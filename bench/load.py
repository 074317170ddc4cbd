"""Part 7, a load run through the local HTTP API (`propensity serve`'s stack)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.common import (
    MODEL,
    percentiles,
)

# --- 7. load run -------------------------------------------------------------------------------

LOAD_CODE = r"""
import http.client, json, sys, threading, time
from urllib.parse import urlsplit
url, bodies_path, seconds, clients = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
target = urlsplit(url)
path = target.path.rstrip("/") + "/models/bank/predict"
with open(bodies_path, "rb") as handle:
    bodies = handle.read().splitlines()
headers = {"content-type": "application/json"}
gate = threading.Barrier(clients + 1)
deadline = [0.0]
results = []
def client(index):
    latencies, statuses, errors, connects, error_at = [], {}, {}, 1, []
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
    i = index
    gate.wait()
    end = deadline[0]
    while True:
        started = time.perf_counter()
        if started >= end:
            break
        body = bodies[i % len(bodies)]
        i += clients
        try:
            connection.request("POST", path, body, headers)
            response = connection.getresponse()
            response.read()
            if response.will_close:
                connects += 1
            statuses[response.status] = statuses.get(response.status, 0) + 1
            if response.status == 200:
                latencies.append(time.perf_counter() - started)
        except (OSError, http.client.HTTPException) as exc:
            name = type(exc).__name__
            errors[name] = errors.get(name, 0) + 1
            error_at.append(started - end + seconds)
            connection.close()
            connects += 1
    connection.close()
    results.append((latencies, statuses, errors, connects, time.perf_counter(), error_at))
threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
for thread in threads:
    thread.start()
started = time.perf_counter()
deadline[0] = started + seconds
gate.wait()
for thread in threads:
    thread.join()
latencies = sorted(x for r in results for x in r[0])
statuses, errors = {}, {}
for r in results:
    for k, v in r[1].items():
        statuses[str(k)] = statuses.get(str(k), 0) + v
    for k, v in r[2].items():
        errors[k] = errors.get(k, 0) + v
print(json.dumps({
    "elapsed_s": max(r[4] for r in results) - started,
    "latencies_s": latencies,
    "statuses": statuses,
    "exceptions": errors,
    "connections": sum(r[3] for r in results),
    "errors_at_s": sorted(x for r in results for x in r[5]),
}))
"""


def load_run(
    base_url: str, rows: Sequence[Mapping[str, Any]], seconds: float, clients: int
) -> dict[str, Any]:
    """``clients`` keep-alive HTTP clients (threads of a separate process, so that they do not
    share the server's GIL) POST bank rows to ``/models/bank/predict`` for ``seconds``."""
    import http.client
    from urllib.parse import urlsplit

    bodies = [json.dumps({"features": dict(r)}) for r in rows[:5000]]
    target = urlsplit(base_url)
    path = f"/models/{MODEL}/predict"
    # Warm-up: the first request loads the handler (the local stack's cold start).
    warmup_s = []
    connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=60)
    try:
        for body in bodies[:20]:
            started = time.perf_counter()
            connection.request("POST", path, body, {"content-type": "application/json"})
            response = connection.getresponse()
            answer = response.read()
            if response.status != 200:
                raise RuntimeError(f"load run warm-up: {response.status} {answer[:500]!r}")
            warmup_s.append(time.perf_counter() - started)
    finally:
        connection.close()
    with tempfile.TemporaryDirectory() as scratch:
        bodies_path = Path(scratch) / "bodies.jsonl"
        bodies_path.write_text("\n".join(bodies) + "\n", encoding="utf-8")
        done = subprocess.run(  # noqa: S603 (our interpreter, fixed arguments)
            [
                sys.executable,
                "-c",
                LOAD_CODE,
                base_url,
                str(bodies_path),
                str(seconds),
                str(clients),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=seconds + 120,
        )
    if done.returncode != 0:
        raise RuntimeError(f"load run failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    latencies = result.pop("latencies_s")
    statuses: dict[str, int] = result["statuses"]
    ok = statuses.get("200", 0)
    total = sum(statuses.values()) + sum(result["exceptions"].values())
    return {
        "how": (
            f"{clients} clients (threads with one keep-alive http.client connection each, in a "
            f"separate process) POST bank rows to {path} on the local HTTP API "
            f"(`LocalStack(serve_http=True)` on a free loopback port) for {seconds:g} s, after "
            "20 sequential warm-up requests (the first loads the handler). Server side: one "
            "process (HTTP server threads, the moto server, and one worker per function that "
            "runs its invocations in turn, like one Lambda container); every prediction is "
            "logged to DynamoDB (moto)"
        ),
        "clients": clients,
        "seconds": seconds,
        "elapsed_s": result["elapsed_s"],
        "requests": total,
        "ok": ok,
        "errors": total - ok,
        "statuses": statuses,
        "exceptions": result["exceptions"],
        "connections": result["connections"],
        # When the failed requests were sent, seconds into the run (the first 20).
        "errors_at_s": result["errors_at_s"][:20],
        "requests_per_s": ok / result["elapsed_s"] if result["elapsed_s"] > 0 else 0.0,
        "latency_ms": percentiles([x * 1000 for x in latencies]) if latencies else {},
        "warmup_first_request_s": warmup_s[0],
        "warmup_rest_ms": percentiles([x * 1000 for x in warmup_s[1:]]),
    }
