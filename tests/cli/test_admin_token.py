"""``propensity admin-token``: tokens for named models or --all-models, within the lifetime the
service accepts, for the stage they name."""

from __future__ import annotations

import re

import pytest

from propensity.cli import main
from propensity.errors import ForbiddenError, UnauthorizedError
from propensity.service.admin_auth import AdminAuthenticator
from propensity.service.tokens import audience

SECRET = "s" * 32


@pytest.fixture(autouse=True)
def admin_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_TOKEN", SECRET)
    for name in ("STAGE", "ADMIN_TOKEN_MAX_LIFETIME_SECONDS"):
        monkeypatch.delenv(name, raising=False)


def mint(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[str, str]:
    assert main(["admin-token", *args]) == 0
    captured = capsys.readouterr()
    return captured.out.strip(), captured.err


def test_admin_token_mints_an_expiring_model_scoped_token_and_says_its_id(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # When a token for bank is minted
    token, said = mint(capsys, "--subject", "alice", "--ttl", "60", "--model", "bank")
    # Then it is alice's, for bank only
    identity = AdminAuthenticator(SECRET).authenticate([token])
    assert identity.subject == "alice"
    identity.require("bank")
    with pytest.raises(ForbiddenError):
        identity.require("telecom")
    # And stderr names its id (what a revocation names), its audience and how to revoke it
    jti = re.search(r"token id \(jti\) ([0-9a-f]{32}), for propensity:dev", said)
    assert jti and jti.group(1) == identity.token_id
    assert f"POST /tokens/{identity.token_id}/revoke" in said
    # And without the secret nothing is minted
    monkeypatch.delenv("ADMIN_TOKEN")
    assert main(["admin-token", "--model", "bank"]) == 2


def test_admin_token_with_the_feedback_scope_only_sends_feedback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # When a feedback token is minted for a labelling client
    token, _ = mint(capsys, "--subject", "labeller", "--scope", "feedback", "--all-models")
    identity = AdminAuthenticator(SECRET).authenticate([token])
    # Then it may send feedback but not act as an admin
    assert (identity.subject, identity.scope) == ("labeller", "feedback")
    identity.require_scope("feedback")
    with pytest.raises(ForbiddenError, match="scoped to feedback"):
        identity.require_scope("admin")
    # And an unknown scope is refused by the parser, naming the choices
    with pytest.raises(SystemExit):
        main(["admin-token", "--scope", "root"])
    assert "invalid choice: 'root'" in capsys.readouterr().err


def test_no_model_named_is_an_error_and_every_model_must_be_asked_for(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # When no model is named
    assert main(["admin-token", "--subject", "ops"]) == 2
    # Then nothing is minted, and the error says how to name them
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--model NAME (repeatable), or --all-models" in captured.err
    # When --all-models is asked for, the token covers every model (any name)
    token, _ = mint(capsys, "--all-models")
    identity = AdminAuthenticator(SECRET).authenticate([token])
    assert identity.models is None
    identity.require("a-model-added-later")
    # And naming models and every model at once is refused by the parser
    with pytest.raises(SystemExit):
        main(["admin-token", "--model", "bank", "--all-models"])
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("ttl", "maximum", "minted"),
    [("86400", None, True), ("86401", None, False), ("0", None, False), ("7200", "3600", False)],
)
def test_a_lifetime_beyond_the_maximum_is_refused_when_minting(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    ttl: str,
    maximum: str | None,
    minted: bool,
) -> None:
    # Given the maximum lifetime the service enforces (24 h unless set)
    if maximum:
        monkeypatch.setenv("ADMIN_TOKEN_MAX_LIFETIME_SECONDS", maximum)
    # When a token is asked for with that ttl
    code = main(["admin-token", "--ttl", ttl, "--model", "bank"])
    captured = capsys.readouterr()
    # Then it is minted within the maximum, and refused beyond it, saying the limit
    assert code == (0 if minted else 2), captured.err
    if not minted:
        assert captured.out == ""
        assert f"a token lives {'1 to ' if ttl == '0' else 'at most '}" in captured.err
        assert (maximum or "86400") in captured.err


def test_the_token_names_its_stage_and_another_stage_refuses_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # When tokens are minted for the prod stage (by flag, and by STAGE)
    by_flag, said = mint(capsys, "--stage", "prod", "--all-models")
    monkeypatch.setenv("STAGE", "prod")
    by_env, _ = mint(capsys, "--all-models")
    assert "for propensity:prod" in said
    for token in (by_flag, by_env):
        # Then prod accepts them and dev refuses them, naming the audience
        AdminAuthenticator(SECRET, audience=audience("prod")).authenticate([token])
        with pytest.raises(UnauthorizedError, match="is for 'propensity:prod'"):
            AdminAuthenticator(SECRET, audience=audience("dev")).authenticate([token])
