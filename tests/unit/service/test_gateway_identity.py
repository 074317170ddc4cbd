"""Behind API Gateway's JWT authorizer the JWT's subject acts, and a required scope is checked."""

from __future__ import annotations

from typing import Any

import pytest

from propensity.errors import ForbiddenError
from propensity.service.admin_auth import AdminIdentity, JwtPrincipal, through_gateway

ADMIN = "propensity/admin"
TOKEN_HOLDER = AdminIdentity("operator", ("bank",), "admin", "0" * 32)


@pytest.mark.parametrize(
    ("jwt", "subject", "scopes"),
    [
        (
            {"claims": {"sub": "u-1", "scope": "propensity/admin openid"}},
            "u-1",
            {"propensity/admin", "openid"},
        ),
        (
            {"claims": {"sub": "u-2", "scp": "[propensity/admin email]"}},
            "u-2",
            {"propensity/admin", "email"},
        ),
        ({"claims": {"sub": "u-3"}, "scopes": [ADMIN]}, "u-3", {ADMIN}),
        ({"claims": {"username": "alice"}, "scopes": None}, "alice", set()),
    ],
)
def test_the_principal_is_read_from_the_authorizer_context(
    jwt: dict[str, Any], subject: str, scopes: set[str]
) -> None:
    principal = JwtPrincipal.from_authorizer(jwt)
    assert principal is not None
    assert (principal.subject, set(principal.scopes)) == (subject, scopes)


@pytest.mark.parametrize("jwt", [{}, {"claims": {}}, {"claims": {"sub": ""}}, {"claims": None}])
def test_a_jwt_without_a_subject_is_no_principal(jwt: dict[str, Any]) -> None:
    assert JwtPrincipal.from_authorizer(jwt) is None


def test_behind_the_authorizer_the_jwt_subject_is_the_actor_and_the_credential_still_limits() -> (
    None
):
    # Given a model-scoped service credential presented with a verified JWT
    principal = JwtPrincipal("3b9c-alice", frozenset({"propensity/admin"}))
    # When the identity that acts is decided
    acting = through_gateway(TOKEN_HOLDER, principal)
    # Then the actor is the JWT's subject, while the credential's models and scope still apply
    assert acting.subject == "jwt:3b9c-alice"
    assert (acting.models, acting.scope, acting.token_id) == (
        TOKEN_HOLDER.models,
        "admin",
        TOKEN_HOLDER.token_id,
    )
    # And without a JWT (the local run) the credential's subject acts
    assert through_gateway(TOKEN_HOLDER, None).subject == "operator"


def test_a_required_jwt_scope_is_enforced() -> None:
    with_scope = JwtPrincipal("alice", frozenset({"propensity/admin"}))
    without = JwtPrincipal("mallory", frozenset({"propensity/feedback"}))
    assert through_gateway(TOKEN_HOLDER, with_scope, "propensity/admin").subject == "jwt:alice"
    for principal in (without, None):
        with pytest.raises(ForbiddenError, match="JWT\\) with scope propensity/admin"):
            through_gateway(TOKEN_HOLDER, principal, "propensity/admin")
