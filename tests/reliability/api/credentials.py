"""The credentials the access suite presents: good ones for bank, and every way one can be bad.

Tokens are minted when the module is imported and used up to a whole test session later (CI on
a slow machine: > 10 min), so they live the maximum 24 h; expiry has its own case.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from propensity.service.admin_auth import ALL_MODELS, AdminAuthenticator
from propensity.service.tokens import TokenClaims, audience, encode, signing_key
from tests.functions.conftest import ADMIN_TOKEN

AUTH = AdminAuthenticator(ADMIN_TOKEN)
TOKEN_SECONDS = 24 * 3600
BANK_TOKEN = {"X-Admin-Token": AUTH.issue("bank-ops", TOKEN_SECONDS, models=["bank"])}
TELECOM_TOKEN = {"X-Admin-Token": AUTH.issue("telecom-ops", TOKEN_SECONDS, models=["telecom"])}
BANK_LABELLER = {
    "X-Admin-Token": AUTH.issue("bank-labels", TOKEN_SECONDS, models=["bank"], scope="feedback")
}
# A bank token an admin revoked (the module's first fixture revokes it through the route).
REVOKED, REVOKED_CLAIMS = AUTH.mint("bank-leaked", TOKEN_SECONDS, ["bank"])


def _tampered_scope() -> str:
    """A telecom-scoped token whose payload was rewritten to cover bank, signature kept."""
    prefix, _, signature = TELECOM_TOKEN["X-Admin-Token"].split(".")
    bank_payload = BANK_TOKEN["X-Admin-Token"].split(".")[1]
    return f"{prefix}.{bank_payload}.{signature}"


def _claims(**changes: Any) -> TokenClaims:
    """Claims for bank, as the service mints them, with ``changes``."""
    now = int(time.time())
    values: dict[str, Any] = {
        "jti": "1" * 32,
        "subject": "ops",
        "audience": audience("dev"),
        "issued_at": now,
        "expires_at": now + 600,
        "models": ("bank",),
        "scope": "admin",
        **changes,
    }
    return TokenClaims(**values)


def _retired_format() -> str:
    """A token as the first format made it: pa1, signed under the raw secret."""
    payload = json.dumps({"sub": "ops", "exp": 2**40, "models": None, "scope": "admin"})
    body = f"pa1.{base64.urlsafe_b64encode(payload.encode()).rstrip(b'=').decode()}"
    mac = hmac.new(ADMIN_TOKEN.encode(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


KEY = signing_key(ADMIN_TOKEN.encode())
TEN_DAYS = 10 * 86_400


# (name, headers, status, what the answer says)
CREDENTIALS: list[tuple[str, dict[str, str], int, str]] = [
    ("missing", {}, 401, "required"),
    ("empty bearer", {"Authorization": "Bearer "}, 401, "required"),
    ("wrong scheme", {"Authorization": f"Basic {ADMIN_TOKEN}"}, 401, "required"),
    ("wrong bearer", {"Authorization": "Bearer not-the-admin-secret"}, 401, "not valid"),
    ("wrong X-Admin-Token", {"X-Admin-Token": "x" * 40}, 401, "not valid"),
    ("secret prefix", {"X-Admin-Token": ADMIN_TOKEN[:-1]}, 401, "not valid"),
    ("secret plus a byte", {"X-Admin-Token": ADMIN_TOKEN + "0"}, 401, "not valid"),
    ("malformed token", {"X-Admin-Token": "pa2.."}, 401, "not valid"),
    ("malformed old token", {"X-Admin-Token": "pa1.."}, 401, "not valid"),
    ("non-ASCII signature", {"X-Admin-Token": "pa2.e30.\u00e9\u00e9"}, 401, "not valid"),
    (
        "signed with another secret",
        {
            "X-Admin-Token": AdminAuthenticator("another-secret-0123456789").issue(
                "eve", TOKEN_SECONDS, ALL_MODELS
            )
        },
        401,
        "not valid",
    ),
    ("tampered scope", {"X-Admin-Token": _tampered_scope()}, 401, "not valid"),
    (
        "signed with the raw secret",
        {"X-Admin-Token": encode(_claims(), ADMIN_TOKEN.encode())},
        401,
        "not valid",
    ),
    ("retired format (pa1)", {"X-Admin-Token": _retired_format()}, 401, "retired format"),
    (
        "no model named",
        {"X-Admin-Token": encode(_claims(models=()), KEY)},
        401,
        "not valid",
    ),
    (
        "over-long (10 days)",
        {
            "X-Admin-Token": AdminAuthenticator(ADMIN_TOKEN, max_lifetime_seconds=TEN_DAYS).issue(
                "ops", TEN_DAYS, ALL_MODELS
            )
        },
        401,
        "more than the maximum token lifetime of 86400 s",
    ),
    (
        "issued in the future",
        {"X-Admin-Token": encode(_claims(issued_at=2**40, expires_at=2**40 + 60), KEY)},
        401,
        "issued in the future",
    ),
    (
        "another stage's",
        {
            "X-Admin-Token": AdminAuthenticator(ADMIN_TOKEN, audience=audience("prod")).issue(
                "ops", TOKEN_SECONDS, ALL_MODELS
            )
        },
        401,
        "is for 'propensity:prod'",
    ),
    ("revoked", {"X-Admin-Token": REVOKED}, 401, "credential was revoked"),
    (
        "expired",
        {
            "Authorization": "Bearer "
            + AdminAuthenticator(ADMIN_TOKEN, clock=lambda: time.time() - 7200).issue(
                "ops", 60, ALL_MODELS
            )
        },
        401,
        "expired",
    ),
    ("scoped to another model", TELECOM_TOKEN, 403, "does not cover"),
]
# A labelling client's token may send feedback and nothing else.
FEEDBACK_ONLY = ("scoped to feedback", BANK_LABELLER, 403, "scoped to feedback")
