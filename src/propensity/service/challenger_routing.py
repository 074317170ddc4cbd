"""Which model answers a request during a challenger trial, and the per-environment breaker.

Assignment is sticky: a caller's key (a header the model's config names, else the request's
features) hashed with the model and challenger version, so one customer always meets the same
model during a trial, and a new trial draws a new split. The breaker is the kill switch's fast
half: an environment whose recent challenger scorings raised too often stops routing to it at
once; the scheduled guard (``service.challenger_trials``) then rolls the trial back for all.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Mapping
from typing import Any

from propensity.config_challenger import KillSwitchConfig

_SCALE = float(2**64)


def caller_key(features: Mapping[str, Any], caller: str | None) -> str:
    """The caller's own key when given, else the features as canonical JSON."""
    if caller:
        return "caller:" + caller
    return "features:" + json.dumps(features, sort_keys=True, separators=(",", ":"), default=str)


def share(model: str, version: str, key: str) -> float:
    """The key's uniform position in [0, 1) for this trial; answered by the challenger below
    the configured fraction."""
    digest = hashlib.sha256(f"{model}\x1f{version}\x1f{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


class Breaker:
    """The latest scorings of one challenger in this environment: tripped by an error rate."""

    def __init__(self, guard: KillSwitchConfig) -> None:
        self._guard = guard
        self._outcomes: deque[bool] = deque(maxlen=guard.window)
        self._errors = 0
        self.tripped = False

    def record(self, failed: bool) -> None:
        if len(self._outcomes) == self._outcomes.maxlen:
            self._errors -= self._outcomes[0]
        self._outcomes.append(failed)
        self._errors += failed
        if (
            len(self._outcomes) >= self._guard.min_requests
            and self._errors / len(self._outcomes) > self._guard.max_error_rate
        ):
            self.tripped = True
