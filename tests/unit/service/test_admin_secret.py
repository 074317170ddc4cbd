"""A rotated admin secret is followed within the refresh interval; the previous value is
accepted for the grace window after the rotation, and refused after it."""

from __future__ import annotations

import pytest

from propensity.errors import StorageError, UnauthorizedError
from propensity.service.admin_auth import AdminAuthenticator
from propensity.service.admin_secret import AdminSecret
from tests.support.fake_credentials import FakeSecret
from tests.unit.service.conftest import FakeClock

OLD = "old-admin-secret-0123456789"
NEW = "new-admin-secret-9876543210"


def accepts(auth: AdminAuthenticator, credential: str) -> bool:
    try:
        auth.authenticate([credential])
    except UnauthorizedError:
        return False
    return True


def test_a_rotated_secret_is_honoured_after_the_refresh_interval() -> None:
    # Given a container that read the secret at t=1000 (refresh 300 s, grace 3600 s)
    clock = FakeClock()
    source = FakeSecret(OLD, at=0.0)
    secret = AdminSecret(source, refresh_seconds=300, grace_seconds=3600, clock=clock)
    auth = AdminAuthenticator(secret, clock=clock)
    old_token = auth.issue("ops", 86_400, ["bank"])
    # When the secret is rotated at t=1100 (put-secret-value: AWSCURRENT new, AWSPREVIOUS old)
    clock.now = 1100
    source.rotate(NEW, at=1100)
    new_minter = AdminAuthenticator(NEW, clock=clock)
    new_token = new_minter.issue("ops", 86_400, ["bank"])
    # Then until the refresh interval has passed the container still knows only the old value
    clock.now = 1299
    assert (accepts(auth, NEW), accepts(auth, new_token)) == (False, False)
    assert source.reads == 1
    # And once it has, the new value and its tokens are accepted (re-read once)
    clock.now = 1300
    assert (accepts(auth, NEW), accepts(auth, new_token)) == (True, True)
    assert source.reads == 2
    # And new tokens are signed with the new value
    assert accepts(new_minter, auth.issue("ops", 600, ["bank"]))
    # And the old value and its tokens still work through the grace window after the rotation
    clock.now = 1100 + 3599
    assert (accepts(auth, OLD), accepts(auth, old_token)) == (True, True)
    # And are refused once it is over, while the new ones go on working
    clock.now = 1100 + 3600
    assert (accepts(auth, OLD), accepts(auth, old_token)) == (False, False)
    assert (accepts(auth, NEW), accepts(auth, new_token)) == (True, True)


def test_rotating_twice_retires_a_leaked_value_at_once() -> None:
    # Given a container following the secret every 0 s (each request re-reads it)
    clock = FakeClock()
    source = FakeSecret(OLD)
    auth = AdminAuthenticator(AdminSecret(source, refresh_seconds=0, clock=clock), clock=clock)
    # When a leaked value is rotated out twice in a row
    source.rotate("interim-secret-0123456789", at=clock.now)
    source.rotate(NEW, at=clock.now)
    # Then it is neither current nor previous: refused within the grace window already
    assert not accepts(auth, OLD)
    assert accepts(auth, NEW)


def test_a_secret_that_cannot_be_re_read_refuses_credentials_with_503() -> None:
    # Given a container whose refresh interval has passed while Secrets Manager is failing
    clock = FakeClock()
    source = FakeSecret(OLD)
    auth = AdminAuthenticator(AdminSecret(source, refresh_seconds=300, clock=clock), clock=clock)
    clock.now += 300
    source.fail = True
    # Then credentials are not checked against stale values
    with pytest.raises(StorageError):
        auth.authenticate([OLD])
    # And the next request after it recovers reads it again
    source.fail = False
    assert accepts(auth, OLD)


def test_a_secret_too_short_is_refused_at_cold_start() -> None:
    with pytest.raises(ValueError, match="at least 16 characters"):
        AdminSecret(FakeSecret("short"))
