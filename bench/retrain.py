"""Part 4, one retrain (bank + 1,000 feedback rows) in its own process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from bench.common import (
    MODEL,
    REPO,
    summary,
)

# --- 4. retrain ----------------------------------------------------------------------------------

RETRAIN_CODE = r"""
import time
_T0 = time.perf_counter()
import json, sys
def _hwm():
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0
from propensity.config import load_model_config
from propensity.training.dataset import load_dataset
from propensity.training.train import render_artifacts, train_model
config = load_model_config(sys.argv[1])
frame, _ = load_dataset(config, sys.argv[2])
columns = [*config.features.all, config.target.column]
feedback = frame.sample(n=1000, random_state=7)[columns].reset_index(drop=True)
t_loaded = time.perf_counter()
trained = train_model(config, frame, version="v2", extra_training=feedback)
files = render_artifacts(trained, plots=False, profile=None)
t_done = time.perf_counter()
print(json.dumps({
    "wall_s": t_done - _T0,
    "train_and_render_s": t_done - t_loaded,
    "rows_train": int(trained.training["rows_train"]),
    "rows_extra": int(trained.training["rows_extra"]),
    "max_rss_mib": _hwm(),
}))
"""


def retrain(runs: int) -> dict[str, Any]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(  # noqa: S603 (our interpreter, fixed arguments)
            [sys.executable, "-c", RETRAIN_CODE, MODEL, str(REPO / "data")],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"retrain failed:\n{done.stderr[-3000:]}")
        sample = json.loads(done.stdout.strip().splitlines()[-1])
        sample["process_wall_s"] = wall
        samples.append(sample)
    return {
        "how": (
            "subprocess: load bank (45,211 rows) + 1,000 sampled rows as feedback, "
            "train_model(extra_training=...) + render_artifacts (no plots); "
            "peak memory = VmHWM of that process (its ru_maxrss would include the bench's, "
            "inherited across fork + exec)"
        ),
        "rows_train": samples[0]["rows_train"],
        "rows_extra": samples[0]["rows_extra"],
        **{
            key: summary([s[key] for s in samples])
            for key in ("process_wall_s", "wall_s", "train_and_render_s", "max_rss_mib")
        },
    }
