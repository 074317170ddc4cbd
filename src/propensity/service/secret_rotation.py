"""The admin secret's rotation: Secrets Manager's four steps for a secret only this service uses.

Secrets Manager starts a rotation (on the schedule, or ``aws secretsmanager rotate-secret``) by
staging an empty version, named by the rotation's ``ClientRequestToken``, as ``AWSPENDING``,
then invokes the rotation function once per step with that token:

- ``createSecret`` stores a new random value in that version (once: a retry finds it there);
- ``setSecret`` has nothing to do (below);
- ``testSecret`` checks the stored value is one the functions accept as the admin secret;
- ``finishSecret`` checks it again (an empty or short value made current would lock every
  caller out) and moves ``AWSCURRENT`` to it; Secrets Manager moves ``AWSPREVIOUS`` to the old.

Every step first checks what AWS's rotation templates check: rotation is enabled on the secret,
and the token names a version staged ``AWSPENDING``. A version already ``AWSCURRENT`` ends any
step at once, so a step retried after the rotation finished changes nothing. The functions then
follow as after any rotation (``service.admin_secret``): each re-reads the secret within
``ADMIN_SECRET_REFRESH_SECONDS`` and accepts the previous value for ``ADMIN_SECRET_GRACE_SECONDS``
from the new version's creation (``createSecret``; the steps run seconds apart).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from propensity.errors import RotationError
from propensity.records import SecretStaging
from propensity.service.admin_secret import MIN_SECRET_LENGTH
from propensity.service.ports import RotatingSecret

CURRENT = "AWSCURRENT"
PENDING = "AWSPENDING"
# 36 random bytes: 48 URL-safe characters (288 bits), the length the template's first value has.
SECRET_BYTES = 36


class RotationStep(StrEnum):
    CREATE = "createSecret"
    SET = "setSecret"
    TEST = "testSecret"
    FINISH = "finishSecret"


@dataclass(frozen=True)
class StepOutcome:
    """What one step did (never the value): logged and returned by the rotation function."""

    step: RotationStep
    version_id: str
    done: str


def new_admin_secret() -> str:
    """A fresh admin secret: URL-safe, so it travels in a header as it is."""
    return secrets.token_urlsafe(SECRET_BYTES)


class SecretRotation:
    """Rotates the one secret it is given: an event naming another secret is refused."""

    def __init__(
        self,
        secret: RotatingSecret,
        *,
        secret_id: str,
        generate: Callable[[], str] = new_admin_secret,
    ) -> None:
        self._secret = secret
        self._secret_id = secret_id
        self._generate = generate

    def run(self, step: RotationStep, secret_id: str, token: str) -> StepOutcome:
        if secret_id != self._secret_id:
            raise RotationError(
                f"SecretId: this function rotates {self._secret_id}, not {secret_id}"
            )
        staging = self._secret.staging()
        if not staging.rotation_enabled:
            raise RotationError(f"SecretId: rotation is not enabled on {secret_id}")
        stages = staging.stages.get(token)
        if stages is None:
            raise RotationError(f"ClientRequestToken: the secret has no version {token}")
        if CURRENT in stages:
            return StepOutcome(step, token, "already current")
        if PENDING not in stages:
            raise RotationError(
                f"ClientRequestToken: version {token} is not staged {PENDING} "
                f"(its stages: {', '.join(stages) or 'none'})"
            )
        if step is RotationStep.CREATE:
            return self._create(token, staging)
        if step is RotationStep.SET:
            # Nothing outside Secrets Manager holds the admin secret: no database user or third
            # party to tell. The functions compare credentials with what they read from the
            # secret, and they read the new value only once finishSecret makes it current.
            return StepOutcome(step, token, "nothing to set: only this service uses the secret")
        if step is RotationStep.TEST:
            return self._test(token, staging)
        return self._finish(token, staging)

    def _current(self, staging: SecretStaging) -> str:
        current = staging.holding(CURRENT)
        if current is None:
            raise RotationError(f"the secret has no {CURRENT} version to rotate from")
        return current

    def _create(self, token: str, staging: SecretStaging) -> StepOutcome:
        if self._secret.value_at(self._current(staging), CURRENT) is None:
            raise RotationError(f"the secret's {CURRENT} version has no value")
        if self._secret.value_at(token, PENDING) is not None:
            return StepOutcome(RotationStep.CREATE, token, "pending value exists")
        self._secret.put_pending(token, self._generate())
        return StepOutcome(RotationStep.CREATE, token, "pending value stored")

    def _test(self, token: str, staging: SecretStaging) -> StepOutcome:
        self._check_pending(token, staging)
        return StepOutcome(RotationStep.TEST, token, "pending value is a valid admin secret")

    def _finish(self, token: str, staging: SecretStaging) -> StepOutcome:
        self._check_pending(token, staging)
        self._secret.make_current(token, replacing=self._current(staging))
        return StepOutcome(RotationStep.FINISH, token, "made current")

    def _check_pending(self, token: str, staging: SecretStaging) -> None:
        pending = self._secret.value_at(token, PENDING)
        if pending is None:
            raise RotationError(f"version {token} has no value: createSecret has not stored one")
        if len(pending) < MIN_SECRET_LENGTH:
            raise RotationError(
                f"the pending value has {len(pending)} characters; the admin secret needs at "
                f"least {MIN_SECRET_LENGTH}"
            )
        if pending == self._secret.value_at(self._current(staging), CURRENT):
            raise RotationError("the pending value is the current one: nothing would rotate")
