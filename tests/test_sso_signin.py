"""The token policy (`shellvault.sso_token.SignIns`) and both browser flows against the
stand-in IAM Identity Center: a real server process, a real `$BROWSER` program, the
encrypted file store."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from shellvault.errors import SignInNeeded
from shellvault.sso import SsoTarget
from shellvault.sso_token import SignIns
from shellvault.vault import Vault, open_store
from tests.conftest import SvHome
from tests.sso_harness import (
    SESSION,
    SSO_REGION,
    START_URL,
    SsoServer,
    browser_tabs,
    sso_home,
    sso_server,
)

__all__ = ["sso_home", "sso_server"]

TARGET = SsoTarget(SESSION, START_URL, SSO_REGION, ("sso:account:access",))
LEGACY = SsoTarget(None, START_URL, SSO_REGION, ())


@pytest.fixture
def signins(sso_home: SvHome, monkeypatch: pytest.MonkeyPatch) -> Iterator[SignIns]:
    sso_home.apply(monkeypatch)
    from shellvault import vault as vault_module

    monkeypatch.setattr(vault_module, "_opened", {})  # a store per test user
    yield SignIns(Vault(open_store(os.environ)), os.environ)


def test_auth_code_flow_once_then_reused(signins: SignIns, sso_home: SvHome,
                                         sso_server: SsoServer) -> None:
    token = signins.token(TARGET, subject=SESSION)
    assert token.refresh_token and token.registration.grant_types == (
        "authorization_code", "refresh_token")
    tabs = browser_tabs(sso_home)
    assert len(tabs) == 1 and "/authorize?" in tabs[0] and "code_challenge_method=S256" in tabs[0]
    again = signins.token(TARGET, subject=SESSION, no_input=True)
    assert again.access_token == token.access_token
    assert sso_server.stats()["approvals"] == 1
    assert sso_server.stats()["CreateToken:authorization_code"] == 1


def test_refresh_instead_of_a_new_sign_in(signins: SignIns, sso_home: SvHome,
                                          sso_server: SsoServer) -> None:
    sso_server.control("settings", {"token_seconds": 600})  # inside the 15-minute window
    first = signins.token(TARGET, subject=SESSION)
    second = signins.token(TARGET, subject=SESSION, no_input=True)
    assert second.access_token != first.access_token
    stats = sso_server.stats()
    assert stats["CreateToken:refresh_token"] == 1 and stats["approvals"] == 1
    assert len(browser_tabs(sso_home)) == 1


def test_ended_session_needs_sign_in_without_input(signins: SignIns, sso_home: SvHome,
                                                   sso_server: SsoServer) -> None:
    first = signins.token(TARGET, subject="sso-a")
    sso_server.control("end-sessions", {})
    with pytest.raises(SignInNeeded) as needed:
        signins.token(TARGET, subject="sso-a", no_input=True, rejected=first)
    assert str(needed.value) == ("the IAM Identity Center session corp has ended: run "
                                 "'shellvault sso login sso-a'")
    assert needed.value.exit_code == 5
    assert len(browser_tabs(sso_home)) == 1  # never a browser without being asked
    # The dead refresh token was dropped: the next call says so without a network call.
    before = sso_server.stats().get("CreateToken:refresh_token", 0)
    with pytest.raises(SignInNeeded):
        signins.token(TARGET, subject="sso-a", no_input=True, rejected=first)
    assert sso_server.stats().get("CreateToken:refresh_token", 0) == before


def test_device_flow_honours_slow_down(signins: SignIns, sso_home: SvHome,
                                       sso_server: SsoServer) -> None:
    sso_server.control("settings", {"slow_down_first": 1})
    token = signins.token(LEGACY, subject="legacy-a")
    tabs = browser_tabs(sso_home)
    assert len(tabs) == 1 and "/device?user_code=" in tabs[0]
    stats = sso_server.stats()
    # The stand-in answered slow_down once and then wants 5 s more between polls (RFC
    # 8628): a client that did not slow down would have drawn a second slow_down.
    assert stats["slow_down"] == 1
    assert stats["tokens_issued"] == 1
    assert token.refresh_token is None  # the legacy form gets no refresh token
