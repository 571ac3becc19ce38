"""A stand-in for AWS IAM Identity Center's OIDC service and access portal, on 127.0.0.1.

moto has neither, so the SSO tests run against this real server process. It speaks the
wire format of botocore's service models ``sso-oidc`` and ``sso`` (2019-06-10, rest-json):

OIDC (``AWS_ENDPOINT_URL_SSO_OIDC``)
  ``POST /client/register``        RegisterClient
  ``POST /device_authorization``   StartDeviceAuthorization
  ``POST /token``                  CreateToken: device_code, refresh_token and
                                   authorization_code (PKCE S256) grants
  ``GET  /authorize``              the browser page of the authorization-code flow
Portal (``AWS_ENDPOINT_URL_SSO``, bearer token in ``x-amz-sso_bearer_token``)
  ``GET  /federation/credentials`` GetRoleCredentials
  ``GET  /assignment/accounts``    ListAccounts (paged: next_token / max_result)
  ``GET  /assignment/roles``       ListAccountRoles (paged)
  ``POST /logout``                 Logout

Errors are what the real services send: HTTP status from the model, the
``x-amzn-ErrorType`` header botocore reads the code from, and the modeled body
(``{"error": "authorization_pending", "error_description": ...}`` for OIDC,
``{"message": ...}`` for the portal). The device flow answers ``authorization_pending``
until approved, ``slow_down`` to a client polling faster than its interval (which then
grows by 5 s, RFC 8628), ``expired_token`` after ``expiresIn``.

The person at the browser: the verification page (``/device?user_code=`` or
``/authorize?...``) carries one ``<a id="approve" href="...">`` link; fetching it approves
the request (the authorization-code flow then redirects to the client's
``redirect_uri`` with ``code`` and ``state``). ``tests/sso_browser.py`` is a ``$BROWSER``
that does exactly that.

Role credentials come from the moto server given with ``--moto``: AssumeRole of
``arn:aws:iam::ACCOUNT:role/ROLE``, so moto's STS and S3 accept them and act in that
account.

Test controls (JSON, under ``/_standin/``): ``GET stats`` (counters per operation and
grant, approvals, tokens live), ``POST end-sessions`` (every access and refresh token
becomes invalid: the user's session ended), ``POST settings`` (``token_seconds``,
``page_size``, ``slow_down_first`` ...), ``POST reset``.

Run: ``python -m tests.sso_standin --moto URL --start-url URL --region R --accounts JSON``;
it prints ``listening on http://127.0.0.1:PORT`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import secrets
import sys
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OIDC_NS = "http://internal.amazon.com/coral/com.amazonaws.switchboard.portal/"
PORTAL_NS = "http://internal.amazon.com/coral/com.amazon.switchboard.portal/"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class ApiError(Exception):
    def __init__(self, status: int, code: str, body: dict[str, Any], ns: str) -> None:
        super().__init__(code)
        self.status, self.code, self.body, self.ns = status, code, body, ns


def oidc_error(status: int, code: str, error: str, description: str) -> ApiError:
    return ApiError(status, code, {"error": error, "error_description": description}, OIDC_NS)


def portal_error(status: int, code: str, message: str) -> ApiError:
    return ApiError(status, code, {"message": message}, PORTAL_NS)


@dataclass
class Client:
    client_id: str
    secret: str
    scopes: list[str]
    grant_types: list[str]
    redirect_uris: list[str]
    expires: int


@dataclass
class Device:
    client_id: str
    device_code: str
    user_code: str
    expires: float
    interval: int
    approved: bool = False
    used: bool = False
    last_poll: float = 0.0


@dataclass
class AuthRequest:
    client_id: str
    redirect_uri: str
    state: str
    challenge: str
    scopes: str
    code: str = ""
    approved: bool = False
    used: bool = False


@dataclass
class Token:
    client_id: str
    expires: float
    scopes: list[str]


@dataclass
class State:
    start_url: str
    region: str
    moto_url: str
    accounts: list[dict[str, Any]]
    token_seconds: int = 28800
    role_seconds: int = 3600
    page_size: int = 20
    device_seconds: int = 600
    interval: int = 1
    slow_down_first: int = 0  # answer slow_down to this many first polls per device code
    clients: dict[str, Client] = field(default_factory=dict)
    devices: dict[str, Device] = field(default_factory=dict)
    auth_requests: dict[str, AuthRequest] = field(default_factory=dict)
    access: dict[str, Token] = field(default_factory=dict)
    refresh: dict[str, Token] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _now() -> float:
    return time.time()


# --------------------------------------------------------------------------- OIDC


def register_client(st: State, body: dict[str, Any]) -> dict[str, Any]:
    name, kind = body.get("clientName"), body.get("clientType")
    if not name or not kind:
        raise oidc_error(400, "InvalidRequestException", "invalid_request",
                         "clientName and clientType are required")
    if kind != "public":
        raise oidc_error(400, "InvalidClientMetadataException", "invalid_client_metadata",
                         "clientType must be public")
    grants = list(body.get("grantTypes") or [])
    for grant in grants:
        if grant not in ("authorization_code", "refresh_token", DEVICE_GRANT):
            raise oidc_error(400, "UnsupportedGrantTypeException", "unsupported_grant_type",
                             f"unsupported grant type {grant}")
    redirects = list(body.get("redirectUris") or [])
    if "authorization_code" in grants:
        for uri in redirects:
            parts = urllib.parse.urlsplit(uri)
            if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
                raise oidc_error(400, "InvalidRedirectUriException", "invalid_redirect_uri",
                                 f"redirect URI not allowed: {uri}")
        if body.get("issuerUrl") != st.start_url:
            raise oidc_error(400, "InvalidRequestException", "invalid_request",
                             "issuerUrl must be the start URL")
    now = int(_now())
    client = Client("c-" + secrets.token_urlsafe(12), "s-" + secrets.token_urlsafe(24),
                    list(body.get("scopes") or []), grants, redirects, now + 90 * 86400)
    st.clients[client.client_id] = client
    return {"clientId": client.client_id, "clientSecret": client.secret,
            "clientIdIssuedAt": now, "clientSecretExpiresAt": client.expires}


def _client(st: State, body: dict[str, Any]) -> Client:
    client = st.clients.get(str(body.get("clientId")))
    if client is None or client.secret != body.get("clientSecret"):
        raise oidc_error(401, "InvalidClientException", "invalid_client",
                         "Invalid client credentials")
    if client.expires < _now():
        raise oidc_error(401, "InvalidClientException", "invalid_client", "Client expired")
    return client


def start_device_authorization(st: State, body: dict[str, Any], base: str) -> dict[str, Any]:
    client = _client(st, body)
    if body.get("startUrl") != st.start_url:
        raise oidc_error(400, "InvalidRequestException", "invalid_request", "Invalid start URL")
    user_code = "-".join(secrets.token_hex(2).upper() for _ in range(2))
    device = Device(client.client_id, "d-" + secrets.token_urlsafe(24), user_code,
                    _now() + st.device_seconds, st.interval)
    st.devices[device.device_code] = device
    uri = f"{base}/device"
    return {"deviceCode": device.device_code, "userCode": user_code, "verificationUri": uri,
            "verificationUriComplete": f"{uri}?user_code={user_code}",
            "expiresIn": st.device_seconds, "interval": st.interval}


def _issue(st: State, client: Client, scopes: list[str]) -> dict[str, Any]:
    access = "aoa" + secrets.token_urlsafe(32)
    st.access[access] = Token(client.client_id, _now() + st.token_seconds, scopes)
    out: dict[str, Any] = {"accessToken": access, "tokenType": "Bearer",
                           "expiresIn": st.token_seconds}
    # Identity Center hands out refresh tokens to clients registered with scopes or the
    # refresh_token grant (sso-session configurations), not to legacy registrations.
    if scopes or "refresh_token" in client.grant_types:
        refresh = "aor" + secrets.token_urlsafe(32)
        st.refresh[refresh] = Token(client.client_id, _now() + 90 * 86400, scopes)
        out["refreshToken"] = refresh
    st.counts["tokens_issued"] += 1
    return out


def create_token(st: State, body: dict[str, Any]) -> dict[str, Any]:
    client = _client(st, body)
    grant = body.get("grantType")
    st.counts[f"CreateToken:{grant}"] += 1
    if grant == DEVICE_GRANT:
        device = st.devices.get(str(body.get("deviceCode")))
        if device is None or device.client_id != client.client_id or device.used:
            raise oidc_error(400, "InvalidGrantException", "invalid_grant", "Invalid device code")
        now = _now()
        if now > device.expires:
            raise oidc_error(400, "ExpiredTokenException", "expired_token",
                             "Device code has expired")
        too_soon = device.last_poll and now - device.last_poll < device.interval - 0.05
        forced = st.counts[f"polls:{device.device_code}"] < st.slow_down_first
        st.counts[f"polls:{device.device_code}"] += 1
        device.last_poll = now
        if too_soon or forced:
            device.interval += 5
            st.counts["slow_down"] += 1
            raise oidc_error(400, "SlowDownException", "slow_down", "Client is polling too fast")
        if not device.approved:
            st.counts["authorization_pending"] += 1
            raise oidc_error(400, "AuthorizationPendingException", "authorization_pending",
                             "Authorization is still pending")
        device.used = True
        return _issue(st, client, client.scopes)
    if grant == "refresh_token":
        if "refresh_token" not in client.grant_types and not client.scopes:
            raise oidc_error(400, "UnauthorizedClientException", "unauthorized_client",
                             "Client is not allowed the refresh_token grant")
        token = st.refresh.get(str(body.get("refreshToken")))
        if token is None or token.client_id != client.client_id or token.expires < _now():
            raise oidc_error(400, "InvalidGrantException", "invalid_grant",
                             "Invalid refresh token provided")
        del st.refresh[str(body["refreshToken"])]  # rotated: each refresh token works once
        return _issue(st, client, token.scopes)
    if grant == "authorization_code":
        request = next((r for r in st.auth_requests.values()
                        if r.code and r.code == body.get("code")), None)
        if request is None or request.used or request.client_id != client.client_id:
            raise oidc_error(400, "InvalidGrantException", "invalid_grant",
                             "Invalid authorization code")
        verifier = str(body.get("codeVerifier") or "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if challenge.decode().rstrip("=") != request.challenge.rstrip("="):
            raise oidc_error(400, "InvalidGrantException", "invalid_grant",
                             "Code verifier does not match the code challenge")
        if body.get("redirectUri") != request.redirect_uri:
            raise oidc_error(400, "InvalidGrantException", "invalid_grant",
                             "Redirect URI does not match")
        request.used = True
        return _issue(st, client, client.scopes or request.scopes.split())
    raise oidc_error(400, "UnsupportedGrantTypeException", "unsupported_grant_type",
                     f"Unsupported grant type {grant}")


def authorize_page(st: State, query: dict[str, str]) -> tuple[int, str, dict[str, str]]:
    client = st.clients.get(query.get("client_id", ""))
    redirect = query.get("redirect_uri", "")
    if (client is None or query.get("response_type") != "code"
            or query.get("code_challenge_method") != "S256" or not query.get("code_challenge")):
        return 400, "<p>invalid authorization request</p>", {}
    allowed = {urllib.parse.urlsplit(u)._replace(netloc="127.0.0.1").geturl()
               for u in client.redirect_uris}
    parts = urllib.parse.urlsplit(redirect)
    if parts._replace(netloc="127.0.0.1").geturl() not in allowed:  # any port (RFC 8252)
        return 400, "<p>redirect_uri not registered</p>", {}
    request_id = secrets.token_urlsafe(12)
    st.auth_requests[request_id] = AuthRequest(
        client.client_id, redirect, query.get("state", ""), query["code_challenge"],
        query.get("scopes", ""))
    return 200, _page(f"/approve?request={request_id}"), {}


def _page(approve: str) -> str:
    return (f"<html><body><p>Allow access to your data?</p>"
            f'<a id="approve" href="{approve}">Allow access</a></body></html>')


def approve(st: State, query: dict[str, str]) -> tuple[int, str, dict[str, str]]:
    if "user_code" in query:
        device = next((d for d in st.devices.values() if d.user_code == query["user_code"]),
                      None)
        if device is None or device.expires < _now():
            return 400, "<p>unknown or expired code</p>", {}
        device.approved = True
        st.counts["approvals"] += 1
        return 200, "<p>Request approved</p>", {}
    request = st.auth_requests.get(query.get("request", ""))
    if request is None or request.approved:
        return 400, "<p>unknown request</p>", {}
    request.approved = True
    request.code = "code-" + secrets.token_urlsafe(16)
    st.counts["approvals"] += 1
    location = request.redirect_uri + "?" + urllib.parse.urlencode(
        {"code": request.code, "state": request.state})
    return 302, "", {"Location": location}


# --------------------------------------------------------------------------- portal


def _bearer(st: State, headers: Any) -> Token:
    token = st.access.get(headers.get("x-amz-sso_bearer_token") or "")
    if token is None or token.expires < _now():
        raise portal_error(401, "UnauthorizedException", "Session token not found or invalid")
    return token


def _account(st: State, account_id: str) -> dict[str, Any]:
    for account in st.accounts:
        if account["accountId"] == account_id:
            return account
    raise portal_error(403, "ForbiddenException", "No access")


def _page_of(st: State, items: list[dict[str, Any]], query: dict[str, str]) -> tuple[
        list[dict[str, Any]], str | None]:
    try:
        size = min(int(query.get("max_result") or st.page_size), st.page_size)
        start = int(query.get("next_token") or 0)
    except ValueError:
        raise portal_error(400, "InvalidRequestException", "Invalid paging token") from None
    chunk = items[start:start + size]
    return chunk, (str(start + size) if start + size < len(items) else None)


def get_role_credentials(st: State, query: dict[str, str], headers: Any) -> dict[str, Any]:
    _bearer(st, headers)
    account = _account(st, query.get("account_id", ""))
    role = query.get("role_name", "")
    if role not in account["roles"]:
        raise portal_error(403, "ForbiddenException", "No access")
    st.counts[f"GetRoleCredentials:{account['accountId']}:{role}"] += 1
    from tests.world import client

    sts = client(st.moto_url, "sts", account_id=account["accountId"])
    response = sts.assume_role(RoleArn=f"arn:aws:iam::{account['accountId']}:role/{role}",
                               RoleSessionName="sso-standin", DurationSeconds=st.role_seconds)
    c = response["Credentials"]
    return {"roleCredentials": {
        "accessKeyId": c["AccessKeyId"], "secretAccessKey": c["SecretAccessKey"],
        "sessionToken": c["SessionToken"],
        "expiration": int(c["Expiration"].timestamp() * 1000),  # epoch milliseconds
    }}


def list_accounts(st: State, query: dict[str, str], headers: Any) -> dict[str, Any]:
    _bearer(st, headers)
    items = [{k: a[k] for k in ("accountId", "accountName", "emailAddress")}
             for a in st.accounts]
    chunk, nxt = _page_of(st, items, query)
    out: dict[str, Any] = {"accountList": chunk}
    if nxt:
        out["nextToken"] = nxt
    return out


def list_account_roles(st: State, query: dict[str, str], headers: Any) -> dict[str, Any]:
    _bearer(st, headers)
    account = _account(st, query.get("account_id", ""))
    items = [{"roleName": r, "accountId": account["accountId"]} for r in account["roles"]]
    chunk, nxt = _page_of(st, items, query)
    out: dict[str, Any] = {"roleList": chunk}
    if nxt:
        out["nextToken"] = nxt
    return out


def logout(st: State, headers: Any) -> None:
    token = _bearer(st, headers)
    st.access.pop(headers.get("x-amz-sso_bearer_token"), None)
    for key, refresh in list(st.refresh.items()):
        if refresh.client_id == token.client_id:
            del st.refresh[key]


# --------------------------------------------------------------------------- HTTP


class Handler(BaseHTTPRequestHandler):
    server: StandinServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any, extra: dict[str, str] | None = None) -> None:
        headers = {"Content-Type": "application/json", "x-amzn-RequestId": secrets.token_hex(8)}
        headers.update(extra or {})
        self._send(status, json.dumps(data).encode() if data is not None else b"", headers)

    def _html(self, status: int, text: str, headers: dict[str, str]) -> None:
        self._send(status, text.encode(), {"Content-Type": "text/html", **headers})

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        st = self.server.state
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            body = {}
        route = (method, url.path)
        try:
            with st.lock:
                st.counts[url.path] += 1
                if route == ("POST", "/client/register"):
                    st.counts["RegisterClient"] += 1
                    self._json(200, register_client(st, body))
                elif route == ("POST", "/device_authorization"):
                    st.counts["StartDeviceAuthorization"] += 1
                    self._json(200, start_device_authorization(st, body, base))
                elif route == ("POST", "/token"):
                    self._json(200, create_token(st, body))
                elif route == ("GET", "/device"):
                    code = query.get("user_code", "")
                    st.counts["browser:device"] += 1
                    self._html(200, _page("/approve?" + urllib.parse.urlencode(
                        {"user_code": code})), {})
                elif route == ("GET", "/authorize"):
                    st.counts["browser:authorize"] += 1
                    self._html(*authorize_page(st, query))
                elif route == ("GET", "/approve"):
                    self._html(*approve(st, query))
                elif route == ("POST", "/logout"):
                    st.counts["Logout"] += 1
                    logout(st, self.headers)
                    self._json(200, None)
                elif route[1] in ("/federation/credentials", "/assignment/accounts",
                                  "/assignment/roles") and method == "GET":
                    self._portal(st, url.path, query)
                elif url.path.startswith("/_standin/"):
                    self._control(st, method, url.path[len("/_standin/"):], body)
                else:
                    self._json(404, {"message": f"no route {method} {url.path}"})
        except ApiError as exc:
            self._json(exc.status, exc.body, {"x-amzn-ErrorType": f"{exc.code}:{exc.ns}"})

    def _portal(self, st: State, path: str, query: dict[str, str]) -> None:
        if path == "/federation/credentials":
            st.counts["GetRoleCredentials"] += 1
            self._json(200, get_role_credentials(st, query, self.headers))
        elif path == "/assignment/accounts":
            st.counts["ListAccounts"] += 1
            self._json(200, list_accounts(st, query, self.headers))
        else:
            st.counts["ListAccountRoles"] += 1
            self._json(200, list_account_roles(st, query, self.headers))

    def _control(self, st: State, method: str, what: str, body: dict[str, Any]) -> None:
        if what == "stats":
            counts = {k: v for k, v in st.counts.items() if not k.startswith("polls:")}
            self._json(200, {"counts": counts, "access_tokens": list(st.access),
                             "refresh_tokens": list(st.refresh)})
        elif what == "end-sessions" and method == "POST":
            st.access.clear()
            st.refresh.clear()
            self._json(200, {})
        elif what == "expire-access" and method == "POST":
            for token in st.access.values():
                token.expires = _now() - 1
            self._json(200, {})
        elif what == "settings" and method == "POST":
            for key, value in body.items():
                if key not in ("token_seconds", "role_seconds", "page_size", "device_seconds",
                               "interval", "slow_down_first", "accounts"):
                    raise portal_error(400, "InvalidRequestException", f"unknown setting {key}")
                setattr(st, key, value)
            self._json(200, {})
        elif what == "reset" and method == "POST":
            for name in ("clients", "devices", "auth_requests", "access", "refresh"):
                getattr(st, name).clear()
            st.counts.clear()
            self._json(200, {})
        else:
            self._json(404, {"message": f"no control {what}"})


class StandinServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: State) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = state


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moto", required=True, help="moto server URL (role credentials)")
    parser.add_argument("--start-url", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--accounts", required=True,
                        help='JSON: [{"accountId", "accountName", "emailAddress", "roles": []}]')
    args = parser.parse_args(argv)
    state = State(args.start_url, args.region, args.moto, json.loads(args.accounts))
    server = StandinServer(state)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
