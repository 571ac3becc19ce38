"""aws-vault's own config test cases, run black-box: the STS requests a profile leads to.

"Your aws-vault config works unchanged", measured. Every case of aws-vault's suites that
concerns resolving a profile or the STS calls it leads to, from 99designs/aws-vault (v7,
e22aea1) and the maintained fork ByteNess/aws-vault (baf800b): ``vault/config_test.go``,
``vault/vault_test.go``, ``vault/config_mfa_process_test.go``, ``cli/global_test.go``,
``cli/exec_test.go``, ``cli/export_test.go``. Where the two disagree, ByteNess (the one
maintained, and the one that fixed 99designs' 1 h role-chaining failures) is the reference.

Each row is the case's INI byte for byte, the profile, the environment, the profiles whose
long-term keys are in the vault, and what aws-vault sends to STS (action, role ARN, MFA
serial and code, durations, tags, transitive tag keys, source identity, external id,
session name, signing region) or the error it gives. The installed ``shellvault`` runs
``env`` against the moto server and moto's request recorder says what really arrived:
nothing here calls shellvault's internals, so the table survives refactors.

A row is one of
  * ``SAME``: shellvault sends exactly what aws-vault sends;
  * ``DEPARTURE``: shellvault deliberately sends something else (``shellvault=`` says
    what, and the departure is documented in the README's aws-vault section, in
    README.ja.md and in the config package's docstring: ``test_departures_are_documented``);
  * ``SSO``: IAM Identity Center profiles (their own tests run against the SSO stand-in);
    here: no STS request, and with nobody signed in, exit 5 naming the sso-session and
    the profile to sign in with, which shows whose settings the profile resolved to
    (exit 2 for the one case that names no role).

The Go tests that build a ``ProfileConfig`` by hand set ``MfaToken``; here that is
``--mfa-token 123456``. A Go ``BaseConfig`` duration is the matching aws-vault variable
(``AWS_ASSUME_ROLE_TTL``, ``AWS_CHAINED_SESSION_TOKEN_TTL``). Session-tag cases whose profile
has no role would send no AssumeRole at all; ``AWS_ROLE_ARN`` (which aws-vault applies to
the requested profile only) makes their tags reach STS. aws-vault's default role session
name is a timestamp, so an unset ``role_session_name`` is only required to be present.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT, MotoServer, RecordedCall, SvHome

CODE = "123456"  # what --mfa-token gives
SOURCE_OTP = "111111"  # what the fake mfa_process programs print
TARGET_OTP = "222222"
OP_OTP = "333333"
WEB_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzaGVsbHZhdWx0In0.c2lnbmF0dXJl"

ANY = object()  # "present, any value" (aws-vault's default session name is a timestamp)


@dataclass(frozen=True)
class Call:
    """One STS request, as moto's recorder saw it. None: the parameter is absent;
    region None: not compared (aws-vault leaves it to the SDK)."""

    action: str
    role_arn: str | None = None
    mfa_serial: str | None = None
    token_code: str | None = None
    duration: int | None = None
    tags: Mapping[str, str] | None = None
    transitive: tuple[str, ...] | None = None
    source_identity: str | None = None
    external_id: str | None = None
    session_name: object = None
    web_identity_token: str | None = None
    region: str | None = None


def gst(duration: int, serial: str | None = None, code: str | None = CODE,
        region: str | None = None) -> Call:
    return Call("GetSessionToken", mfa_serial=serial, token_code=code if serial else None,
                duration=duration, region=region)


def ar(role: str, duration: int = 3600, *, serial: str | None = None, code: str = CODE,
       session_name: object = ANY, region: str | None = None, **kw: Any) -> Call:
    return Call("AssumeRole", role_arn=role, mfa_serial=serial,
                token_code=code if serial else None, duration=duration,
                session_name=session_name, region=region, **kw)


@dataclass(frozen=True)
class Fails:
    """aws-vault refuses: no STS request, a non-zero exit, the words in the message."""

    words: tuple[str, ...]
    code: int | None = None  # the exit code, when it matters (SSO rows)


Outcome = tuple[Call, ...] | Fails

SAME, DEPARTURE, SSO = "same", "departure", "sso"

# Each deliberate departure: why, and the words that document it in README.md (its
# aws-vault section), README.ja.md and config.py's module docstring.
DEPARTURES: dict[str, dict[str, str]] = {
    "mfa-session-for-role-serial": {
        "why": "mfa_serial only on the role profile (AWS CLI style): shellvault still takes "
               "one MFA session (GetSessionToken) that every role with that device shares; "
               "aws-vault sends the code with each AssumeRole",
        "README.md": "`mfa_serial` only on the role",
        "README.ja.md": "ロールのプロファイルだけに `mfa_serial`",
        "config.py": "only on the role profile",
    },
    "own-keys-role-mfa-session": {
        "why": "a role profile holding its own keys and an mfa_serial (role <= 1 h): "
               "GetSessionToken then AssumeRole, so the hourly role refresh reuses the MFA "
               "session without a prompt; aws-vault sends one AssumeRole with the code",
        "README.md": "holds its own keys",
        "README.ja.md": "自身のアクセスキー",
        "config.py": "holds its own keys",
    },
}


@dataclass(frozen=True)
class Row:
    id: str
    origin: str  # repository: file: test (sub-case)
    ini: str
    profile: str
    aws_vault: Outcome
    keys: tuple[str, ...] = ()  # profiles whose long-term keys are stored
    env: Mapping[str, str] = field(default_factory=dict)
    mfa_token: bool = True  # pass --mfa-token (False: an mfa_process must answer)
    kind: str = SAME
    shellvault: Outcome | None = None  # DEPARTURE: what shellvault sends instead
    departure: str | None = None  # DEPARTURE: key of DEPARTURES
    sts_answers: bool = True  # False: no STS could answer the case's request (bad ARN)
    differs: str = ""  # a difference of issue 15 not fixed yet: the row must fail (strict)
    note: str = ""


# --------------------------------------------------------------------------- the INIs

# vault/config_test.go exampleConfig (99designs; ByteNess adds [profile withendpointurl])
EXAMPLE_99 = """# an example profile file
[default]
region=us-west-2
output=json

[profile user2]
REGION=us-east-1
output=text

[profile withsource]
source_profile=user2
region=us-east-1

[profile withMFA]
source_profile=user2
Role_Arn=arn:aws:iam::4451234513441615400570:role/aws_admin
mfa_Serial=arn:aws:iam::1234513441:mfa/blah
Region=us-east-1
duration_seconds=1200
sts_regional_endpoints=legacy

[profile testincludeprofile1]
region=us-east-1

[profile testincludeprofile2]
include_profile=testincludeprofile1

[profile with-sso-session]
sso_session = moon-sso
sso_account_id=123456
region = moon-1 # Different from sso region

[sso-session moon-sso]
sso_start_url = https://d-123456789.example.com/start
sso_region = moon-2  # Different from profile region
sso_registration_scopes = sso:account:access
"""

EXAMPLE_BN = EXAMPLE_99.replace(
    "sts_regional_endpoints=legacy\n\n",
    "sts_regional_endpoints=legacy\n\n"
    "[profile withendpointurl]\nregion=us-east-1\nendpoint_url=https://localhost:1234\n\n",
)

NESTED = """[default]

[profile testing]
aws_access_key_id=foo
aws_secret_access_key=bar
region=us-west-2
s3=
  max_concurrent_requests=10
  max_queue_size=1000
"""

DEFAULT_HEADERS = """[DEFAULT]
region=us-east-1
[default]
region=us-west-2
"""

SELF_SOURCE = """
[profile foo]
source_profile=foo
"""

PARENT_SOURCE = """
[profile root]

[profile foo]
include_profile=root
source_profile=root
"""

TAGGED = """
[profile tagged]
session_tags = tag1 = value1 , tag2=value2 ,tag3=value3
transitive_session_tags = tagOne ,tagTwo,tagThree
"""

TAGGED_CHAIN = """
[profile base]

[profile interim]
session_tags=tag1=value1
transitive_session_tags=tag2
source_profile = base

[profile target]
session_tags=tagA=valueA
transitive_session_tags=tagB
source_profile = interim
"""

WEB_IDENTITY = """
[profile role2]
role_arn = arn:aws:iam::33333333333:role/role2
web_identity_token_process = oidccli raw
"""

ISSUE_1176 = """
[profile my-shared-base-profile]
credential_process=aws-vault exec my-shared-base-profile -j
mfa_serial=arn:aws:iam::1234567890:mfa/danielholz
region=eu-west-1

[profile profile-with-role]
source_profile=my-shared-base-profile
include_profile=my-shared-base-profile
region=eu-west-1
role_arn=arn:aws:iam::12345678901:role/allow-view-only-access-from-other-accounts
"""

ISSUE_1195 = """
[profile test]
source_profile=dev
region=ap-northeast-2

[profile dev]
sso_session=common
sso_account_id=2160xxxx
sso_role_name=AdministratorAccess
region=ap-northeast-2
output=json

[default]
sso_session=common
sso_account_id=3701xxxx
sso_role_name=AdministratorAccess
region=ap-northeast-2
output=json

[sso-session common]
sso_start_url=https://xxxx.awsapps.com/start
sso_region=ap-northeast-2
sso_registration_scopes=sso:account:access
"""

DIRECT_ROLE = """
[profile target]
role_arn=arn:aws:iam::111111111111:role/target
mfa_serial=arn:aws:iam::111111111111:mfa/user
"""

ROLE_TO_ROLE = """
[profile source]
role_arn=arn:aws:iam::111111111111:role/source
mfa_serial=arn:aws:iam::111111111111:mfa/user

[profile target]
source_profile=source
role_arn=arn:aws:iam::222222222222:role/target
mfa_serial=arn:aws:iam::111111111111:mfa/user
"""

ROLE_TO_PLAIN = """
[profile source]
role_arn=arn:aws:iam::111111111111:role/source
mfa_serial=arn:aws:iam::111111111111:mfa/user

[profile target]
source_profile=source
"""

DEFAULT_MFA_CHAIN = """
[default]
mfa_serial=arn:aws:iam::111111111111:mfa/user

[profile source]
region=eu-west-1
duration_seconds=7200

[profile admin]
role_arn=arn:aws:iam::222222222222:role/admin
source_profile=source
role_session_name=user
duration_seconds=7200

[profile target]
role_arn=arn:aws:iam::333333333333:role/target
role_session_name=user
source_profile=admin
duration_seconds=7200
"""

SOURCE_TO_ROLE = """
[profile source]
region=us-east-1
mfa_serial=arn:aws:iam::111111111111:mfa/user

[profile target]
source_profile=source
region=us-east-1
mfa_serial=arn:aws:iam::111111111111:mfa/user
role_arn=arn:aws:iam::111111111111:role/target
"""

ALIASED = """
[profile source]
region=us-east-1
mfa_serial=arn:aws:iam::111111111111:mfa/user

[profile alias]
source_profile=source
region=us-east-1
mfa_serial=arn:aws:iam::111111111111:mfa/user

[profile target]
source_profile=alias
region=us-east-1
mfa_serial=arn:aws:iam::111111111111:mfa/user
role_arn=arn:aws:iam::111111111111:role/target
"""

PASSTHROUGH = """
[profile source]
mfa_serial=arn:aws:iam::111111111111:mfa/user

[profile admin]
source_profile=source
mfa_serial=arn:aws:iam::111111111111:mfa/user
role_arn=arn:aws:iam::222222222222:role/admin
role_session_name=user

[profile passthrough]
source_profile=admin
region=us-east-1

[profile target]
source_profile=passthrough
mfa_serial=arn:aws:iam::111111111111:mfa/user
role_arn=arn:aws:iam::333333333333:role/target
role_session_name=user
"""

ISSUE_389 = """
[profile fooprofile]
credential_process = aws-vault export --debug --format=json fooprofile
mfa_process = op item get 'AWS Login' --otp
mfa_serial = arn:aws:iam::123456789012:mfa/me
region = us-east-1

[profile barprofile]
mfa_serial = arn:aws:iam::123456789012:mfa/me
region = us-east-1
role_arn = arn:aws:iam::987654321098:role/Administrator
source_profile = fooprofile
"""

MFA_PROCESS_OWN = """
[profile source]
mfa_process = source-otp
mfa_serial = arn:aws:iam::123456789012:mfa/me
region = us-east-1

[profile target]
mfa_process = target-otp
mfa_serial = arn:aws:iam::123456789012:mfa/me
role_arn = arn:aws:iam::987654321098:role/Administrator
source_profile = source
region = us-east-1
"""

ISSUE_377 = """[sso-session login-session]
sso_start_url = https://example.awsapps.com/start#/
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[default]
region = us-east-1
sso_account_id = 222222222222
sso_session = login-session
sso_role_name = ReadOnly

[profile demo]
region = us-east-1
sso_account_id = 333333333333
sso_session = login-session
sso_role_name = ReadOnly
"""

LLAMAS = "[profile llamas]\nregion = us-east-1\n"

# TestSetSessionTags / TestSetTransitiveSessionTags test a string, not a file: their strings
# go into this one-profile INI (the file reader trims the value's outer spaces first).
TAG_STRING_INI = "[profile tagged]\nrole_arn = {role}\n{key} = {value}\n"
TAGGED_ROLE = "arn:aws:iam::111111111111:role/tagged"

# --------------------------------------------------------------------------- the table

U = "arn:aws:iam::111111111111:mfa/user"
C99 = "99designs vault/config_test.go"
CBN = "ByteNess vault/config_test.go"
V99 = "99designs vault/vault_test.go"
VBN = "ByteNess vault/vault_test.go"
MBN = "ByteNess vault/config_mfa_process_test.go"
GBN = "ByteNess cli/global_test.go"
WITH_MFA_ROLE = "arn:aws:iam::4451234513441615400570:role/aws_admin"
BLAH = "arn:aws:iam::1234513441:mfa/blah"
ME = "arn:aws:iam::123456789012:mfa/me"
ADMIN_987 = "arn:aws:iam::987654321098:role/Administrator"
TWELVE_HOURS = {"AWS_ASSUME_ROLE_TTL": "12h", "AWS_CHAINED_SESSION_TOKEN_TTL": "12h"}

ROWS: list[Row] = [
    # -- exampleConfig, profile by profile ---------------------------------------------------
    Row("example-user2", f"{C99}: TestConfigParsingProfiles (user2)", EXAMPLE_99, "user2",
        (gst(3600, region="us-east-1"),), keys=("user2",)),
    Row("example-withsource", f"{C99}: TestConfigParsingProfiles (withsource)", EXAMPLE_99,
        "withsource", (gst(3600, region="us-east-1"),), keys=("user2",)),
    Row("example-withMFA", f"{C99}: TestProfileNameCaseSensitivity, TestConfigParsingProfiles "
        "(withMFA)", EXAMPLE_99, "withMFA",
        (ar(WITH_MFA_ROLE, 1200, serial=BLAH, region="us-east-1"),), keys=("user2",),
        kind=DEPARTURE, departure="mfa-session-for-role-serial",
        shellvault=(gst(28800, BLAH, region="us-east-1"),
                    ar(WITH_MFA_ROLE, 1200, region="us-east-1")),
        sts_answers=False, note="the role ARN's 22-digit account: STS (moto) cannot answer"),
    Row("example-default", f"{C99}: TestConfigParsingDefault", EXAMPLE_99, "default",
        (gst(3600, region="us-west-2"),), keys=("default",)),
    Row("example-include", f"{C99}: TestIncludeProfile", EXAMPLE_99, "testincludeprofile2",
        (gst(3600, region="us-east-1"),), keys=("testincludeprofile2",)),
    Row("example-sso-session", f"{C99}: TestIncludeSsoSession", EXAMPLE_99, "with-sso-session",
        Fails(("with-sso-session", "sso_role_name"), code=2), kind=SSO,
        note="the case sets no sso_role_name (its Go test reads the settings only): "
             "aws-vault's GetRoleCredentials could not succeed either"),
    Row("example-endpoint-url", f"{CBN}: TestConfigParsingProfiles (withendpointurl)",
        EXAMPLE_BN, "withendpointurl", (gst(3600, region="us-east-1"),),
        keys=("withendpointurl",),
        note="AWS_ENDPOINT_URL (moto) wins over the file's endpoint_url in both"),
    # -- other config_test.go files --------------------------------------------------------
    Row("nested-values", f"{C99}: TestAddProfileToExistingNestedConfig (nestedConfig)", NESTED,
        "testing", (gst(3600, region="us-west-2"),), keys=("testing",)),
    Row("DEFAULT-section", f"{C99}: TestIniWithDEFAULTHeader", DEFAULT_HEADERS, "default",
        (gst(3600, region="us-west-2"),), keys=("default",)),
    Row("source-is-itself", f"{C99}: TestLoadedProfileDoesntReferToItself", SELF_SOURCE, "foo",
        (gst(3600),), keys=("foo",)),
    Row("source-is-include", f"{C99}: TestSourceProfileCanReferToParent", PARENT_SOURCE, "foo",
        (gst(3600),), keys=("root",)),
    Row("tags-from-ini", f"{C99}: TestSessionTaggingFromIni", TAGGED, "tagged",
        (ar(TAGGED_ROLE, tags={"tag1": "value1", "tag2": "value2", "tag3": "value3"},
            transitive=("tagOne", "tagTwo", "tagThree")),),
        keys=("tagged",), env={"AWS_ROLE_ARN": TAGGED_ROLE}),
    Row("tags-from-env", f"{C99}: TestSessionTaggingFromEnvironment", TAGGED, "tagged",
        (ar(TAGGED_ROLE, tags={"tagA": "val1", "tagB": "val2", "tagC": "val3"},
            transitive=("tagD", "tagE")),),
        keys=("tagged",),
        env={"AWS_ROLE_ARN": TAGGED_ROLE, "AWS_SESSION_TAGS": " tagA = val1 , tagB=val2 ,tagC=val3",
             "AWS_TRANSITIVE_TAGS": " tagD ,tagE"}),
    Row("tags-from-env-chained", f"{C99}: TestSessionTaggingFromEnvironmentChainedRoles",
        TAGGED_CHAIN, "target",
        (ar("arn:aws:iam::111111111111:role/target", tags={"tagI": "valI"},
            transitive=("tagII",)),),
        keys=("base",),
        env={"AWS_ROLE_ARN": "arn:aws:iam::111111111111:role/target",
             "AWS_SESSION_TAGS": "tagI=valI", "AWS_TRANSITIVE_TAGS": " tagII"}),
    # -- vault_test.go -----------------------------------------------------------------------
    Row("web-identity-process", f"{V99} and {VBN}: TestUsageWebIdentityExample", WEB_IDENTITY,
        "role2",
        (Call("AssumeRoleWithWebIdentity", role_arn="arn:aws:iam::33333333333:role/role2",
              duration=3600, session_name=ANY, web_identity_token=WEB_TOKEN),)),
    Row("credential-process-root", f"{V99} and {VBN}: TestIssue1176", ISSUE_1176,
        "my-shared-base-profile", (), note="the fake aws-vault on PATH prints credentials"),
    Row("sso-source-profile", f"{V99} and {VBN}: TestIssue1195", ISSUE_1195, "test",
        Fails(("common", "sso login dev"), code=5), kind=SSO,
        note="dev's account (2160xxxx), not [default]'s: the sign-in asked for is dev's"),
    Row("own-keys-role-mfa", f"{VBN}: TestDirectRoleLoginDoesNotUseGetSessionToken", DIRECT_ROLE,
        "target", (ar("arn:aws:iam::111111111111:role/target", serial=U),), keys=("target",),
        kind=DEPARTURE, departure="own-keys-role-mfa-session",
        shellvault=(gst(28800, U), ar("arn:aws:iam::111111111111:role/target"))),
    Row("role-to-role-mfa", f"{VBN}: TestRoleChainingMfaUsesGetSessionTokenBeforeAssumeRole",
        ROLE_TO_ROLE, "target",
        (gst(28800, U), ar("arn:aws:iam::111111111111:role/source"),
         ar("arn:aws:iam::222222222222:role/target")), keys=("source",)),
    Row("own-keys-role-then-plain", f"{VBN}: TestNonRoleChainingFlowDoesNotUseChainedMfaPath",
        ROLE_TO_PLAIN, "target", (ar("arn:aws:iam::111111111111:role/source", serial=U),),
        keys=("source",), kind=DEPARTURE, departure="own-keys-role-mfa-session",
        shellvault=(gst(28800, U), ar("arn:aws:iam::111111111111:role/source"))),
    Row("default-mfa-long-chain",
        f"{VBN}: TestDefaultMfaRoleChainDoesNotCallGetSessionTokenWithSessionCreds",
        DEFAULT_MFA_CHAIN, "target",
        (gst(28800, U, region="eu-west-1"),
         ar("arn:aws:iam::222222222222:role/admin", session_name="user"),
         ar("arn:aws:iam::333333333333:role/target", session_name="user")), keys=("source",)),
    Row("chain-12h-capped", f"{VBN}: TestRoleChainingCapsAssumeRoleDurationToOneHour",
        ROLE_TO_ROLE, "target",
        (gst(43200, U), ar("arn:aws:iam::111111111111:role/source"),
         ar("arn:aws:iam::222222222222:role/target")), keys=("source",), env=TWELVE_HOURS),
    Row("single-role-12h", f"{VBN}: TestSourceProfileRoleLoginDoesNotCapAssumeRoleDuration",
        SOURCE_TO_ROLE, "target",
        (ar("arn:aws:iam::111111111111:role/target", 43200, serial=U, region="us-east-1"),),
        keys=("source",), env=TWELVE_HOURS),
    Row("aliased-single-role-12h",
        f"{VBN}: TestAliasedSourceProfileRoleLoginDoesNotCapAssumeRoleDuration", ALIASED,
        "target",
        (ar("arn:aws:iam::111111111111:role/target", 43200, serial=U, region="us-east-1"),),
        keys=("source",), env=TWELVE_HOURS),
    Row("single-role-shared-session", f"{VBN}: TestSingleRoleWithinCapPrimesGetSessionToken",
        SOURCE_TO_ROLE, "target",
        (gst(28800, U, region="us-east-1"),
         ar("arn:aws:iam::111111111111:role/target", region="us-east-1")), keys=("source",)),
    Row("passthrough-chain-12h",
        f"{VBN}: TestPassthroughRoleChainingCapsAssumeRoleDurationToOneHour", PASSTHROUGH,
        "target",
        (gst(43200, U), ar("arn:aws:iam::222222222222:role/admin", session_name="user"),
         ar("arn:aws:iam::333333333333:role/target", session_name="user", region="us-east-1")),
        keys=("source",), env=TWELVE_HOURS),
    # -- config_mfa_process_test.go ----------------------------------------------------------
    Row("mfa-process-inherited", f"{MBN}: TestMfaProcessInheritedFromSourceProfile", ISSUE_389,
        "barprofile", (ar(ADMIN_987, serial=ME, code=OP_OTP, region="us-east-1"),),
        mfa_token=False, note="fake aws-vault and op on PATH"),
    Row("mfa-process-own", f"{MBN}: TestMfaProcessOnProfileNotOverriddenBySource",
        MFA_PROCESS_OWN, "target",
        (gst(28800, ME, code=SOURCE_OTP, region="us-east-1"), ar(ADMIN_987, region="us-east-1")),
        keys=("source",), mfa_token=False,
        note="the shared MFA session is the source's: its mfa_process gives the code"),
    # -- cli tests ---------------------------------------------------------------------------
    Row("resolvable-demo", f"{GBN}: TestProfileResolvable (named profile)", ISSUE_377, "demo",
        Fails(("login-session", "sso login demo"), code=5), kind=SSO),
    Row("resolvable-default", f"{GBN}: TestProfileResolvable (the default profile)", ISSUE_377,
        "default", Fails(("login-session", "sso login default"), code=5), kind=SSO),
    Row("resolvable-creds-only", f"{GBN}: TestProfileResolvable (credentials-only profile)",
        ISSUE_377, "creds-only", (gst(3600, region="us-east-1"),), keys=("creds-only",),
        note="no section: [default]'s settings; stored keys win over its SSO settings"),
    Row("resolvable-missing", f"{GBN}: TestProfileResolvable (non-existent profile), "
        "TestExecCommandRejectsMissingProfile, TestExportCommandRejectsMissingProfile",
        ISSUE_377, "invalid-profile", Fails(("invalid-profile",))),
    Row("resolvable-empty-name", f"{GBN}: TestProfileResolvable (empty profile name)", ISSUE_377,
        "", Fails(("profile",))),
    Row("exec-llamas", "ByteNess cli/exec_test.go: TestExecCommand", LLAMAS, "llamas",
        (gst(3600, region="us-east-1"),), keys=("llamas",),
        note="the case runs exec --no-session; shellvault has no --no-session, so this row "
             "compares the default (session) path"),
    Row("export-llamas-no-config", "ByteNess cli/export_test.go: ExampleExportCommand", "",
        "llamas", (gst(3600),), keys=("llamas",),
        note="empty config file, keys stored for llamas; --no-session as above"),
]

# TestSetSessionTags: each string as a profile's session_tags
for n, (value, tags) in enumerate([
    ("tag1=value1", {"tag1": "value1"}),
    ("tag2=value2,tag3=value3,tag4=value4", {"tag2": "value2", "tag3": "value3", "tag4": "value4"}),
    (" tagA = valueA ,  tagB  =  valueB  ,  tagC   =   valueC  ",
     {"tagA": "valueA", "tagB": "valueB", "tagC": "valueC"}),
    ("", None),
    ("tag1=value1,", "error"),
    ("tagA=valueA,tagB", "error"),
    ("tagOne,tagTwo=valueTwo", "error"),
    ("tagI=valueI,tagII,tagIII=valueIII", "error"),
]):
    outcome: Outcome = (
        Fails(("session_tags",)) if tags == "error"
        else (ar(TAGGED_ROLE, tags=tags if isinstance(tags, dict) else None),)
    )
    ROWS.append(Row(f"session-tags-{n}", f"{C99}: TestSetSessionTags ({value!r})",
                    TAG_STRING_INI.format(role=TAGGED_ROLE, key="session_tags", value=value),
                    "tagged", outcome, keys=("tagged",)))

# TestSetTransitiveSessionTags: each string as a profile's transitive_session_tags
for n, (value, keys) in enumerate([
    ("tag1", ("tag1",)), ("tag2,tag3,tag4", ("tag2", "tag3", "tag4")),
    (" tagA ,  tagB  ,   tagC   ", ("tagA", "tagB", "tagC")), ("tag1,", ("tag1",)),
    (",tagA", ("tagA",)), ("", None), (",", None),
]):
    ROWS.append(Row(f"transitive-tags-{n}", f"{C99}: TestSetTransitiveSessionTags ({value!r})",
                    TAG_STRING_INI.format(role=TAGGED_ROLE, key="transitive_session_tags",
                                          value=value),
                    "tagged", (ar(TAGGED_ROLE, transitive=keys),), keys=("tagged",)))


# --------------------------------------------------------------------------- observing


def _members(params: Mapping[str, str], prefix: str) -> list[str]:
    found = sorted((int(m.group(1)), v) for k, v in params.items()
                   if (m := re.fullmatch(re.escape(prefix) + r"\.member\.(\d+)", k)))
    return [v for _, v in found]


def observed(call: RecordedCall) -> Call:
    """A recorded STS request in the table's terms."""
    p = call.params
    tags = {p[f"Tags.member.{i}.Key"]: p[f"Tags.member.{i}.Value"]
            for i in range(1, 51) if f"Tags.member.{i}.Key" in p}
    transitive = tuple(_members(p, "TransitiveTagKeys"))
    duration = p.get("DurationSeconds")
    return Call(
        call.action,
        role_arn=p.get("RoleArn"),
        mfa_serial=p.get("SerialNumber"),
        token_code=p.get("TokenCode"),
        duration=int(duration) if duration is not None else None,
        tags=tags or None,
        transitive=transitive or None,
        source_identity=p.get("SourceIdentity"),
        external_id=p.get("ExternalId"),
        session_name=p.get("RoleSessionName"),
        web_identity_token=p.get("WebIdentityToken"),
        region=call.region or None,
    )


def comparable(seen: Call, want: Call) -> Call:
    """``seen`` with what ``want`` leaves open (ANY session name, region None) filled in
    from ``want``, so that == compares the rest."""
    session = seen.session_name
    if want.session_name is ANY and session:
        session = ANY
    return Call(**{**seen.__dict__, "session_name": session,
                   "region": seen.region if want.region is not None else None})


# --------------------------------------------------------------------------- the run

FAKE_PROGRAMS = {
    # credential_process = aws-vault exec|export ... : a credential JSON, valid for 1 h
    "aws-vault": """#!/bin/sh
exp=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
printf '{"Version":1,"AccessKeyId":"ASIAFAKEPROCESS00001","SecretAccessKey":"%s",' \\
  'fakeprocesssecretfakeprocesssecret00001'
printf '"SessionToken":"fake-process-token","Expiration":"%s"}\\n' "$exp"
""",
    "oidccli": f"#!/bin/sh\nprintf '%s' '{WEB_TOKEN}'\n",
    "op": f"#!/bin/sh\necho {OP_OTP}\n",
    "source-otp": f"#!/bin/sh\necho {SOURCE_OTP}\n",
    "target-otp": f"#!/bin/sh\necho {TARGET_OTP}\n",
}


@pytest.fixture(scope="module")
def fake_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Programs the rows' INIs name (credential_process, mfa_process, token process)."""
    directory = tmp_path_factory.mktemp("fake-bin")
    for name, text in FAKE_PROGRAMS.items():
        path = directory / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return directory


class KeySets:
    """Vaults holding the long-term keys of a set of profiles, each made once with
    ``shellvault add`` and copied into every row that stores the same set (the rows
    then differ only in what the file and the environment say)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.made: dict[tuple[str, ...], SvHome] = {}

    def install(self, keys: tuple[str, ...], home: SvHome) -> None:
        if not keys:
            return
        if keys not in self.made:
            maker = SvHome(self.root / f"keys-{len(self.made)}")
            for n, name in enumerate(keys):
                maker.add_keys(name, f"AKIAAWSVAULTCOMPAT{n:02d}", "compat" * 6 + "secret")
            self.made[keys] = maker
        maker = self.made[keys]
        data = Path(home.env["XDG_DATA_HOME"])
        shutil.rmtree(data)
        shutil.copytree(maker.env["XDG_DATA_HOME"], data, symlinks=True)
        home.env["SHELLVAULT_FILE_PASSPHRASE"] = maker.passphrase


@pytest.fixture(scope="module")
def key_sets(tmp_path_factory: pytest.TempPathFactory) -> KeySets:
    return KeySets(tmp_path_factory.mktemp("key-sets"))


def run_row(row: Row, home: SvHome, moto: MotoServer, fake_bin: Path,
            key_sets: KeySets) -> tuple[Any, list[RecordedCall]]:
    home.env["PATH"] = f"{fake_bin}{os.pathsep}{home.env['PATH']}"
    home.env["AWS_ENDPOINT_URL"] = moto.url
    key_sets.install(row.keys, home)
    # The file is the case's, byte for byte (after `add`, which appends a section for a
    # profile without one, as aws-vault's does; the Go tests seed their keyring directly).
    home.config_path.write_bytes(row.ini.encode())
    args = ["env", "--shell", "bash", "--no-input"]
    if row.mfa_token:
        args += ["--mfa-token", CODE]
    moto.mark()
    done = home.run(*args, row.profile, env=dict(row.env))
    return done, moto.calls("sts")


def check(outcome: Outcome, done: Any, calls: list[RecordedCall], answers: bool = True) -> None:
    if isinstance(outcome, Fails):
        assert done.returncode != 0, done.stdout
        assert done.stdout == ""
        assert calls == []
        message = done.stderr.strip()
        assert len(message.splitlines()) == 1, message
        for word in outcome.words:
            assert word in message
        return
    if answers:
        assert done.returncode == 0, done.stderr
        assert "AWS_ACCESS_KEY_ID=" in done.stdout
    else:
        assert done.returncode != 0 and done.stdout == ""
    # GetCallerIdentity (shellvault learns the account of a session without MFA for the
    # prompt) issues no credentials: it is not among the requests compared.
    seen = [observed(c) for c in calls if c.action != "GetCallerIdentity"]
    assert len(seen) == len(outcome), seen
    assert [comparable(s, w) for s, w in zip(seen, outcome, strict=True)] == list(outcome)


def _params() -> list[Any]:
    return [pytest.param(r, id=r.id, marks=[pytest.mark.xfail(
        strict=True, reason=f"issue 15, difference {r.differs}")] if r.differs else [])
        for r in ROWS]


@pytest.mark.parametrize("row", _params())
def test_awsvault_case(row: Row, sv_home: SvHome, moto_server: MotoServer,
                       fake_bin: Path, key_sets: KeySets) -> None:
    done, calls = run_row(row, sv_home, moto_server, fake_bin, key_sets)
    if row.kind == SSO:
        # Nobody has signed in: exit 5 naming the session and the sign-in command, which
        # says whose settings the profile resolved to; no STS request.
        assert isinstance(row.aws_vault, Fails)
        assert done.returncode == row.aws_vault.code and done.stdout == "", done.stderr
        assert calls == []
        assert all(word in done.stderr for word in row.aws_vault.words), done.stderr
        return
    if row.kind == DEPARTURE:
        assert row.shellvault is not None and row.departure in DEPARTURES
        assert row.shellvault != row.aws_vault  # a departure that vanished is a SAME row
        check(row.shellvault, done, calls, row.sts_answers)
        return
    check(row.aws_vault, done, calls, row.sts_answers)


def test_departures_are_documented() -> None:
    """Every departure the table uses is explained where an aws-vault user looks."""
    used = {r.departure for r in ROWS if r.kind == DEPARTURE}
    assert used == set(DEPARTURES)
    config_doc = (REPO_ROOT / "shellvault" / "config" / "__init__.py").read_text().split('"""')[1]
    texts = {
        "README.md": (REPO_ROOT / "README.md").read_text(),
        "README.ja.md": (REPO_ROOT / "README.ja.md").read_text(),
        "config.py": config_doc,  # the config package's docstring
    }
    for key, doc in DEPARTURES.items():
        for where, text in texts.items():
            assert doc[where] in text, f"departure {key!r} is not documented in {where}"


def test_the_readmes_state_the_measured_counts() -> None:
    """The numbers the READMEs give are this table's."""
    comparable = [r for r in ROWS if r.kind != SSO]
    same = sum(r.kind == SAME for r in comparable)
    departures = len(comparable) - same
    sso = len(ROWS) - len(comparable)
    english = (REPO_ROOT / "README.md").read_text()
    japanese = (REPO_ROOT / "README.ja.md").read_text()
    assert f"**{same} of {len(comparable)} comparable cases resolve exactly as aws-vault**" \
        in english
    assert f"the other {departures} are the" in english and f"{sso} more are SSO" in english
    assert f"比較できる {len(comparable)} ケースのうち {same} ケースは aws-vault と" in japanese
    assert f"残る {departures} ケースは" in japanese and f"SSO のケースが {sso} つ" in japanese
