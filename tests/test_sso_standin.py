"""The stand-in IAM Identity Center speaks the real wire format: botocore's own ``sso-oidc``
and ``sso`` clients (their service models) drive it, errors arrive as the modeled
exception classes, and the role credentials it hands out work against moto."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.sso_harness import ASSIGNMENTS, SSO_REGION, START_URL, SsoServer, sso_server
from tests.world import ACCOUNT_A, ACCOUNT_B, World

__all__ = ["sso_server"]

DEVICE = "urn:ietf:params:oauth:grant-type:device_code"


def _client(server: SsoServer, service: str) -> Any:
    import botocore
    import botocore.config
    import botocore.session

    session = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    return session.create_client(service, region_name=SSO_REGION, endpoint_url=server.url,
                                 config=botocore.config.Config(
                                     signature_version=botocore.UNSIGNED,
                                     retries={"max_attempts": 1}))


def _approve(url: str) -> None:
    subprocess.run([sys.executable, str(REPO_ROOT / "tests" / "sso_browser.py"), url],
                   check=True, timeout=30)


@pytest.fixture
def standin(sso_server: SsoServer) -> SsoServer:
    sso_server.reset()
    return sso_server


def _device_token(oidc: Any, scopes: list[str] | None = None) -> tuple[dict[str, Any], Any]:
    kwargs: dict[str, Any] = {"clientName": "t", "clientType": "public"}
    if scopes:
        kwargs["scopes"] = scopes
    reg = oidc.register_client(**kwargs)
    dev = oidc.start_device_authorization(clientId=reg["clientId"],
                                          clientSecret=reg["clientSecret"], startUrl=START_URL)
    return reg, dev


def test_device_flow_pending_then_token(standin: SsoServer) -> None:
    oidc = _client(standin, "sso-oidc")
    reg, dev = _device_token(oidc, ["sso:account:access"])
    assert dev["interval"] == 1 and dev["expiresIn"] == 600
    assert dev["verificationUriComplete"].endswith(dev["userCode"])
    args = dict(grantType=DEVICE, clientId=reg["clientId"], clientSecret=reg["clientSecret"],
                deviceCode=dev["deviceCode"])
    with pytest.raises(oidc.exceptions.AuthorizationPendingException) as pending:
        oidc.create_token(**args)
    assert pending.value.response["error"] == "authorization_pending"
    with pytest.raises(oidc.exceptions.SlowDownException):
        oidc.create_token(**args)  # polled again at once: faster than the interval
    # A second request, approved before its first poll: the token at once.
    dev = oidc.start_device_authorization(clientId=reg["clientId"],
                                          clientSecret=reg["clientSecret"], startUrl=START_URL)
    args["deviceCode"] = dev["deviceCode"]
    _approve(dev["verificationUriComplete"])
    token = oidc.create_token(**args)
    assert token["accessToken"] and token["refreshToken"] and token["expiresIn"] == 28800
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(**args)  # a device code is exchanged once

    refreshed = oidc.create_token(grantType="refresh_token", clientId=reg["clientId"],
                                  clientSecret=reg["clientSecret"],
                                  refreshToken=token["refreshToken"])
    assert refreshed["accessToken"] != token["accessToken"]
    with pytest.raises(oidc.exceptions.InvalidGrantException):  # rotated
        oidc.create_token(grantType="refresh_token", clientId=reg["clientId"],
                          clientSecret=reg["clientSecret"], refreshToken=token["refreshToken"])


def test_legacy_registration_gets_no_refresh_token_and_codes_expire(standin: SsoServer) -> None:
    oidc = _client(standin, "sso-oidc")
    reg, dev = _device_token(oidc)
    _approve(dev["verificationUriComplete"])
    token = oidc.create_token(grantType=DEVICE, clientId=reg["clientId"],
                              clientSecret=reg["clientSecret"], deviceCode=dev["deviceCode"])
    assert "refreshToken" not in token
    standin.control("settings", {"device_seconds": 0})
    dev2 = oidc.start_device_authorization(clientId=reg["clientId"],
                                           clientSecret=reg["clientSecret"], startUrl=START_URL)
    with pytest.raises(oidc.exceptions.ExpiredTokenException) as expired:
        oidc.create_token(grantType=DEVICE, clientId=reg["clientId"],
                          clientSecret=reg["clientSecret"], deviceCode=dev2["deviceCode"])
    assert expired.value.response["error"] == "expired_token"
    with pytest.raises(oidc.exceptions.InvalidClientException):
        oidc.start_device_authorization(clientId=reg["clientId"], clientSecret="wrong",
                                        startUrl=START_URL)


def test_authorization_code_flow_checks_pkce(standin: SsoServer) -> None:
    import base64
    import hashlib
    import http.server
    import threading
    import urllib.parse

    oidc = _client(standin, "sso-oidc")
    reg = oidc.register_client(clientName="t", clientType="public",
                               grantTypes=["authorization_code", "refresh_token"],
                               redirectUris=["http://127.0.0.1/oauth/callback"],
                               issuerUrl=START_URL, scopes=["sso:account:access"])
    got: dict[str, str] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a: Any) -> None:
            pass

        def do_GET(self) -> None:
            got.update({k: v[0] for k, v in urllib.parse.parse_qs(
                urllib.parse.urlsplit(self.path).query).items()})
            self.send_response(200)
            self.end_headers()

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    redirect = f"http://127.0.0.1:{server.server_address[1]}/oauth/callback"
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode()
    url = f"{standin.url}/authorize?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": reg["clientId"], "redirect_uri": redirect,
        "state": "s1", "code_challenge_method": "S256", "scopes": "sso:account:access",
        "code_challenge": challenge.rstrip("=")})
    _approve(url)
    thread.join(30)
    server.server_close()
    assert got["state"] == "s1"
    base = dict(grantType="authorization_code", clientId=reg["clientId"],
                clientSecret=reg["clientSecret"], code=got["code"], redirectUri=redirect)
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(**base, codeVerifier="w" * 64)
    token = oidc.create_token(**base, codeVerifier=verifier)
    assert token["refreshToken"]


def test_portal_shapes_paging_and_unauthorized(standin: SsoServer, world: World) -> None:
    oidc = _client(standin, "sso-oidc")
    reg, dev = _device_token(oidc, ["sso:account:access"])
    _approve(dev["verificationUriComplete"])
    access = oidc.create_token(grantType=DEVICE, clientId=reg["clientId"],
                               clientSecret=reg["clientSecret"],
                               deviceCode=dev["deviceCode"])["accessToken"]
    portal = _client(standin, "sso")
    standin.control("settings", {"page_size": 1})
    accounts = [a for page in portal.get_paginator("list_accounts").paginate(accessToken=access)
                for a in page["accountList"]]
    assert [a["accountId"] for a in accounts] == [ACCOUNT_A, ACCOUNT_B]
    roles = [r["roleName"] for page in portal.get_paginator("list_account_roles").paginate(
        accessToken=access, accountId=ACCOUNT_A) for r in page["roleList"]]
    assert roles == ASSIGNMENTS[0]["roles"]

    creds = portal.get_role_credentials(accessToken=access, accountId=ACCOUNT_B,
                                        roleName="Admin")["roleCredentials"]
    assert creds["expiration"] > 10**12  # epoch milliseconds, as the real portal
    assert world.bucket_names((creds["accessKeyId"], creds["secretAccessKey"],
                               creds["sessionToken"])) == [world.account_b_bucket]

    portal.logout(accessToken=access)
    with pytest.raises(portal.exceptions.UnauthorizedException) as unauthorized:
        portal.list_accounts(accessToken=access)
    assert "Session token not found or invalid" in str(unauthorized.value)
    with pytest.raises(portal.exceptions.UnauthorizedException):
        portal.get_role_credentials(accessToken="nope", accountId=ACCOUNT_A, roleName="Admin")


def test_browser_page_has_one_approve_link(standin: SsoServer) -> None:
    with urllib.request.urlopen(f"{standin.url}/device?user_code=XXXX-YYYY", timeout=10) as r:
        assert r.read().decode().count('id="approve"') == 1
