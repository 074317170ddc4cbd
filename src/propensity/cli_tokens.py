"""``propensity admin-token``: mint a signed admin or feedback token from the admin secret.

The token goes to stdout (for ``$(...)``); its id, audience and expiry go to stderr, with how
to revoke it.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from propensity.errors import PropensityError
from propensity.service.admin_auth import ALL_MODELS, DEFAULT_MAX_LIFETIME_SECONDS, SCOPES


class TokenSettings(BaseSettings):
    """What the functions check tokens against, from the same environment variables."""

    model_config = SettingsConfigDict(extra="ignore")

    admin_token: str = ""
    admin_token_max_lifetime_seconds: Annotated[int, Field(ge=60, le=30 * 86400)] = (
        DEFAULT_MAX_LIFETIME_SECONDS
    )
    stage: str = "dev"


def cmd_admin_token(args: argparse.Namespace, _settings: Any) -> int:
    """Mint an expiring admin or feedback token for named models (or --all-models)."""
    from propensity.service.admin_auth import AdminAuthenticator
    from propensity.service.tokens import audience

    try:
        settings = TokenSettings()
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"]
        raise PropensityError(f"ADMIN_TOKEN_MAX_LIFETIME_SECONDS: {reason}") from exc
    if not settings.admin_token:
        raise PropensityError("set ADMIN_TOKEN to the admin secret (AdminTokenSecretArn in AWS)")
    maximum = settings.admin_token_max_lifetime_seconds
    if args.ttl > maximum:
        raise PropensityError(
            f"--ttl {args.ttl}: a token lives at most {maximum} s "
            "(ADMIN_TOKEN_MAX_LIFETIME_SECONDS; the service refuses longer ones)"
        )
    if args.all_models == bool(args.model):
        raise PropensityError("name the models with --model NAME (repeatable), or --all-models")
    try:
        authenticator = AdminAuthenticator(
            settings.admin_token,
            audience=audience(args.stage or settings.stage),
            max_lifetime_seconds=maximum,
        )
        token, claims = authenticator.mint(
            args.subject, args.ttl, ALL_MODELS if args.all_models else args.model, args.scope
        )
    except ValueError as exc:
        raise PropensityError(str(exc)) from exc
    print(token)
    expires = datetime.fromtimestamp(claims.expires_at, UTC).isoformat()
    print(
        f"token id (jti) {claims.jti}, for {claims.audience}, expires {expires}; "
        f"revoke with POST /tokens/{claims.jti}/revoke",
        file=sys.stderr,
    )
    return 0


def add_token_command(commands: Any) -> None:
    token = commands.add_parser(
        "admin-token", help="mint an expiring admin or feedback token (needs ADMIN_TOKEN)"
    )
    token.add_argument(
        "--subject", default="operator", help="who the token is for (in the audit trail)"
    )
    token.add_argument(
        "--ttl",
        type=int,
        default=3600,
        help="seconds until it expires (at most ADMIN_TOKEN_MAX_LIFETIME_SECONDS, 86400)",
    )
    covered = token.add_mutually_exclusive_group()
    covered.add_argument("--model", action="append", help="a model it covers (repeatable)")
    covered.add_argument(
        "--all-models", action="store_true", help="it covers every model, present and future"
    )
    token.add_argument(
        "--scope",
        choices=SCOPES,
        default="admin",
        help="admin: every route (default); feedback: only the feedback routes",
    )
    token.add_argument("--stage", help="the stage it is for: its audience (default: $STAGE or dev)")
    token.set_defaults(handler=cmd_admin_token)
