"""The AWS STS calls, through boto3 (imported here only: the hot path never gets this far),
and the mapping of botocore's errors to one-line messages that say what to do.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from .creds import Credentials, Session, account_from_arn
from .errors import MfaRejected, StsError

DEFAULT_REGION = "us-east-1"

# The whole of one STS request, retries included, may take this long: a person waits for
# it, and with --no-input a prompt hook does (`set_time_budget`). Each attempt gets a
# third of it to answer; an attempt that could not end within it is not started.
_time_budget = 30.0
NO_INPUT_TIME_BUDGET = 8.0  # with --no-input (the prompt hook's refresh, direnv, scripts)


def set_time_budget(seconds: float) -> None:
    global _time_budget
    _time_budget = seconds


class _OutOfTime(Exception):
    """Internal: no time left for another attempt; `last` is why the previous one failed."""

    def __init__(self, last: object) -> None:
        super().__init__("out of time")
        self.last = last


def _bound_time(client: Any, connect: float, read: float) -> None:
    import time

    state: dict[str, Any] = {"start": 0.0, "sent": 0, "last": None}

    def start(**_: Any) -> None:
        state.update(start=time.monotonic(), sent=0, last=None)

    def received(exception: object = None, parsed_response: object = None, **_: Any) -> None:
        state["last"] = exception or parsed_response

    def before_send(**_: Any) -> None:
        left = _time_budget - (time.monotonic() - state["start"])
        if state["sent"] and left < connect + read:
            raise _OutOfTime(state["last"])
        state["sent"] += 1

    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-call.{service}", start)
    client.meta.events.register(f"response-received.{service}", received)
    client.meta.events.register(f"before-send.{service}", before_send)


# Longest piece of a botocore message quoted in ours (a value from the file can be huge).
_DETAIL_MAX = 200


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())  # botocore's text may span lines
    return text if len(text) <= _DETAIL_MAX else text[: _DETAIL_MAX - 3] + "..."


def _client(creds: Credentials, profile_name: str, region: str | None,
            service: str = "sts") -> Any:
    import botocore.config
    from botocore.exceptions import BotoCoreError

    from .sdk import botocore_session

    # The profile's section lets botocore apply its own endpoint rules (endpoint_url,
    # services, sts_regional_endpoints), as shellvault read it (`sdk`: never the file).
    # The credentials are always explicit, so nothing is taken from AWS_ACCESS_KEY_ID &
    # co. in the environment.
    session = botocore_session(profile_name)
    try:
        connect, read = min(5.0, _time_budget / 4), _time_budget / 3
        config = botocore.config.Config(
            connect_timeout=connect,
            read_timeout=read,
            retries={"mode": "standard", "max_attempts": 5},  # throttling backs off, retries
            user_agent_extra="shellvault",
        )
        client = session.create_client(
            service,
            region_name=region or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
            aws_session_token=creds.session_token,
            config=config,
        )
    except (BotoCoreError, ValueError) as exc:  # a bad region, endpoint or services setting
        raise StsError(
            f"cannot use the settings of profile {profile_name} for {service.upper()}: "
            f"{_one_line(exc)}"
        ) from None
    _bound_time(client, connect, read)
    return client


def client(service: str, creds: Credentials, profile_name: str, region: str | None) -> Any:
    """A client of another service (IAM for `rotate`) set up exactly as the STS one."""
    return _client(creds, profile_name, region, service)


def _session(response: Mapping[str, Any], account: str | None, arn: str | None) -> Session:
    c = response["Credentials"]
    return Session(
        Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"],
                    int(c["Expiration"].timestamp())),
        account,
        arn,
    )


def _explain(exc: Exception, client: Any, action: str, subject: str) -> StsError:
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoRegionError,
        ParamValidationError,
        ReadTimeoutError,
    )

    endpoint = getattr(getattr(client, "meta", None), "endpoint_url", "STS")
    if isinstance(exc, _OutOfTime) and isinstance(exc.last, Exception):
        exc = exc.last  # the last attempt's failure says why
    if isinstance(exc, (ConnectTimeoutError, ReadTimeoutError, _OutOfTime)):
        return StsError(f"STS at {endpoint} did not answer within {_time_budget:g} s; check "
                        "your network, proxy or AWS_ENDPOINT_URL_STS; nothing was changed")
    if isinstance(exc, EndpointConnectionError):
        return StsError(f"cannot reach STS at {endpoint}; check your network, proxy or "
                        "AWS_ENDPOINT_URL_STS; nothing was changed")
    if isinstance(exc, NoRegionError):
        return StsError(f"no region for {subject}; set region in its profile")
    if isinstance(exc, ParamValidationError):
        return StsError(f"{action} for {subject}: a setting of the profile is invalid: "
                        f"{_one_line(exc)}")
    if not isinstance(exc, ClientError):
        return StsError(f"{action} for {subject} failed: {exc.__class__.__name__}")
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", "")).strip().rstrip(".")
    lowered = message.lower()
    if "mfa" in lowered and ("invalid" in lowered or "failed" in lowered):
        return MfaRejected(f"AWS rejected the MFA code for {subject} (wrong, expired or already "
                        "used); wait for the next code and try again")
    if code in ("InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException"):
        return StsError(f"AWS does not accept the stored access key for {subject} ({code}): it "
                        f"was deleted, deactivated or mistyped; rotate it in IAM and run "
                        f"'shellvault add {subject}'")
    if code == "ExpiredToken":
        return StsError(f"the session used for {subject} has expired; run "
                        f"'shellvault clear {subject}' and try again")
    if code in ("Throttling", "ThrottlingException", "RequestLimitExceeded"):
        return StsError(f"STS is throttling requests ({action}); try again in a minute")
    if code == "AccessDenied" and action == "AssumeRole":
        return StsError(f"AccessDenied for {subject}: {message}. Check the role's trust policy: "
                        "it must trust this user, and if it requires aws:MultiFactorAuthPresent "
                        "the profile needs mfa_serial")
    return StsError(f"{action} for {subject} failed: {code}: {message}")


def get_session_token(
    master: Credentials, *, profile_name: str, region: str | None, duration: int,
    mfa_serial: str | None, code: str | None,
) -> Session:
    client = _client(master, profile_name, region)
    kwargs: dict[str, Any] = {"DurationSeconds": duration}
    if mfa_serial and code:
        kwargs.update(SerialNumber=mfa_serial, TokenCode=code)
    try:
        response = client.get_session_token(**kwargs)
    except Exception as exc:
        raise _explain(exc, client, "GetSessionToken", profile_name) from None
    account = account_from_arn(mfa_serial)
    return _session(response, account, None)


def caller_account(creds: Credentials, *, profile_name: str, region: str | None) -> str | None:
    client = _client(creds, profile_name, region)
    try:
        account: str = client.get_caller_identity()["Account"]
    except Exception as exc:
        raise _explain(exc, client, "GetCallerIdentity", profile_name) from None
    return account


def assume_role(
    source: Credentials, *, profile_name: str, region: str | None, role_arn: str,
    session_name: str, duration: int, external_id: str | None,
    tags: Sequence[tuple[str, str]], transitive_tags: Sequence[str], source_identity: str | None,
    mfa_serial: str | None = None, code: str | None = None,
) -> Session:
    client = _client(source, profile_name, region)
    kwargs: dict[str, Any] = {
        "RoleArn": role_arn, "RoleSessionName": session_name, "DurationSeconds": duration,
    }
    if external_id:
        kwargs["ExternalId"] = external_id
    if tags:
        kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags]
    if transitive_tags:
        kwargs["TransitiveTagKeys"] = list(transitive_tags)
    if source_identity:
        kwargs["SourceIdentity"] = source_identity
    if mfa_serial and code:
        kwargs.update(SerialNumber=mfa_serial, TokenCode=code)
    try:
        response = client.assume_role(**kwargs)
    except Exception as exc:
        raise _explain(exc, client, "AssumeRole", profile_name) from None
    arn = response.get("AssumedRoleUser", {}).get("Arn")
    return _session(response, account_from_arn(role_arn), arn)


# Allows everything the IAM user may do: GetFederationToken without a policy grants nothing.
_FEDERATION_POLICY = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*",'
                      '"Resource":"*"}]}')


def get_federation_token(
    master: Credentials, *, profile_name: str, region: str | None, name: str, duration: int,
) -> Session:
    """A federated-user session from long-term keys (the console for a user without a role)."""
    client = _client(master, profile_name, region)
    try:
        response = client.get_federation_token(Name=name, Policy=_FEDERATION_POLICY,
                                               DurationSeconds=duration)
    except Exception as exc:
        raise _explain(exc, client, "GetFederationToken", profile_name) from None
    arn = response.get("FederatedUser", {}).get("Arn")
    return _session(response, account_from_arn(arn), arn)


# botocore sends AssumeRoleWithWebIdentity unsigned (its model's auth type is "none"); explicit
# placeholder keys keep it from looking for credentials of its own while making the client.
_NO_KEYS = Credentials("ASIAUNSIGNEDREQUEST0", "unsigned-request-unsigned-request-00000")


def assume_role_with_web_identity(
    token: str, *, profile_name: str, region: str | None, role_arn: str, session_name: str,
    duration: int,
) -> Session:
    client = _client(_NO_KEYS, profile_name, region)
    try:
        response = client.assume_role_with_web_identity(
            RoleArn=role_arn, RoleSessionName=session_name, DurationSeconds=duration,
            WebIdentityToken=token,
        )
    except Exception as exc:
        raise _explain(exc, client, "AssumeRoleWithWebIdentity", profile_name) from None
    arn = response.get("AssumedRoleUser", {}).get("Arn")
    return _session(response, account_from_arn(role_arn), arn)
