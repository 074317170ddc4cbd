"""The admin secret's accepted values, re-read at most every N seconds so a rotation is followed.

A rotation (the rotation function every AdminSecretRotationDays, ``service.secret_rotation``, or
``aws secretsmanager put-secret-value``) makes the new value current and the old one previous. A
container picks the new value up within ``refresh_seconds``; the previous value (as a bearer
credential, and the tokens its derived key signed) stays accepted for ``grace_seconds`` after
the new one was stored, so clients can switch, and is refused after. When the secret cannot be
re-read, credentials are refused (503): never checked on stale values.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from propensity.records import SecretVersions
from propensity.service.ports import SecretSource
from propensity.service.tokens import signing_key

MIN_SECRET_LENGTH = 16


@dataclass(frozen=True)
class SecretKey:
    """One accepted value of the secret, and the token-signing key derived from it."""

    secret: bytes
    signing: bytes


def _key(value: str) -> SecretKey:
    if len(value) < MIN_SECRET_LENGTH:
        raise ValueError(f"the admin secret must have at least {MIN_SECRET_LENGTH} characters")
    secret = value.encode()
    return SecretKey(secret, signing_key(secret))


class StaticSecret:
    """A secret given directly (ADMIN_TOKEN: the local run, the CLI, tests): never rotates."""

    def __init__(self, value: str) -> None:
        _key(value)  # too short: refused at once
        self._value = value

    def read(self) -> SecretVersions:
        return SecretVersions(self._value)


class AdminSecret:
    def __init__(
        self,
        source: SecretSource,
        *,
        refresh_seconds: float = 300.0,
        grace_seconds: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._source = source
        self._refresh = refresh_seconds
        self._grace = grace_seconds
        self._clock = clock
        self._current: SecretKey | None = None
        self._previous: SecretKey | None = None
        self._previous_until = 0.0
        self._read_at = 0.0
        self._reload()  # at cold start: a missing or short secret fails the function at once

    def _reload(self) -> None:
        versions = self._source.read()
        self._current = _key(versions.current)
        self._previous = _key(versions.previous) if versions.previous else None
        since = versions.current_since if versions.current_since is not None else self._clock()
        self._previous_until = since + self._grace
        self._read_at = self._clock()

    def accepted(self) -> tuple[SecretKey, ...]:
        """The values a credential may match now: the current, then the previous in its grace."""
        now = self._clock()
        if now - self._read_at >= self._refresh:
            self._reload()
        assert self._current is not None
        if self._previous is not None and now < self._previous_until:
            return (self._current, self._previous)
        return (self._current,)

    def current(self) -> SecretKey:
        """The value new tokens are signed with."""
        return self.accepted()[0]
