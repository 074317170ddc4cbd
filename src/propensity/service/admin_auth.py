"""Credentials checked inside the service: the admin secret, or short-lived signed tokens.

A token (``service.tokens``) is signed under a key derived from the admin secret, so operators
hand out expiring, model-scoped, revocable credentials without sharing the secret itself
(``propensity admin-token``). A token is accepted only when it is for this service and stage
(its audience), lives no longer than the maximum lifetime (24 h by default) however its expiry
was set, has not expired and has not been revoked (``service.revocations``). The secret is
re-read so a rotation is followed (``service.admin_secret``).

Scopes: ``admin`` (every route) and ``feedback`` (only the feedback routes: a labelling client
can teach the model but cannot promote, roll back or upload).

Behind API Gateway's JWT authorizer the caller's JWT has been verified already: its subject is
then who acts (``through_gateway``), and the admin routes can require one of its scopes.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from propensity.errors import ForbiddenError, UnauthorizedError
from propensity.records import TokenRevocation
from propensity.service import tokens
from propensity.service.admin_secret import AdminSecret, StaticSecret
from propensity.service.revocations import RevocationList
from propensity.service.tokens import ALL_MODELS, SCOPES, Scope, TokenClaims

__all__ = [
    "ALL_MODELS",
    "ANONYMOUS",
    "DEFAULT_MAX_LIFETIME_SECONDS",
    "SCOPES",
    "AdminAuthenticator",
    "AdminIdentity",
    "JwtPrincipal",
    "Scope",
    "through_gateway",
]

DEFAULT_MAX_LIFETIME_SECONDS = 24 * 3600
RETIRED = "credential is a token of a retired format (pa1): mint a new one (propensity admin-token)"


@dataclass(frozen=True)
class AdminIdentity:
    """Who presented a credential, for which models, and what it may do."""

    subject: str
    models: tuple[str, ...] | None  # None: every model
    scope: Scope = "admin"
    token_id: str | None = None  # the signed token's jti (None: the admin secret itself)

    def require_scope(self, scope: Scope) -> None:
        """An admin credential may do anything; a feedback credential only send feedback."""
        if self.scope not in ("admin", scope):
            raise ForbiddenError(
                f"credential of {self.subject!r} is scoped to {self.scope}; "
                f"this route needs a credential scoped to {scope}"
            )

    def require(self, model: str) -> None:
        if self.models is not None and model not in self.models:
            raise ForbiddenError(f"credential of {self.subject!r} does not cover model {model!r}")

    def require_every_model(self, action: str) -> None:
        """For actions beyond any one model (a token may cover models this one does not)."""
        if self.models is not None:
            raise ForbiddenError(
                f"credential of {self.subject!r} does not cover every model; {action} needs one "
                "that does"
            )


ANONYMOUS = AdminIdentity("anonymous", None, "feedback")


@dataclass(frozen=True)
class JwtPrincipal:
    """Whom API Gateway's JWT authorizer let through: the JWT's subject and its scopes."""

    subject: str
    scopes: frozenset[str]

    @property
    def actor(self) -> str:
        return f"jwt:{self.subject}"

    @classmethod
    def from_authorizer(cls, jwt: Mapping[str, Any]) -> JwtPrincipal | None:
        """From ``requestContext.authorizer.jwt`` of an HTTP API event (None: no subject).

        Scopes come from the ``scope`` claim (OAuth 2: space-separated, as Cognito sends it),
        ``scp`` (flattened by API Gateway as ``[a b]``) and the authorizer's ``scopes`` list.
        """
        claims = jwt.get("claims") or {}
        subject = claims.get("sub") or claims.get("username")
        if not isinstance(subject, str) or not subject:
            return None
        found: set[str] = set()
        for name in ("scope", "scp"):
            value = claims.get(name)
            if isinstance(value, str):
                found.update(value.strip("[]").split())
        listed = jwt.get("scopes")
        if isinstance(listed, list):
            found.update(s for s in listed if isinstance(s, str))
        return cls(subject, frozenset(found))


def through_gateway(
    identity: AdminIdentity, principal: JwtPrincipal | None, required_scope: str = ""
) -> AdminIdentity:
    """The identity that acts: the JWT's subject when a JWT came with the request (what is
    recorded as the actor is then never what the caller wrote), refused without the required
    JWT scope."""
    if required_scope and (principal is None or required_scope not in principal.scopes):
        raise ForbiddenError(
            f"this route needs an identity token (JWT) with scope {required_scope}"
        )
    return replace(identity, subject=principal.actor) if principal else identity


class AdminAuthenticator:
    def __init__(
        self,
        secret: str | AdminSecret,
        *,
        audience: str = tokens.audience("dev"),
        max_lifetime_seconds: int = DEFAULT_MAX_LIFETIME_SECONDS,
        revocations: RevocationList | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = (
            AdminSecret(StaticSecret(secret), clock=clock) if isinstance(secret, str) else secret
        )
        self._audience = audience
        self._max_lifetime = max_lifetime_seconds
        self._revocations = revocations
        self._clock = clock

    @property
    def max_lifetime_seconds(self) -> int:
        return self._max_lifetime

    def mint(
        self,
        subject: str,
        ttl_seconds: int,
        models: Sequence[str] | Literal["*"],
        scope: Scope = "admin",
    ) -> tuple[str, TokenClaims]:
        """A new token and its claims; ``models`` names the models it covers, or is
        ``ALL_MODELS`` ("*"): an empty list is refused, never taken for every model."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
        if not 0 < ttl_seconds <= self._max_lifetime:
            raise ValueError(
                f"ttl of {ttl_seconds} s: a token lives 1 to {self._max_lifetime} s "
                "(the maximum token lifetime)"
            )
        if models == ALL_MODELS:
            covered = None
        elif isinstance(models, str) or not models or not all(models):
            raise ValueError("name the models the token covers, or give ALL_MODELS for every model")
        else:
            covered = tuple(models)
        now = int(self._clock())
        claims = TokenClaims(
            jti=secrets.token_hex(16),
            subject=subject,
            audience=self._audience,
            issued_at=now,
            expires_at=now + ttl_seconds,
            models=covered,
            scope=scope,
        )
        return tokens.encode(claims, self._secret.current().signing), claims

    def issue(
        self,
        subject: str,
        ttl_seconds: int,
        models: Sequence[str] | Literal["*"],
        scope: Scope = "admin",
    ) -> str:
        return self.mint(subject, ttl_seconds, models, scope)[0]

    def revoke(self, jti: str, *, actor: str, reason: str = "") -> tuple[TokenRevocation, bool]:
        if self._revocations is None:
            raise RuntimeError("token revocation is not wired into this authenticator")
        return self._revocations.revoke(jti, actor=actor, reason=reason)

    def _refusal(self, claims: TokenClaims) -> str | None:
        """Why a well-signed token is not accepted now (None: it is)."""
        now = self._clock()
        if claims.audience != self._audience:
            return f"credential is for {claims.audience!r}, not {self._audience!r}"
        if claims.lifetime > self._max_lifetime:
            return (
                f"credential lives {claims.lifetime} s, more than the maximum token lifetime "
                f"of {self._max_lifetime} s"
            )
        if claims.issued_at > now + tokens.CLOCK_SKEW_SECONDS:
            return "credential is issued in the future"
        if claims.expires_at <= now:
            return "credential expired"
        if self._revocations is not None and self._revocations.is_revoked(claims.jti):
            return "credential was revoked"
        return None

    def authenticate(self, candidates: Sequence[str | None]) -> AdminIdentity:
        """The identity of the first valid credential among ``candidates`` (header values)."""
        presented = [c.strip() for c in candidates if c and c.strip()]
        if not presented:
            raise UnauthorizedError(
                "credential required (Authorization: Bearer … or X-Admin-Token)"
            )
        keys = self._secret.accepted()
        signing = tuple(key.signing for key in keys)
        refusal: str | None = None
        for token in presented:
            raw = token.encode()
            if any(hmac.compare_digest(raw, key.secret) for key in keys):
                return AdminIdentity("admin", None)
            claims = tokens.decode(token, signing)
            if claims is None:
                if refusal is None and tokens.is_retired(token):
                    refusal = RETIRED
                continue
            why = self._refusal(claims)
            if why is None:
                return AdminIdentity(claims.subject, claims.models, claims.scope, claims.jti)
            refusal = why  # a well-signed token's reason says more than a format hint
        raise UnauthorizedError(refusal or "credential is not valid")
