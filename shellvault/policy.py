"""The IAM policy documents a central-user-plus-roles setup needs, built from the config.

Two kinds, both complete documents (``Version`` + ``Statement``) that IAM accepts as is:

* a **trust policy** for each role profile: the identity the role is assumed from (the
  central IAM user, or the source role of a chained role) may call ``sts:AssumeRole``; for
  a user, only with MFA (``aws:MultiFactorAuthPresent``), optionally no older than
  ``max_mfa_age`` seconds (``aws:MultiFactorAuthAge``). Settings of the profile that need
  more than ``sts:AssumeRole`` add it: session tags ``sts:TagSession``, a source identity
  ``sts:SetSourceIdentity``, an external id the ``sts:ExternalId`` condition.
* an **identity policy** for each central user: ``sts:AssumeRole`` on exactly the role
  ARNs of the selected profiles that start from that user, plus the statements of AWS's
  documented example "IAM: Allows IAM users to self-manage an MFA device"
  (reference_policies_examples_iam_mfa-selfmanage), whose last statement denies
  everything else without MFA: the long-term key alone can then only obtain the MFA
  session (``sts:GetSessionToken``) and manage its own device.

Nothing here does I/O; ``iam.py`` applies the documents.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from .config import AwsConfig, Profile
from .errors import UsageError

VERSION = "2012-10-17"

#: The inline policy name shellvault writes on the central user (``--apply``).
IDENTITY_POLICY_NAME = "shellvault-assume-roles"

_ARN = re.compile(r"^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):(iam|sts)::(\d{12}):(.+)$")
ROLE_ARN = re.compile(r"^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):iam::(\d{12}):role/"
                      r"([\w+=,.@/-]+)$")
USER_ARN = re.compile(r"^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):iam::(\d{12}):user/"
                      r"([\w+=,.@/-]+)$")
MFA_ARN = re.compile(r"^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):iam::(\d{12}):"
                     r"(mfa|u2f)/([\w+=,.@/-]+)$")


class TrustPolicy(NamedTuple):
    profile: str
    role_arn: str
    document: dict[str, Any]


class IdentityPolicy(NamedTuple):
    profile: str  # the root profile whose stored key belongs to the user
    user_arn: str
    policy_name: str
    document: dict[str, Any]


def partition_of(arn: str) -> str:
    match = _ARN.match(arn)
    return match.group(1) if match else "aws"


def role_name(role_arn: str) -> str:
    """``Admin`` of ``arn:aws:iam::1:role/path/Admin`` (the path is not part of the name)."""
    return role_arn.rsplit("/", 1)[-1]


def role_path(role_arn: str) -> str:
    """``/path/`` of ``arn:aws:iam::1:role/path/Admin``; ``/`` without a path."""
    resource = role_arn.split(":", 5)[5]  # role/path/Admin
    parts = resource.split("/")[1:-1]
    return "/" + "".join(p + "/" for p in parts)


def user_name(user_arn: str) -> str:
    return user_arn.rsplit("/", 1)[-1]


def _self_manage_mfa(partition: str) -> list[dict[str, Any]]:
    """AWS's documented self-service MFA statements, in its order and with its Sids."""
    user = f"arn:{partition}:iam::*:user/${{aws:username}}"
    return [
        {
            "Sid": "AllowListActions",
            "Effect": "Allow",
            "Action": ["iam:ListUsers", "iam:ListVirtualMFADevices"],
            "Resource": "*",
        },
        {
            "Sid": "AllowUserToCreateVirtualMFADevice",
            "Effect": "Allow",
            "Action": ["iam:CreateVirtualMFADevice"],
            "Resource": f"arn:{partition}:iam::*:mfa/*",
        },
        {
            "Sid": "AllowUserToManageTheirOwnMFA",
            "Effect": "Allow",
            "Action": [
                "iam:EnableMFADevice",
                "iam:GetMFADevice",
                "iam:ListMFADevices",
                "iam:ResyncMFADevice",
            ],
            "Resource": user,
        },
        {
            "Sid": "AllowUserToDeactivateTheirOwnMFAOnlyWhenUsingMFA",
            "Effect": "Allow",
            "Action": ["iam:DeactivateMFADevice"],
            "Resource": [user],
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        },
        {
            "Sid": "BlockMostAccessUnlessSignedInWithMFA",
            "Effect": "Deny",
            "NotAction": [
                "iam:CreateVirtualMFADevice",
                "iam:EnableMFADevice",
                "iam:GetUser",
                "iam:GetMFADevice",
                "iam:ListMFADevices",
                "iam:ListVirtualMFADevices",
                "iam:ResyncMFADevice",
                "sts:GetSessionToken",
            ],
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        },
    ]


def _actions(profile: Profile) -> list[str] | str:
    actions = ["sts:AssumeRole"]
    if profile.session_tags or profile.transitive_session_tags:
        actions.append("sts:TagSession")
    if profile.source_identity:
        actions.append("sts:SetSourceIdentity")
    return actions if len(actions) > 1 else actions[0]


def trust_policy(profile: Profile, principal_arn: str, *, max_mfa_age: int | None = None,
                 mfa: bool = True) -> dict[str, Any]:
    """The trust policy of ``profile``'s role for ``principal_arn``."""
    condition: dict[str, dict[str, str]] = {}
    if mfa:
        condition["Bool"] = {"aws:MultiFactorAuthPresent": "true"}
        if max_mfa_age:
            condition["NumericLessThan"] = {"aws:MultiFactorAuthAge": str(max_mfa_age)}
    if profile.external_id:
        condition["StringEquals"] = {"sts:ExternalId": profile.external_id}
    statement: dict[str, Any] = {
        "Sid": "ShellvaultAssumeWithMFA" if mfa else "ShellvaultAssume",
        "Effect": "Allow",
        "Principal": {"AWS": principal_arn},
        "Action": _actions(profile),
    }
    if condition:
        statement["Condition"] = condition
    return {"Version": VERSION, "Statement": [statement]}


def identity_policy(user_arn: str, role_arns: Iterable[str]) -> dict[str, Any]:
    """The central user's own policy: assume exactly these roles, manage its MFA device."""
    roles = sorted(dict.fromkeys(role_arns))
    statements: list[dict[str, Any]] = []
    if roles:
        statements.append({
            "Sid": "ShellvaultAssumeConfiguredRoles",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": roles if len(roles) > 1 else roles[0],
        })
    statements += _self_manage_mfa(partition_of(user_arn))
    return {"Version": VERSION, "Statement": statements}


def user_from_mfa_serial(mfa_serial: str | None) -> str | None:
    """``arn:aws:iam::1:user/alice`` for ``arn:aws:iam::1:mfa/alice``: the name AWS's
    console suggests for a user's first virtual device. Only a guess; callers prefer
    GetCallerIdentity or ``--user-arn``."""
    match = MFA_ARN.match(mfa_serial or "")
    if not match:
        return None
    return f"arn:{match.group(1)}:iam::{match.group(2)}:user/{match.group(4)}"


class Plan(NamedTuple):
    trust: list[TrustPolicy]
    identity: list[IdentityPolicy]


def role_profiles(config: AwsConfig, names: Iterable[str] | None) -> list[Profile]:
    """The named profiles resolved (every role profile of the config when none is named)."""
    wanted = list(names or [])
    if not wanted:
        resolved = []
        for name in config.profile_names():
            try:
                profile = config.resolve(name, {})
            except Exception:  # a broken profile is reported when it is named (or by doctor)
                continue
            if profile.role_arn:
                resolved.append(profile)
        if not resolved:
            raise UsageError(
                f"no role profile in {config.path}; add one with "
                "'shellvault role add NAME --role-arn ARN --from SOURCE'"
            )
        return resolved
    out = []
    for name in wanted:
        profile = config.resolve(name, {})
        if not profile.role_arn:
            raise UsageError(f"profile {name} has no role_arn: only role profiles have a trust "
                             "policy (name the roles that start from it)")
        out.append(profile)
    return out


def plan(profiles: list[Profile], user_arns: dict[str, str], *,
         max_mfa_age: int | None = None) -> Plan:
    """Every document for ``profiles``; ``user_arns`` maps root profile -> IAM user ARN."""
    trust: list[TrustPolicy] = []
    roles_by_root: dict[str, list[str]] = {}
    for profile in profiles:
        role_arn = str(profile.role_arn)
        if not ROLE_ARN.match(role_arn):
            raise UsageError(f"role_arn {role_arn!r} of profile {profile.name} is not a role ARN "
                             "(arn:aws:iam::ACCOUNT:role/NAME)")
        source = profile.source
        if source is not None and source.role_arn:
            # A chained role trusts the role before it; MFA does not travel along a chain.
            document = trust_policy(profile, str(source.role_arn), mfa=False)
        else:
            root = profile.root()
            if root.name not in user_arns:
                raise UsageError(f"which IAM user is {root.name}? store its key with "
                                 f"'shellvault add {root.name}' or pass --user-arn")
            document = trust_policy(profile, user_arns[root.name], max_mfa_age=max_mfa_age)
            roles_by_root.setdefault(root.name, []).append(role_arn)
        trust.append(TrustPolicy(profile.name, role_arn, document))
    identity = [
        IdentityPolicy(root, user_arns[root], IDENTITY_POLICY_NAME,
                       identity_policy(user_arns[root], roles))
        for root, roles in roles_by_root.items()
    ]
    return Plan(trust, identity)
