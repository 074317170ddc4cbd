"""RotateFunction: Secrets Manager invokes it once per step of a rotation of the admin secret.

The event becomes a typed value here, at the edge: a missing or unknown step, secret or token is
refused naming the field. A refused event or a failed step raises, so the invocation fails and
Secrets Manager records the rotation as failed (RotateErrorsAlarm); nothing is half-changed,
since each step is one call that a retry repeats harmlessly (``service.secret_rotation``).
"""

# No ``from __future__ import annotations``: pydantic resolves RotationEvent's annotations
# when the class is made, which postponed ones defeat in a module that is not in sys.modules
# (how the tests and the local runtime load a handler file).
from dataclasses import asdict
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from propensity.errors import InvalidInputError, PropensityError
from propensity.observability import logger, observed
from propensity.roots.rotate import secret_rotation
from propensity.service.secret_rotation import RotationStep
from propensity.settings import RotateSettings

settings = RotateSettings()  # type: ignore[call-arg]  # values come from the environment
rotation = secret_rotation(settings)


class RotationEvent(BaseModel):
    """What Secrets Manager sends: the step, the secret's ARN, the new version's id."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    step: RotationStep = Field(alias="Step")
    secret_id: str = Field(alias="SecretId", min_length=1)
    # Secrets Manager's version ids (ClientRequestToken) are 32 to 64 characters.
    token: str = Field(alias="ClientRequestToken", min_length=32, max_length=64)


def parse(event: Any) -> RotationEvent:
    try:
        return RotationEvent.model_validate(event)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "event"
        raise InvalidInputError(field, first["msg"]) from exc


@observed
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        parsed = parse(event)
        outcome = rotation.run(parsed.step, parsed.secret_id, parsed.token)
    except PropensityError as exc:
        logger.error("rotation step refused", extra={"reason": str(exc)})
        raise
    logger.info("rotation step done", extra={"outcome": asdict(outcome)})
    return asdict(outcome)
