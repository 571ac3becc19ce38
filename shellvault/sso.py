"""The IAM Identity Center calls: the OIDC service (sign-in, tokens) and the access portal
(role credentials, accounts, roles), through botocore imported here only, every call with
a deadline, botocore's errors mapped to one-line messages.

Endpoints are botocore's: ``AWS_ENDPOINT_URL_SSO_OIDC`` / ``AWS_ENDPOINT_URL_SSO`` (or
``AWS_ENDPOINT_URL``, or the profile's ``endpoint_url`` / ``services`` section), else
``oidc.REGION.amazonaws.com`` and ``portal.sso.REGION.amazonaws.com`` in ``sso_region``.
Policy (when to refresh, when to sign in, where tokens live) is not decided here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from .creds import Credentials, Session
from .errors import ShellvaultError

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
PKCE_GRANTS = ("authorization_code", "refresh_token")
DEFAULT_SCOPE = "sso:account:access"  # what the AWS CLI registers an sso-session with
SLOW_DOWN_STEP = 5  # RFC 8628 3.5: each slow_down adds 5 s to the polling interval
CLIENT_NAME = "shellvault"


class SsoError(ShellvaultError):
    """IAM Identity Center refused or could not be reached."""


class TokenRejected(SsoError):
    """The portal or the OIDC service no longer accepts the token: the session has ended
    (signed out, expired, revoked). The caller decides whether to sign in again."""


class SignInExpired(SsoError):
    """The browser sign-in was not completed before the request expired."""


class SsoTarget(NamedTuple):
    """What one sign-in is for: an ``[sso-session]`` (``name`` set) or a legacy profile's
    start URL. ``profile`` is a profile that uses it, for botocore's endpoint settings."""

    name: str | None
    start_url: str
    region: str
    scopes: tuple[str, ...]
    profile: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.start_url

    @property
    def legacy(self) -> bool:
        return self.name is None


class Registration(NamedTuple):
    client_id: str
    client_secret: str
    expires: int
    grant_types: tuple[str, ...]
    scopes: tuple[str, ...]


class Token(NamedTuple):
    access_token: str
    expires: int
    refresh_token: str | None
    registration: Registration
    start_url: str
    region: str

    def __repr__(self) -> str:  # never a secret in a traceback or a log
        return f"Token(expires={self.expires!r}, refreshable={self.refresh_token is not None})"

    def seconds_left(self, now: float | None = None) -> float:
        return self.expires - (time.time() if now is None else now)

    def to_json(self) -> str:
        r = self.registration
        return json.dumps({
            "startUrl": self.start_url, "region": self.region,
            "accessToken": self.access_token, "expiresAt": self.expires,
            "refreshToken": self.refresh_token, "clientId": r.client_id,
            "clientSecret": r.client_secret, "registrationExpiresAt": r.expires,
            "grantTypes": list(r.grant_types), "scopes": list(r.scopes),
        }, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Token:
        d = json.loads(text)
        registration = Registration(d["clientId"], d["clientSecret"],
                                    int(d["registrationExpiresAt"]),
                                    tuple(d.get("grantTypes") or ()), tuple(d.get("scopes") or ()))
        return cls(d["accessToken"], int(d["expiresAt"]), d.get("refreshToken"), registration,
                   d["startUrl"], d["region"])


class DeviceAuthorization(NamedTuple):
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires: float
    interval: int


# --------------------------------------------------------------------------- clients


_clients: dict[tuple[str, SsoTarget], Any] = {}


def _client(service: str, target: SsoTarget) -> Any:
    """One botocore client per service and sign-in, per process (making one costs more
    than the call it makes)."""
    key = (service, target)
    if key not in _clients:
        _clients[key] = _new_client(service, target)
    return _clients[key]


def _new_client(service: str, target: SsoTarget) -> Any:
    import botocore
    import botocore.config
    from botocore.exceptions import BotoCoreError

    from .sdk import botocore_session

    # Settings (endpoint_url, services) come from a profile of this sign-in if one is known,
    # as shellvault read it (`sdk`: botocore never parses the file); AWS_PROFILE in the
    # environment must not choose a different one, nor break the call.
    session = botocore_session(target.profile)
    config = botocore.config.Config(
        region_name=target.region,
        signature_version=botocore.UNSIGNED,  # bearer tokens and client secrets, no SigV4
        connect_timeout=5,
        read_timeout=20,
        retries={"mode": "standard", "max_attempts": 3},
        user_agent_extra="shellvault",
    )
    try:
        return session.create_client(service, config=config)
    except (BotoCoreError, ValueError) as exc:  # a bad sso_region, endpoint or services
        detail = " ".join(str(exc).split())[:200]
        raise SsoError(f"cannot use the settings of {target.profile or 'the sign-in'} for "
                       f"IAM Identity Center: {detail}") from None


def _explain(exc: Exception, client: Any, action: str, subject: str) -> SsoError:
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ParamValidationError,
        ReadTimeoutError,
    )

    endpoint = getattr(getattr(client, "meta", None), "endpoint_url", "IAM Identity Center")
    model = getattr(getattr(client, "meta", None), "service_model", None)
    service = getattr(model, "service_name", "sso")
    variable = "AWS_ENDPOINT_URL_SSO_OIDC" if service == "sso-oidc" else "AWS_ENDPOINT_URL_SSO"
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        return SsoError(f"cannot reach IAM Identity Center at {endpoint}; check your network, "
                        f"proxy, sso_region or {variable}; nothing was changed")
    if isinstance(exc, ReadTimeoutError):
        return SsoError(f"IAM Identity Center at {endpoint} did not answer in time; try again")
    if isinstance(exc, ParamValidationError):
        detail = " ".join(str(exc).split())
        return SsoError(f"{action} for {subject}: a setting is invalid: {detail}")
    if not isinstance(exc, ClientError):
        return SsoError(f"{action} for {subject} failed: {exc.__class__.__name__}")
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(exc.response.get("error_description") or error.get("Message") or "").strip()
    message = message.rstrip(".")
    if code in ("UnauthorizedException", "InvalidGrantException", "ExpiredTokenException"):
        return TokenRejected(f"IAM Identity Center session {subject} has ended ({code})")
    if code in ("TooManyRequestsException", "SlowDownException"):
        return SsoError(f"IAM Identity Center is throttling requests ({action}); try again "
                        "in a minute")
    if code == "ForbiddenException" and action == "GetRoleCredentials":
        return SsoError(f"{subject}: {message or 'No access'}; check sso_account_id and "
                        "sso_role_name (shellvault sso sync lists what you can use)")
    if code in ("InvalidClientException", "UnauthorizedClientException"):
        return TokenRejected(f"IAM Identity Center no longer accepts shellvault's client "
                             f"registration for {subject} ({code})")
    detail = f": {message}" if message else ""
    return SsoError(f"{action} for {subject} failed: {code}{detail}")


def _call(client: Any, action: str, subject: str, method: str, **kwargs: Any) -> Any:
    try:
        return getattr(client, method)(**kwargs)
    except Exception as exc:
        raise _explain(exc, client, action, subject) from None


# --------------------------------------------------------------------------- OIDC


def register_client(target: SsoTarget, *, redirect_uri: str | None = None) -> Registration:
    """RegisterClient as the AWS CLI does: with ``redirect_uri`` for the authorization-code
    flow (grants authorization_code + refresh_token, issuer = start URL); else for the
    device flow, with the sso-session's scopes (none for the legacy form)."""
    client = _client("sso-oidc", target)
    kwargs: dict[str, Any] = {"clientName": f"{CLIENT_NAME}-{target.name or int(time.time())}",
                              "clientType": "public"}
    scopes = tuple(target.scopes)
    grants: tuple[str, ...] = ()
    if redirect_uri is not None:
        scopes = scopes or (DEFAULT_SCOPE,)
        grants = PKCE_GRANTS
        kwargs.update(grantTypes=list(grants), redirectUris=[redirect_uri],
                      issuerUrl=target.start_url)
    if scopes:
        kwargs["scopes"] = list(scopes)
    response = _call(client, "RegisterClient", target.label, "register_client", **kwargs)
    return Registration(response["clientId"], response["clientSecret"],
                        int(response["clientSecretExpiresAt"]), grants, scopes)


def authorize_url(target: SsoTarget, registration: Registration, *, redirect_uri: str,
                  state: str, challenge: str) -> str:
    """The browser page of the authorization-code flow (not an API operation: built on the
    OIDC endpoint, as the AWS CLI does)."""
    from urllib.parse import urlencode

    client = _client("sso-oidc", target)
    base = str(client.meta.endpoint_url).rstrip("/")
    query = urlencode({
        "response_type": "code", "client_id": registration.client_id,
        "redirect_uri": redirect_uri, "state": state, "code_challenge_method": "S256",
        "scopes": " ".join(registration.scopes or (DEFAULT_SCOPE,)),
        "code_challenge": challenge,
    })
    return f"{base}/authorize?{query}"


def start_device_authorization(target: SsoTarget, registration: Registration) -> (
        DeviceAuthorization):
    client = _client("sso-oidc", target)
    r = _call(client, "StartDeviceAuthorization", target.label, "start_device_authorization",
              clientId=registration.client_id, clientSecret=registration.client_secret,
              startUrl=target.start_url)
    return DeviceAuthorization(r["deviceCode"], r["userCode"], r["verificationUri"],
                               r.get("verificationUriComplete") or r["verificationUri"],
                               time.monotonic() + int(r["expiresIn"]),
                               max(1, int(r.get("interval") or 5)))


def _token(target: SsoTarget, registration: Registration, response: dict[str, Any],
           refresh_fallback: str | None = None) -> Token:
    return Token(response["accessToken"], int(time.time()) + int(response["expiresIn"]),
                 response.get("refreshToken") or refresh_fallback, registration,
                 target.start_url, target.region)


def poll_device_token(
    target: SsoTarget, registration: Registration, device: DeviceAuthorization,
    sleep: Callable[[float], None] = time.sleep,
) -> Token:
    """CreateToken until the user approves: authorization_pending waits one interval,
    slow_down adds 5 s to it, expired_token (or our own clock passing expiresIn) ends it."""
    client = _client("sso-oidc", target)
    interval = device.interval
    while True:
        if time.monotonic() > device.expires:
            raise SignInExpired(f"the sign-in request for {target.label} expired before it "
                                "was approved in the browser; run the command again")
        try:
            response = client.create_token(
                grantType=DEVICE_GRANT, clientId=registration.client_id,
                clientSecret=registration.client_secret, deviceCode=device.device_code)
            return _token(target, registration, response)
        except client.exceptions.AuthorizationPendingException:
            pass
        except client.exceptions.SlowDownException:
            interval += SLOW_DOWN_STEP
        except client.exceptions.ExpiredTokenException:
            raise SignInExpired(f"the sign-in request for {target.label} expired before it "
                                "was approved in the browser; run the command again") from None
        except client.exceptions.AccessDeniedException:
            raise SsoError(f"the sign-in to {target.label} was denied in the browser") from None
        except Exception as exc:
            raise _explain(exc, client, "CreateToken", target.label) from None
        sleep(interval)


def token_from_code(target: SsoTarget, registration: Registration, *, code: str,
                    redirect_uri: str, verifier: str) -> Token:
    client = _client("sso-oidc", target)
    response = _call(client, "CreateToken", target.label, "create_token",
                     grantType="authorization_code", clientId=registration.client_id,
                     clientSecret=registration.client_secret, code=code,
                     redirectUri=redirect_uri, codeVerifier=verifier)
    return _token(target, registration, response)


def refresh(target: SsoTarget, token: Token) -> Token:
    """A new access token from the refresh token (TokenRejected when the session ended)."""
    if not token.refresh_token:
        raise TokenRejected(f"IAM Identity Center session {target.label} cannot be refreshed")
    client = _client("sso-oidc", target)
    r = token.registration
    response = _call(client, "CreateToken", target.label, "create_token",
                     grantType="refresh_token", clientId=r.client_id,
                     clientSecret=r.client_secret, refreshToken=token.refresh_token)
    return _token(target, r, response, refresh_fallback=token.refresh_token)


# --------------------------------------------------------------------------- portal


def get_role_credentials(target: SsoTarget, token: Token, *, account_id: str, role_name: str,
                         subject: str) -> Session:
    client = _client("sso", target)
    response = _call(client, "GetRoleCredentials", subject, "get_role_credentials",
                     accessToken=token.access_token, accountId=account_id, roleName=role_name)
    c = response["roleCredentials"]
    return Session(Credentials(c["accessKeyId"], c["secretAccessKey"], c["sessionToken"],
                               int(c["expiration"]) // 1000), account_id, None)


class Account(NamedTuple):
    account_id: str
    name: str
    email: str


def list_accounts(target: SsoTarget, token: Token) -> list[Account]:
    client = _client("sso", target)
    out: list[Account] = []
    try:
        for page in client.get_paginator("list_accounts").paginate(
                accessToken=token.access_token):
            out += [Account(a["accountId"], a.get("accountName", ""), a.get("emailAddress", ""))
                    for a in page.get("accountList", [])]
    except Exception as exc:
        raise _explain(exc, client, "ListAccounts", target.label) from None
    return out


def list_account_roles(target: SsoTarget, token: Token, account_id: str) -> list[str]:
    client = _client("sso", target)
    roles: list[str] = []
    try:
        for page in client.get_paginator("list_account_roles").paginate(
                accessToken=token.access_token, accountId=account_id):
            roles += [r["roleName"] for r in page.get("roleList", [])]
    except Exception as exc:
        raise _explain(exc, client, "ListAccountRoles", target.label) from None
    return roles


def logout(target: SsoTarget, token: Token) -> None:
    client = _client("sso", target)
    _call(client, "Logout", target.label, "logout", accessToken=token.access_token)
