"""Routes of the admin function: versions, promotion, rollback, retrain jobs.

Every route needs an admin credential (see ``dependencies.admin_identity``); in AWS the HTTP
API's JWT authorizer guards them as well.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from propensity.api import dependencies as deps
from propensity.config import MODEL_NAME_PATTERN
from propensity.service.admin_auth import AdminIdentity
from propensity.service.registry_admin import RegistryAdmin

router = APIRouter(tags=["admin"])

ModelName = Annotated[str, Path(pattern=MODEL_NAME_PATTERN, max_length=40)]
VersionName = Annotated[str, Path(pattern=r"^v[1-9][0-9]{0,5}$", description="e.g. v3")]
JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
Admin = Annotated[RegistryAdmin, Depends(deps.admin)]
Identity = Annotated[AdminIdentity, Depends(deps.admin_identity)]

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing, wrong or expired admin credential"},
    403: {"description": "the credential does not cover this model"},
}


class PromoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=500)
    expected_revision: int | None = Field(
        default=None,
        ge=1,
        description="the champion revision you saw; a concurrent change then answers 409",
    )


class RollbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=500)


def _champion(alias: Any) -> dict[str, Any]:
    return {k: v for k, v in asdict(alias).items() if k != "scorecard_key"}


@router.get("/models/{model}/versions", responses=AUTH_RESPONSES)
def list_versions(model: ModelName, admin: Admin, identity: Identity) -> dict[str, Any]:
    identity.require(model)
    return admin.versions(model)


@router.post("/models/{model}/versions/{version}/promote", responses={**AUTH_RESPONSES, 409: {}})
def promote(
    model: ModelName,
    version: VersionName,
    admin: Admin,
    identity: Identity,
    body: Annotated[PromoteIn | None, Body()] = None,
) -> dict[str, Any]:
    identity.require(model)
    body = body or PromoteIn()
    alias = admin.promote(
        model,
        version,
        actor=identity.subject,
        reason=body.reason,
        expected_revision=body.expected_revision,
    )
    return _champion(alias)


@router.post("/models/{model}/rollback", responses={**AUTH_RESPONSES, 409: {}})
def rollback(
    model: ModelName,
    admin: Admin,
    identity: Identity,
    body: Annotated[RollbackIn | None, Body()] = None,
) -> dict[str, Any]:
    identity.require(model)
    return _champion(
        admin.rollback(model, actor=identity.subject, reason=(body or RollbackIn()).reason)
    )


@router.post("/models/{model}/retrain", status_code=202, responses=AUTH_RESPONSES)
def request_retrain(
    model: ModelName, admin: Admin, identity: Identity, response: Response
) -> dict[str, Any]:
    identity.require(model)
    job = admin.request_retrain(model, actor=identity.subject)
    response.headers["Location"] = f"jobs/{job.job_id}"
    return asdict(job)


@router.get("/models/{model}/jobs/{job_id}", responses=AUTH_RESPONSES)
def get_job(model: ModelName, job_id: JobId, admin: Admin, identity: Identity) -> dict[str, Any]:
    identity.require(model)
    return asdict(admin.job(model, job_id))
