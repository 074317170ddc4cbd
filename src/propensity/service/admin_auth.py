"""Credentials checked inside the service: the admin secret, or short-lived signed tokens.

A token is ``pa1.<payload>.<signature>``: base64url JSON ``{"sub", "exp", "models", "scope"}``
signed with HMAC-SHA256 under the admin secret, so operators can hand out expiring, model-scoped
credentials without sharing the secret itself (``propensity admin-token``).

Scopes: ``admin`` (every route; tokens minted before scopes existed are admin tokens) and
``feedback`` (only the feedback routes: a labelling client can teach the model but cannot promote,
roll back or upload).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from propensity.errors import ForbiddenError, UnauthorizedError

TOKEN_PREFIX = "pa1"  # noqa: S105 (a format marker, not a credential)
MIN_SECRET_LENGTH = 16
Scope = Literal["admin", "feedback"]
SCOPES: tuple[Scope, ...] = get_args(Scope)


@dataclass(frozen=True)
class AdminIdentity:
    """Who presented a credential, for which models, and what it may do."""

    subject: str
    models: tuple[str, ...] | None  # None: every model
    scope: Scope = "admin"

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


ANONYMOUS = AdminIdentity("anonymous", None, "feedback")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class AdminAuthenticator:
    def __init__(self, secret: str, *, clock: Callable[[], float] = time.time) -> None:
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"the admin secret must have at least {MIN_SECRET_LENGTH} characters")
        self._secret = secret.encode()
        self._clock = clock

    def _sign(self, message: str) -> str:
        return _b64(hmac.new(self._secret, message.encode(), hashlib.sha256).digest())

    def issue(
        self,
        subject: str,
        ttl_seconds: int,
        models: Sequence[str] | None = None,
        scope: Scope = "admin",
    ) -> str:
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
        payload = {
            "sub": subject,
            "exp": int(self._clock()) + ttl_seconds,
            "models": list(models) if models else None,
            "scope": scope,
        }
        body = f"{TOKEN_PREFIX}.{_b64(json.dumps(payload, separators=(',', ':')).encode())}"
        return f"{body}.{self._sign(body)}"

    def authenticate(self, candidates: Sequence[str | None]) -> AdminIdentity:
        """The identity of the first valid credential among ``candidates`` (header values)."""
        presented = [c.strip() for c in candidates if c and c.strip()]
        if not presented:
            raise UnauthorizedError(
                "credential required (Authorization: Bearer … or X-Admin-Token)"
            )
        expired = False
        for token in presented:
            if hmac.compare_digest(token.encode(), self._secret):
                return AdminIdentity("admin", None)
            parts = token.split(".")
            if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
                continue
            body = f"{parts[0]}.{parts[1]}"
            # Compared as bytes: header values are latin-1 text, and compare_digest refuses
            # str arguments with non-ASCII characters (a TypeError, i.e. a 500, not a 401).
            if not hmac.compare_digest(self._sign(body).encode(), parts[2].encode()):
                continue
            try:
                payload = json.loads(_unb64(parts[1]))
                subject, expires = str(payload["sub"]), int(payload["exp"])
                models = payload.get("models")
                scope = payload.get("scope", "admin")
            except (ValueError, KeyError, TypeError):
                continue
            if scope not in SCOPES:
                continue
            if expires <= self._clock():
                expired = True
                continue
            return AdminIdentity(subject, tuple(models) if models else None, scope)
        raise UnauthorizedError("credential expired" if expired else "credential is not valid")
