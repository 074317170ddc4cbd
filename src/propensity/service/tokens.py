"""The signed token format, and the key that signs it.

A token is ``pa2.<payload>.<signature>``: base64url JSON claims, signed with HMAC-SHA256 under
a key *derived* from the admin secret (HKDF, RFC 5869, with a purpose label), never under the
secret itself: the secret is also a bearer credential, and one value doing both jobs means a
MAC computed with it for any other purpose would be a valid token.

Claims: ``jti`` (the token's id, what a revocation names), ``sub`` (who it is for, in the
audit trail), ``aud`` (the service and stage it is for), ``iat`` and ``exp`` (seconds),
``models`` (a non-empty list of model names, or ``"*"`` for every model: an empty list never
means "all") and ``scope``. Whether a well-signed token is acceptable now (expiry, lifetime,
audience, revocation) is the authenticator's decision, not the format's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any, Literal, get_args

TOKEN_PREFIX = "pa2"  # noqa: S105 (a format marker, not a credential)
# Signed under the raw secret: no longer verifiable, refused with a hint to mint a new one.
RETIRED_PREFIXES = ("pa1",)
ALL_MODELS = "*"
Scope = Literal["admin", "feedback"]
SCOPES: tuple[Scope, ...] = get_args(Scope)
JTI_PATTERN = r"^[0-9a-f]{32}$"
# How far a minting machine's clock may run ahead of the service's (an ``iat`` in the future).
CLOCK_SKEW_SECONDS = 300
# HKDF's salt and info: change the label and every token ever minted stops verifying.
_SALT = b"propensity"
_PURPOSE = b"propensity admin-token signing key v2"


def signing_key(secret: bytes) -> bytes:
    """HKDF-SHA256 (extract, then one block of expand) of the secret for the purpose label."""
    pseudo_random = hmac.new(_SALT, secret, hashlib.sha256).digest()
    return hmac.new(pseudo_random, _PURPOSE + b"\x01", hashlib.sha256).digest()


def audience(stage: str) -> str:
    """What a token for this service and stage names as its ``aud``."""
    return f"propensity:{stage}"


@dataclass(frozen=True)
class TokenClaims:
    jti: str
    subject: str
    audience: str
    issued_at: int
    expires_at: int
    models: tuple[str, ...] | None  # None: every model ("*")
    scope: Scope

    @property
    def lifetime(self) -> int:
        return self.expires_at - self.issued_at

    def payload(self) -> dict[str, Any]:
        return {
            "jti": self.jti,
            "sub": self.subject,
            "aud": self.audience,
            "iat": self.issued_at,
            "exp": self.expires_at,
            "models": ALL_MODELS if self.models is None else list(self.models),
            "scope": self.scope,
        }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, message: str) -> str:
    return _b64(hmac.new(key, message.encode(), hashlib.sha256).digest())


def encode(claims: TokenClaims, key: bytes) -> str:
    """The token for ``claims``, signed with ``key`` (a ``signing_key``)."""
    payload = json.dumps(claims.payload(), separators=(",", ":")).encode()
    body = f"{TOKEN_PREFIX}.{_b64(payload)}"
    return f"{body}.{_mac(key, body)}"


def is_retired(token: str) -> bool:
    """Shaped like a token of a retired format (its signature is not checked)."""
    parts = token.split(".")
    return len(parts) == 3 and parts[0] in RETIRED_PREFIXES and all(parts)


def decode(token: str, keys: tuple[bytes, ...]) -> TokenClaims | None:
    """The claims of a token signed with one of ``keys``; None for anything else."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    body = f"{parts[0]}.{parts[1]}"
    # Compared as bytes: header values are latin-1 text, and compare_digest refuses str
    # arguments with non-ASCII characters (a TypeError, i.e. a 500, not a 401).
    presented = parts[2].encode()
    if not any(hmac.compare_digest(_mac(key, body).encode(), presented) for key in keys):
        return None
    try:
        payload = json.loads(_unb64(parts[1]))
        return _claims(payload)
    except (ValueError, KeyError, TypeError):
        return None


def _claims(payload: dict[str, Any]) -> TokenClaims | None:
    models = payload["models"]
    if models == ALL_MODELS:
        covered = None
    elif isinstance(models, list) and models and all(isinstance(m, str) and m for m in models):
        covered = tuple(models)
    else:  # an empty or malformed list covers nothing, and is not a token we mint
        return None
    jti, scope = payload["jti"], payload["scope"]
    if not isinstance(jti, str) or not re.fullmatch(JTI_PATTERN, jti) or scope not in SCOPES:
        return None
    numbers = [payload["iat"], payload["exp"]]
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
        return None
    return TokenClaims(
        jti=jti,
        subject=str(payload["sub"]),
        audience=str(payload["aud"]),
        issued_at=numbers[0],
        expires_at=numbers[1],
        models=covered,
        scope=scope,
    )
