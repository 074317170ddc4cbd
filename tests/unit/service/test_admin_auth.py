"""Signed tokens: a derived signing key, a bounded lifetime, an audience, explicit models, and
revocation by id that every container honours within its refresh interval."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from propensity.errors import StorageError, UnauthorizedError
from propensity.service.admin_auth import ALL_MODELS, AdminAuthenticator
from propensity.service.revocations import RevocationList
from propensity.service.tokens import CLOCK_SKEW_SECONDS, TokenClaims, audience, encode, signing_key
from tests.support.fake_credentials import FakeRevocations
from tests.unit.service.conftest import FakeClock

SECRET = "unit-admin-secret-0123456789"
DAY = 86_400


def claims(**changes: object) -> TokenClaims:
    values: dict[str, object] = {
        "jti": "0" * 32,
        "subject": "ops",
        "audience": audience("dev"),
        "issued_at": 1000,
        "expires_at": 1000 + 3600,
        "models": ("bank",),
        "scope": "admin",
    }
    values.update(changes)
    return TokenClaims(**values)  # type: ignore[arg-type]


def authenticator(clock: FakeClock, **kwargs: object) -> AdminAuthenticator:
    return AdminAuthenticator(SECRET, clock=clock, **kwargs)  # type: ignore[arg-type]


def refusal(auth: AdminAuthenticator, token: str) -> str:
    with pytest.raises(UnauthorizedError) as refused:
        auth.authenticate([token])
    return str(refused.value)


def test_tokens_are_signed_with_a_derived_key_so_one_signed_with_the_raw_secret_is_refused() -> (
    None
):
    # Given the service's authenticator (it signs with a key derived from the secret)
    clock = FakeClock()
    auth = authenticator(clock)
    # When the same claims are signed with the key derived from the secret, and with the secret
    derived = encode(claims(), signing_key(SECRET.encode()))
    raw = encode(claims(), SECRET.encode())
    # Then only the derived key's token is accepted; the raw secret's is not valid
    assert auth.authenticate([derived]).subject == "ops"
    assert refusal(auth, raw) == "credential is not valid"
    # And the derived key is neither the secret nor its plain hash
    assert signing_key(SECRET.encode()) not in (
        SECRET.encode(),
        hashlib.sha256(SECRET.encode()).digest(),
    )


def test_a_token_of_the_retired_format_is_refused_with_a_hint() -> None:
    # Given a token as the first format made it: signed under the raw secret
    payload = base64.urlsafe_b64encode(
        json.dumps({"sub": "ops", "exp": 10**10, "models": None, "scope": "admin"}).encode()
    )
    body = f"pa1.{payload.rstrip(b'=').decode()}"
    mac = hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).digest()
    old = f"{body}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    # When it is presented, Then it is refused, saying how to get a new one
    assert "retired format (pa1): mint a new one" in refusal(authenticator(FakeClock()), old)


@pytest.mark.parametrize(
    ("lifetime", "accepted"), [(DAY, True), (DAY + 1, False), (3650 * DAY, False)]
)
def test_a_token_living_longer_than_the_maximum_is_refused_whatever_its_expiry(
    lifetime: int, accepted: bool
) -> None:
    # Given an authenticator with the default maximum lifetime (24 h)
    clock = FakeClock()
    auth = authenticator(clock)
    # When a well-signed token lives `lifetime` seconds (minted where no limit applied)
    token = encode(claims(issued_at=1000, expires_at=1000 + lifetime), signing_key(SECRET.encode()))
    # Then it is accepted up to 24 h, and refused beyond, saying why
    if accepted:
        assert auth.authenticate([token]).subject == "ops"
    else:
        assert refusal(auth, token) == (
            f"credential lives {lifetime} s, more than the maximum token lifetime of {DAY} s"
        )
    # And minting one that long is refused outright
    if not accepted:
        with pytest.raises(ValueError, match=f"a token lives 1 to {DAY} s"):
            auth.issue("ops", lifetime, ["bank"])


def test_a_token_issued_in_the_future_is_refused() -> None:
    # Given a token whose iat is further ahead than the clock skew allowed (so its short
    # lifetime would otherwise start years from now)
    clock = FakeClock()
    start = int(clock.now) + CLOCK_SKEW_SECONDS + 1
    future = encode(claims(issued_at=start, expires_at=start + 60), signing_key(SECRET.encode()))
    within_skew = encode(
        claims(issued_at=int(clock.now) + 60, expires_at=int(clock.now) + 120),
        signing_key(SECRET.encode()),
    )
    auth = authenticator(clock)
    # Then it is refused, while one within the skew is accepted
    assert refusal(auth, future) == "credential is issued in the future"
    assert auth.authenticate([within_skew]).subject == "ops"


def test_a_token_for_another_stage_is_refused_naming_its_audience() -> None:
    clock = FakeClock()
    prod = AdminAuthenticator(SECRET, audience=audience("prod"), clock=clock)
    token = prod.issue("ops", 600, ALL_MODELS)
    assert prod.authenticate([token]).subject == "ops"
    assert refusal(authenticator(clock), token) == (
        "credential is for 'propensity:prod', not 'propensity:dev'"
    )


@pytest.mark.parametrize("models", [[], (), "bank", [""]])
def test_an_empty_model_list_never_means_every_model(models: object) -> None:
    # When a token is minted without naming a model (or with a bare string)
    auth = authenticator(FakeClock())
    with pytest.raises(ValueError, match="name the models the token covers"):
        auth.issue("ops", 600, models)  # type: ignore[arg-type]
    # And a well-signed token whose model list is empty is not valid either
    empty = encode(claims(models=()), signing_key(SECRET.encode()))
    assert refusal(auth, empty) == "credential is not valid"
    # While every model must be asked for by name
    assert auth.authenticate([auth.issue("ops", 600, ALL_MODELS)]).models is None


def test_a_revoked_token_is_refused_at_once_where_revoked_and_elsewhere_after_the_interval() -> (
    None
):
    # Given two containers (admin and feedback) over one revocation store, 60 s refresh
    clock = FakeClock()
    store = FakeRevocations()

    def container() -> AdminAuthenticator:
        revocations = RevocationList(
            store, max_lifetime_seconds=DAY, refresh_seconds=60, clock=clock
        )
        return authenticator(clock, revocations=revocations)

    admin, feedback = container(), container()
    token, minted = admin.mint("vendor-7", 3600, ["bank"], scope="feedback")
    assert feedback.authenticate([token]).token_id == minted.jti
    # When an admin revokes it
    revocation, created = admin.revoke(minted.jti, actor="ops", reason="laptop lost")
    assert created and (revocation.actor, revocation.reason) == ("ops", "laptop lost")
    # Then the admin container refuses it at once
    assert refusal(admin, token) == "credential was revoked"
    # And the other container within its refresh interval (one read per interval: cheap)
    reads = store.reads
    clock.now += 59
    assert feedback.authenticate([token]).subject == "vendor-7"
    clock.now += 1
    assert refusal(feedback, token) == "credential was revoked"
    assert store.reads == reads + 1
    # And other tokens and the secret itself still work
    assert feedback.authenticate([admin.issue("other", 600, ["bank"])]).subject == "other"
    assert feedback.authenticate([SECRET]).subject == "admin"
    # And revoking again returns the first revocation
    again, created = admin.revoke(minted.jti, actor="someone-else")
    assert not created and again.actor == "ops"


def test_only_revocations_a_live_token_could_match_are_read() -> None:
    # Given a revocation list with a 24 h maximum lifetime
    clock = FakeClock()
    clock.now = 10 * DAY
    store = FakeRevocations()
    revocations = RevocationList(store, max_lifetime_seconds=DAY, refresh_seconds=0, clock=clock)
    old, _ = revocations.revoke("a" * 32, actor="ops")
    clock.now += DAY + CLOCK_SKEW_SECONDS + 1
    recent, _ = revocations.revoke("b" * 32, actor="ops")
    # When it is re-read, Then a revocation older than any live token is left out
    assert revocations.is_revoked(recent.jti)
    assert not revocations.is_revoked(old.jti)


def test_tokens_are_refused_with_503_when_revocations_cannot_be_read() -> None:
    # Given revocations that cannot be read
    clock = FakeClock()
    store = FakeRevocations()
    store.fail = True
    revocations = RevocationList(store, max_lifetime_seconds=DAY, clock=clock)
    auth = authenticator(clock, revocations=revocations)
    # Then a signed token is not let through on an unknown list
    with pytest.raises(StorageError):
        auth.authenticate([auth.issue("ops", 600, ["bank"])])
    # While the secret itself (which no revocation names) still works
    assert auth.authenticate([SECRET]).subject == "admin"
