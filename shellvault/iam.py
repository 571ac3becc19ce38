"""The IAM (and identity) calls of the setup commands, through boto3, in bounded time.

* ``whoami``: the IAM user ARN of a key (GetCallerIdentity, which no policy can deny).
* ``mfa_devices``: the user's MFA devices (ListMFADevices on the user itself; AWS's
  self-service policy allows it without MFA, so it works with a brand-new key).
* ``apply_identity`` / ``apply_trust``: create or update the documents of ``policy.py``
  and say what changed.

Each call has a deadline: 5 s to connect, ``read_timeout`` to answer, at most
``attempts`` tries (botocore's standard retry mode), so nothing waits for ever.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from typing import Any, NamedTuple

from .creds import Credentials
from .errors import ShellvaultError
from .policy import role_name, role_path, user_name

DEFAULT_REGION = "us-east-1"


class Change(NamedTuple):
    what: str  # "created" / "updated" / "unchanged"
    text: str  # the whole line: what, where


def client(service: str, creds: Credentials, region: str | None = None, *,
           read_timeout: int = 10, attempts: int = 2) -> Any:
    """A botocore client with explicit credentials and a deadline on every call.

    Endpoints follow botocore's own rules (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_IAM``),
    which is how tests point it at moto. No profile is read: the credentials are given.
    """
    import botocore.config
    import botocore.session

    session = botocore.session.Session()
    config = botocore.config.Config(
        connect_timeout=5,
        read_timeout=read_timeout,
        retries={"mode": "standard", "max_attempts": attempts},
        user_agent_extra="shellvault",
    )
    return session.create_client(
        service,
        region_name=region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        or DEFAULT_REGION,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        aws_session_token=creds.session_token,
        config=config,
    )


def explain(exc: Exception, action: str, endpoint: str = "AWS") -> ShellvaultError:
    """One line for a botocore failure of ``action``."""
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        return ShellvaultError(f"{action}: cannot reach {endpoint}; check your network or proxy")
    if isinstance(exc, ReadTimeoutError):
        return ShellvaultError(f"{action}: {endpoint} did not answer in time; try again")
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = " ".join(str(error.get("Message", "")).split()).rstrip(".")
        return ShellvaultError(f"{action} failed: {code}: {message}")
    return ShellvaultError(f"{action} failed: {exc.__class__.__name__}")


def error_code(exc: Exception) -> str:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def whoami(creds: Credentials, region: str | None = None, *, read_timeout: int = 10,
           attempts: int = 2) -> dict[str, str]:
    """GetCallerIdentity: ``{"Account", "Arn", "UserId"}``."""
    sts = client("sts", creds, region, read_timeout=read_timeout, attempts=attempts)
    try:
        answer = sts.get_caller_identity()
    except Exception as exc:
        raise explain(exc, "GetCallerIdentity", sts.meta.endpoint_url) from None
    return {k: str(answer.get(k, "")) for k in ("Account", "Arn", "UserId")}


def mfa_devices(creds: Credentials, user_arn: str, region: str | None = None) -> list[str]:
    """Serial numbers of the user's MFA devices (ListMFADevices, the user's own)."""
    iam = client("iam", creds, region)
    try:
        answer = iam.list_mfa_devices(UserName=user_name(user_arn))
    except Exception as exc:
        raise explain(exc, "ListMFADevices", iam.meta.endpoint_url) from None
    return [str(d["SerialNumber"]) for d in answer.get("MFADevices", [])]


def _document(value: Any) -> Any:
    """IAM returns documents URL-encoded; botocore usually decodes them already."""
    if isinstance(value, str):
        return json.loads(urllib.parse.unquote(value))
    return value


def apply_identity(creds: Credentials, user_arn: str, policy_name: str,
                   document: dict[str, Any]) -> Change:
    """Put ``document`` as the inline policy ``policy_name`` of the user."""
    iam = client("iam", creds)
    name = user_name(user_arn)
    where = f"inline policy {policy_name} of IAM user {name}"
    try:
        current = _document(iam.get_user_policy(UserName=name, PolicyName=policy_name)
                            ["PolicyDocument"])
    except Exception as exc:
        if error_code(exc) != "NoSuchEntity":
            raise explain(exc, f"reading the {where}", iam.meta.endpoint_url) from None
        current = None
    if current == document:
        return Change("unchanged", f"unchanged: {where}")
    try:
        iam.put_user_policy(UserName=name, PolicyName=policy_name,
                            PolicyDocument=json.dumps(document))
    except Exception as exc:
        raise explain(exc, f"writing the {where} (iam:PutUserPolicy)",
                      iam.meta.endpoint_url) from None
    verb = "created" if current is None else "updated"
    return Change(verb, f"{verb}: {where}")


def apply_trust(creds: Credentials, role_arn: str, document: dict[str, Any],
                region: str | None = None) -> Change:
    """Set the trust policy of ``role_arn`` (create the role if the caller may)."""
    iam = client("iam", creds, region)
    name = role_name(role_arn)
    account = role_arn.split(":")[4]
    where = f"trust policy of role {name} in account {account}"
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except Exception as exc:
        if error_code(exc) != "NoSuchEntity":
            raise explain(exc, f"reading the {where}", iam.meta.endpoint_url) from None
        role = None
    if role is None:
        try:
            iam.create_role(RoleName=name, Path=role_path(role_arn),
                            AssumeRolePolicyDocument=json.dumps(document))
        except Exception as exc:
            raise explain(exc, f"creating role {name} in account {account} (iam:CreateRole)",
                          iam.meta.endpoint_url) from None
        return Change("created", f"created: role {name} in account {account} with its trust "
                      "policy (attach its permissions yourself)")
    if _document(role.get("AssumeRolePolicyDocument")) == document:
        return Change("unchanged", f"unchanged: {where}")
    try:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(document))
    except Exception as exc:
        raise explain(exc, f"updating the {where} (iam:UpdateAssumeRolePolicy)",
                      iam.meta.endpoint_url) from None
    return Change("updated", f"updated: {where}")
