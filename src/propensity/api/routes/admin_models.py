"""Routes of the admin function that add and archive models at run time (no redeploy).

``PUT /models/{model}`` takes a TOML config and its dataset (inline, or a presigned upload's
id), validates both, stores them and queues the first training; ``POST …/archive`` stops
serving a model and keeps its versions. Both need an admin credential covering the model.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from propensity.api import dependencies as deps
from propensity.api.routes.admin import model_identity
from propensity.api.schemas import error_responses
from propensity.config import MODEL_NAME_PATTERN
from propensity.service.admin_auth import AdminIdentity
from propensity.service.model_admin import MAX_INLINE_DATASET_BYTES, DatasetInput, ModelAdmin

router = APIRouter(tags=["admin"])

ModelName = Annotated[str, Path(pattern=MODEL_NAME_PATTERN, max_length=40)]
Models = Annotated[ModelAdmin, Depends(deps.model_admin)]
Identity = Annotated[AdminIdentity, Depends(deps.admin_identity)]
# Checked as a dependency: a credential for another model is a 403 before a body is a 422.
ModelIdentity = Annotated[AdminIdentity, Depends(model_identity)]

ADD_RESPONSES = {
    **error_responses(400, 401, 403, 409, 413, 503),
    **error_responses(422, dataset=True),
}


class DatasetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    csv: str | None = Field(
        default=None,
        description=f"the dataset's CSV text, up to {MAX_INLINE_DATASET_BYTES} bytes (413 above)",
    )
    upload_id: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{32}$",
        description="or: the id of a file sent by POST /models/{model}/dataset/uploads",
    )


class AddModelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    config: str = Field(description="the model's config, TOML, as in model_configs/<name>.toml")
    dataset: DatasetIn


class AddedDatasetOut(BaseModel):
    sha256: str
    source: str = Field(description="where the retrain reads it (the config's dataset.source)")
    rows: int
    positives: int


class AddedModelOut(BaseModel):
    model: str
    duplicate: bool = Field(description="this config was added already: nothing changed")
    config_sha256: str
    dataset: AddedDatasetOut
    added_by: str
    added_at: str
    job_id: str = Field(description="the retrain job that trains its first version")
    job: str = Field(description="poll it here")


class ArchiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=500)


class ArchivedOut(BaseModel):
    model: str
    archived_by: str
    archived_at: str
    reason: str
    duplicate: bool = Field(description="it was archived already (the first record)")


class StartDatasetUploadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="the SHA-256 of the CSV you will send"
    )


class DatasetTicket(BaseModel):
    upload_id: str
    method: str
    url: str
    fields: dict[str, str] = Field(description="send these, then the file as the field `file`")
    expires_in: int
    max_bytes: int
    then: str = Field(description="what to do once the file is sent")


@router.put(
    "/models/{model}",
    response_model=AddedModelOut,
    status_code=201,
    responses={
        200: {"model": AddedModelOut, "description": "added already: nothing changed"},
        **ADD_RESPONSES,
    },
)
def add_model(
    model: ModelName,
    models: Models,
    identity: ModelIdentity,
    body: Annotated[AddModelIn, Body()],
    response: Response,
) -> dict[str, Any]:
    """Add a model from its config and dataset: 201 and the queued first training; repeating
    the same config and dataset answers 200 with `duplicate: true`."""
    dataset = DatasetInput(
        # A lone surrogate passes through as bytes the CSV parser refuses (422), never a 500.
        csv=None if body.dataset.csv is None else body.dataset.csv.encode("utf-8", "surrogatepass"),
        upload_id=body.dataset.upload_id,
    )
    added = models.add(model, body.config, dataset, actor=identity.subject)
    if not added.created:
        response.status_code = 200
    return {
        "model": added.model,
        "duplicate": not added.created,
        "config_sha256": added.config_sha256,
        "dataset": {
            "sha256": added.dataset_sha256,
            "source": added.dataset_source,
            "rows": added.rows,
            "positives": added.positives,
        },
        "added_by": added.added_by,
        "added_at": added.added_at,
        "job_id": added.job_id,
        "job": f"/models/{model}/jobs/{added.job_id}",
    }


@router.post(
    "/models/{model}/dataset/uploads",
    status_code=201,
    response_model=DatasetTicket,
    responses=error_responses(400, 401, 403, 409, 422, 503),
)
def start_dataset_upload(
    model: ModelName,
    models: Models,
    identity: ModelIdentity,
    body: Annotated[StartDatasetUploadIn, Body()],
) -> dict[str, Any]:
    """A presigned POST for a dataset too large to send inline; then PUT the model with
    `dataset.upload_id`."""
    ticket = models.start_dataset_upload(model, body.sha256)
    return {**ticket, "then": f"PUT /models/{model} with dataset.upload_id = {ticket['upload_id']}"}


@router.post(
    "/models/{model}/archive",
    response_model=ArchivedOut,
    responses=error_responses(400, 401, 403, 404, 422, 503),
)
def archive_model(
    model: ModelName,
    models: Models,
    identity: Identity,
    body: Annotated[ArchiveIn | None, Body()] = None,
) -> dict[str, Any]:
    """Stop serving a model: predictions and feedback answer 410, the schedule skips it; its
    versions stay in the registry (GET /models/{model}/versions)."""
    identity.require(model)
    archival, created = models.archive(
        model, actor=identity.subject, reason=(body or ArchiveIn()).reason
    )
    return {
        "model": archival.name,
        "archived_by": archival.archived_by,
        "archived_at": archival.archived_at,
        "reason": archival.reason,
        "duplicate": not created,
    }
