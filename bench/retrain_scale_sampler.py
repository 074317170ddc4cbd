"""A sampling profiler for one measured retrain (``bench/retrain_scale_child.py``).

A daemon thread looks at the main thread's stack and the process's resident memory every
``interval`` seconds: where the wall time goes (the share of samples a function is on the
stack, and innermost), and which stack held the most memory (VmRSS at its highest sample).
Its cost is one stack walk and one read of ``/proc/self/status`` per interval, so it runs on
every measured retrain without changing the figures (cProfile or tracemalloc would, by
several times on this code).
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

# Frames from these packages are named in the profile (the rest is the stdlib).
PACKAGES = ("propensity", "sklearn", "pandas", "numpy", "scipy", "botocore", "boto3", "urllib3")


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _label(frame: FrameType) -> str:
    code = frame.f_code
    parts = Path(code.co_filename).parts
    package = next((p for p in parts if p in PACKAGES), None)
    if package is None:
        return f"{Path(code.co_filename).name}:{code.co_qualname}"
    tail = "/".join(parts[parts.index(package) :])
    return f"{tail}:{code.co_qualname}"


class Sampler:
    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self._main = threading.main_thread().ident
        self._stop = threading.Event()
        self._inclusive: Counter[str] = Counter()
        self._innermost: Counter[str] = Counter()
        self._samples = 0
        self._peak = (0.0, [""])
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            frame = sys._current_frames().get(self._main or 0)
            if frame is None:
                continue
            stack: list[str] = []
            walk: FrameType | None = frame
            while walk is not None:
                stack.append(_label(walk))
                walk = walk.f_back
            self._samples += 1
            self._innermost[stack[0]] += 1
            for label in set(stack):
                self._inclusive[label] += 1
            rss = _rss_mib()
            if rss > self._peak[0]:
                ours = [s for s in stack if s.startswith("propensity/")]
                self._peak = (rss, [stack[0], *ours[:8]])

    def report(self, top: int = 15) -> dict[str, Any]:
        n = max(1, self._samples)
        ours = [(k, v) for k, v in self._inclusive.most_common() if k.startswith("propensity/")]
        return {
            "interval_s": self.interval,
            "samples": self._samples,
            "inclusive_share_ours": [{"function": k, "share": v / n} for k, v in ours[:top]],
            "innermost_share": [
                {"function": k, "share": v / n} for k, v in self._innermost.most_common(top)
            ],
            "rss_peak_mib": self._peak[0],
            "rss_peak_stack": self._peak[1],
        }
