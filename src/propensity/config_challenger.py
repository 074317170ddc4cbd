"""A model's challenger trials: how a candidate that passed the offline gate meets live traffic.

``direct`` promotes as before. ``shadow`` scores every request with both models and answers with
the champion; ``canary`` answers a sticky share of callers with the challenger. Either way the
trial is decided on live labels (feedback naming a logged prediction) by the same gate rules,
and a kill switch rolls a misbehaving challenger back without waiting for labels.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ChallengerMode = Literal["direct", "shadow", "canary"]
TRIAL_MODES: tuple[str, ...] = ("shadow", "canary")


class KillSwitchConfig(BaseModel):
    """Guards read over the challenger's latest logged requests; any one failing rolls it back."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The latest this many requests the challenger scored are read; fewer than ``min_requests``
    # and no guard is judged (a handful of requests says nothing about a rate).
    window: Annotated[int, Field(ge=10, le=10_000)] = 500
    min_requests: Annotated[int, Field(ge=5)] = 50
    # Share of requests on which scoring with the challenger raised.
    max_error_rate: Annotated[float, Field(ge=0, le=1)] = 0.02
    # The challenger's 95th-percentile scoring time, in microseconds (the champion's is ~50).
    max_p95_micros: Annotated[float, Field(gt=0)] = 5_000.0
    # How far the challenger's mean prediction may sit from the champion's on the same requests.
    mean_band: Annotated[float, Field(gt=0, le=1)] = 0.1


class ChallengerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: ChallengerMode = "direct"
    # Canary: the share of callers the challenger answers (shadow answers none).
    fraction: Annotated[float, Field(gt=0, lt=1)] = 0.1
    # Live labels (feedback on predictions both models scored) before the trial is decided.
    min_live_labels: Annotated[int, Field(ge=30)] = 300
    # A trial that has not gathered its labels by then expires, and the champion stays.
    max_trial_days: Annotated[float, Field(gt=0, le=180)] = 14.0
    # The request header whose value keeps one caller on one model; without it, the features.
    caller_header: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,64}$")] = "X-Caller-Id"
    kill_switch: KillSwitchConfig = KillSwitchConfig()

    @model_validator(mode="after")
    def _window_holds_min_requests(self) -> ChallengerConfig:
        if self.kill_switch.min_requests > self.kill_switch.window:
            raise ValueError("challenger.kill_switch.min_requests is larger than its window")
        return self
