"""Routes of the admin function: versions, promotion, rollback, retrain jobs.

Every route needs an admin credential (see ``dependencies.admin_identity``); in AWS the HTTP
API's JWT authorizer guards them as well.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Path, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from propensity.api import dependencies as deps
from propensity.api.schemas import error_responses
from propensity.config import MODEL_NAME_PATTERN
from propensity.service.admin_auth import AdminIdentity
from propensity.service.registry_admin import RegistryAdmin
from propensity.service.uploads import MAX_UPLOAD_BYTES, UploadService

router = APIRouter(tags=["admin"])

ModelName = Annotated[str, Path(pattern=MODEL_NAME_PATTERN, max_length=40)]
VersionName = Annotated[str, Path(pattern=r"^v[1-9][0-9]{0,5}$", description="e.g. v3")]
JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
Admin = Annotated[RegistryAdmin, Depends(deps.admin)]
Identity = Annotated[AdminIdentity, Depends(deps.admin_identity)]
Uploads = Annotated[UploadService, Depends(deps.uploads)]
DefaultModel = Annotated[str, Depends(deps.default_model)]

# Every admin answer may be 401/403 (credential), 404 (unknown model or record), 422 (invalid
# path or body) or 503 (storage); routes with a body may also answer 400 (unparsable body).
AUTH_RESPONSES = error_responses(401, 403, 404, 422, 503)
BODY_RESPONSES = {**AUTH_RESPONSES, **error_responses(400)}
CONFLICT_RESPONSES = {**BODY_RESPONSES, **error_responses(409)}
# Uploads answer 422 for a request that does not validate or for a file with problems.
UPLOAD_RESPONSES = {**BODY_RESPONSES, **error_responses(422, dataset=True)}


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


@router.post("/models/{model}/versions/{version}/promote", responses=CONFLICT_RESPONSES)
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


@router.post("/models/{model}/rollback", responses=CONFLICT_RESPONSES)
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


def _retrain(
    model: str,
    admin: RegistryAdmin,
    uploads: UploadService,
    identity: AdminIdentity,
    labeled_csv: UploadFile | None,
    response: Response,
) -> dict[str, Any]:
    identity.require(model)
    accepted: dict[str, Any] | None = None
    if labeled_csv is not None:
        # Validated completely before anything is stored (422 names rows and columns).
        payload = labeled_csv.file.read(MAX_UPLOAD_BYTES + 1)
        upload, created = uploads.accept(
            model, payload, labeled_csv.filename or "labeled_csv", subject=identity.subject
        )
        accepted = {**asdict(upload), "duplicate": not created}
    job = admin.request_retrain(model, actor=identity.subject)
    response.headers["Location"] = f"jobs/{job.job_id}"
    return {**asdict(job), "upload": accepted}


LabeledCsv = Annotated[
    UploadFile | None, File(description="labelled CSV: the model's columns and its target")
]


@router.post("/models/{model}/retrain", status_code=202, responses=UPLOAD_RESPONSES)
def request_retrain(
    model: ModelName,
    admin: Admin,
    uploads: Uploads,
    identity: Identity,
    response: Response,
    labeled_csv: LabeledCsv = None,
) -> dict[str, Any]:
    return _retrain(model, admin, uploads, identity, labeled_csv, response)


@router.post(
    "/retrain",
    status_code=202,
    responses=UPLOAD_RESPONSES,
    tags=["bank reference aliases"],
)
def request_retrain_default(
    admin: Admin,
    uploads: Uploads,
    identity: Identity,
    response: Response,
    default: DefaultModel,
    labeled_csv: LabeledCsv = None,
) -> dict[str, Any]:
    return _retrain(default, admin, uploads, identity, labeled_csv, response)


class StartUploadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="the SHA-256 of the file you will send, lowercase hex; the upload's id is"
        " its first 32 characters, and completing refuses a file with any other hash",
    )


class UploadTicket(BaseModel):
    upload_id: str
    method: str = Field(description="always POST: a multipart/form-data POST to `url`")
    url: str
    fields: dict[str, str] = Field(
        description="send these form fields as given, then the file as the last field `file`"
    )
    expires_in: int = Field(description="seconds the form is accepted for")
    max_bytes: int = Field(description="S3 refuses a larger (or empty) file")
    complete: str = Field(description="POST here (relative to the model) once the file is sent")


def model_identity(model: ModelName, identity: Identity) -> AdminIdentity:
    """The credential, checked for the path's model as a dependency: a credential for another
    model is refused (403) before a required body is validated (422)."""
    identity.require(model)
    return identity


@router.post(
    "/models/{model}/uploads",
    status_code=201,
    response_model=UploadTicket,
    responses=BODY_RESPONSES,
    dependencies=[Depends(model_identity)],
)
def start_upload(
    model: ModelName,
    uploads: Uploads,
    body: Annotated[StartUploadIn, Body()],
) -> dict[str, Any]:
    """For files above the API's payload limit: POST the CSV to S3 with the returned form
    (a signed policy: this key, `text/csv`, 1 byte to `max_bytes`, a few minutes), then complete.
    """
    started = uploads.start_presigned(model, body.sha256)
    return {**started, "complete": f"uploads/{started['upload_id']}/complete"}


@router.post(
    "/models/{model}/uploads/{upload_id}/complete",
    responses={**AUTH_RESPONSES, **error_responses(422, dataset=True)},
)
def complete_upload(
    model: ModelName, upload_id: JobId, uploads: Uploads, identity: Identity
) -> dict[str, Any]:
    identity.require(model)
    upload, created = uploads.complete(model, upload_id, subject=identity.subject)
    return {**asdict(upload), "duplicate": not created}


@router.get("/models/{model}/jobs/{job_id}", responses=AUTH_RESPONSES)
def get_job(model: ModelName, job_id: JobId, admin: Admin, identity: Identity) -> dict[str, Any]:
    identity.require(model)
    return asdict(admin.job(model, job_id))
