"""Routes of the admin function for challenger trials: see one, start one, end one.

A gate-passed version goes on trial in ``shadow`` or ``canary`` (or is promoted ``direct``); the
trial's verdict, with its evidence, is then the schedule's (``service.trial_review``) unless an
admin ends it first.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict, Field

from propensity.api import dependencies as deps
from propensity.api.routes.admin import (
    AUTH_RESPONSES,
    CONFLICT_RESPONSES,
    Admin,
    ModelName,
)
from propensity.api.routes.admin_models import ModelIdentity
from propensity.service.challenger_trials import ChallengerTrials

router = APIRouter(tags=["admin"])

Trials = Annotated[ChallengerTrials, Depends(deps.trials)]


class ChallengerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str = Field(
        pattern=r"^v[1-9][0-9]{0,5}$", description="a version that passed the gate"
    )
    mode: Literal["shadow", "canary", "direct"]
    fraction: float | None = Field(
        default=None, gt=0, lt=1, description="canary: the share of callers it answers"
    )
    override_gate: bool = Field(
        default=False,
        description="try a version the offline gate refused (recorded on the trial)",
    )


class EndTrialIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=500)


@router.get("/models/{model}/challenger", responses=AUTH_RESPONSES)
def challenger(model: ModelName, trials: Trials, identity: ModelIdentity) -> dict[str, Any]:
    """The trial running now (``active``, null without one) and the model's recent trials,
    each with its live comparison and, once decided, its verdict and evidence."""
    active = trials.active(model)
    return {
        "model": model,
        "active": asdict(active) if active is not None else None,
        "trials": [asdict(t) for t in trials.store.list(model)],
    }


@router.put("/models/{model}/challenger", responses=CONFLICT_RESPONSES)
def set_challenger(
    model: ModelName,
    body: ChallengerIn,
    trials: Trials,
    admin: Admin,
    identity: ModelIdentity,
) -> dict[str, Any]:
    if body.mode == "direct":
        alias = admin.promote(
            model, body.version, actor=identity.subject, reason="set directly by an admin"
        )
        trials.settle_orphans(model)  # the promotion ended any trial
        return {"model": model, "mode": "direct", "champion": alias.version}
    trial = trials.set_by_admin(
        model,
        body.version,
        mode=body.mode,
        fraction=body.fraction,
        actor=identity.subject,
        override_gate=body.override_gate,
    )
    return {"model": model, "mode": trial.mode, "trial": asdict(trial)}


@router.delete("/models/{model}/challenger", responses=CONFLICT_RESPONSES)
def end_challenger(
    model: ModelName,
    trials: Trials,
    identity: ModelIdentity,
    body: Annotated[EndTrialIn | None, Body()] = None,
) -> dict[str, Any]:
    """Roll the challenger back now: the champion answers every request again."""
    ended = trials.end_by_admin(model, actor=identity.subject, reason=(body or EndTrialIn()).reason)
    return {"model": model, "trial": asdict(ended)}
