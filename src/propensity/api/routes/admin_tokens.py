"""Routes of the admin function for signed tokens: revoking one by its id.

A token's id (``jti``) is printed when it is minted (``propensity admin-token``). Revoking
needs an admin credential for every model (the admin secret, or an ``--all-models`` token):
the id alone does not say which models the token covers. The revocation records who revoked
it and why; every function that checks tokens refuses it within its
TOKEN_REVOCATION_REFRESH_SECONDS.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from propensity.api import dependencies as deps
from propensity.api.schemas import error_responses
from propensity.service.admin_auth import AdminAuthenticator, AdminIdentity
from propensity.service.tokens import JTI_PATTERN

router = APIRouter(tags=["admin"])

Authenticator = Annotated[AdminAuthenticator, Depends(deps.authenticator)]
Identity = Annotated[AdminIdentity, Depends(deps.admin_identity)]
TokenId = Annotated[str, Path(pattern=JTI_PATTERN, description="the token's jti (32 hex)")]


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=500)


class RevocationOut(BaseModel):
    jti: str
    revoked_at: str
    revoked_epoch: int
    actor: str
    reason: str
    duplicate: bool = Field(description="the token was revoked already (the first record)")


@router.post(
    "/tokens/{jti}/revoke",
    response_model=RevocationOut,
    responses=error_responses(400, 401, 403, 422, 503),
)
def revoke_token(
    jti: TokenId,
    authenticator: Authenticator,
    identity: Identity,
    body: Annotated[RevokeIn | None, Body()] = None,
) -> dict[str, Any]:
    identity.require_every_model("revoking a token")
    revocation, created = authenticator.revoke(
        jti, actor=identity.subject, reason=(body or RevokeIn()).reason
    )
    return {**asdict(revocation), "duplicate": not created}
