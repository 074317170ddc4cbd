"""Revoked token ids: recorded by an admin, checked on every signed token, cached per container.

The check must be cheap, so each container keeps the set of revoked ids and re-reads it at most
every ``refresh_seconds`` (the admin function that records a revocation knows it at once; the
others within the interval). Only revocations younger than the maximum token lifetime (plus
the clock skew allowed) are read: a token revoked earlier than that has expired anyway (it was
minted before it was revoked, and no token lives longer), so the set stays as small as the
tokens still alive. When the list cannot be re-read, signed tokens are refused (503): a revoked
token is never let through on a stale list.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from propensity.clock import iso
from propensity.records import TokenRevocation
from propensity.service.ports import RevocationStore
from propensity.service.tokens import CLOCK_SKEW_SECONDS

MAX_REASON = 500


class RevocationList:
    def __init__(
        self,
        store: RevocationStore,
        *,
        max_lifetime_seconds: int,
        refresh_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._max_lifetime = max_lifetime_seconds
        self._refresh = refresh_seconds
        self._clock = clock
        self._revoked: set[str] = set()
        self._read_at: float | None = None

    def is_revoked(self, jti: str) -> bool:
        now = self._clock()
        if self._read_at is None or now - self._read_at >= self._refresh:
            since = int(now) - self._max_lifetime - CLOCK_SKEW_SECONDS
            self._revoked = {r.jti for r in self._store.since(since)}
            self._read_at = now
        return jti in self._revoked

    def revoke(self, jti: str, *, actor: str, reason: str = "") -> tuple[TokenRevocation, bool]:
        """Refuse the token ``jti`` from now on; a second revocation returns the first."""
        now = self._clock()
        revocation = TokenRevocation(
            jti=jti,
            revoked_at=iso(datetime.fromtimestamp(now, UTC)),
            revoked_epoch=int(now),
            actor=actor,
            reason=reason[:MAX_REASON],
        )
        stored, created = self._store.add(revocation)
        self._revoked.add(jti)
        return stored, created
