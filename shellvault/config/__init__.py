"""``~/.aws/config`` read the way aws-vault reads it.

Sources read (public code, not copied): 99designs/aws-vault ``vault/config.go`` (v7,
the ``populateFromConfigFile`` / ``populateFromEnv`` / ``LoadFromProfile`` logic),
``vault/vault.go`` (``AWS_MIN_TTL``), ``USAGE.md``; the ByteNess/aws-vault fork's
``vault/config.go`` (``endpoint_url``, source_profile loop detection, ``mfa_process``
inherited from the source profile); go-ini ``parser.go`` / ``section.go`` with the
options 99designs passes.  Both keep the ``[default]`` fallback: ``populateFromConfigFile``
ends every include chain in ``[default]``, for every setting, and a name whose only trace
is keys in the keyring resolves with ``[default]``'s settings (ByteNess
``TestProfileResolvable``, ``TestMissingProfileInheritsDefault``).  Measured against both
suites, case by case: ``tests/test_awsvault_compat.py``.

The package, one job per module:

  * `ini` -- the file syntax (go-ini's rules), the lazy section scanner, and the one
    definition of a section header (`header_name`, `profile_names`);
  * `resolve` -- profile resolution in its stages (environment, file and include
    chain, sso-session, source_profile);
  * `profile` -- the resolved `Profile`;
  * `durations` -- Go durations and the session lengths (`ttls`);
  * `write` -- appending a profile section;
  * `awsconfig` -- `AwsConfig`, the file and the operations the commands use.

Errors are `ConfigError` and its subclasses from `shellvault.errors` (all of them
`ShellvaultError`s).

Deliberate differences from aws-vault: a missing ``source_profile``/``include_profile``/
``sso_session`` target is an error (aws-vault ignores it), except ``default``, which may
always be absent; source_profile loops are errors (99designs recursed forever); past the
implicit ``[default]`` fallback a profile seen before ends the chain quietly (aws-vault
reports a loop, so an ``include_profile`` in ``[default]`` broke every profile); only the
sections a resolution needs are parsed, so a malformed line elsewhere is not reported;
``profile_names`` lists ``default`` whenever a ``[default]`` section exists; an unquoted
value is cut at its first ``#`` or ``;`` as go-ini reads it for 99designs (ByteNess sets
``SpaceBeforeInlineComment`` and keeps a ``#`` not preceded by a space).

Where the STS requests differ (the departures of ``tests/test_awsvault_compat.py``,
explained in the README's aws-vault section):

  * ``mfa_serial`` only on the role profile (the AWS CLI's style): aws-vault sends the
    code with the AssumeRole; shellvault takes one MFA session (GetSessionToken) for that
    device and assumes the role from it, so every role naming the device shares it.
  * A role profile that holds its own keys and an ``mfa_serial`` (role session of 1 h or
    less): aws-vault sends one AssumeRole with the code and asks again when the role
    session ends; shellvault takes the MFA session and assumes the role from it, so the
    role's hourly refresh needs no code for 8 h (what ByteNess does when the keys are in
    a separate source profile).  A lone role asking for more than 1 h gets one AssumeRole
    with the code, as in aws-vault.

Not differences: a chain of roles takes one MFA session and caps every hop at 1 h, the
first too (ByteNess); the MFA session's code comes from the ``mfa_process`` of the profile
holding the keys, a role's own code from its own or its source's ``mfa_process``
(ByteNess); web identity profiles are chain roots (``engine/webidentity.py``).

TTLs (``ttls``): session 1h (``AWS_SESSION_TOKEN_TTL``), chained session 8h
(``AWS_CHAINED_SESSION_TOKEN_TTL``), assume role 1h (``AWS_ASSUME_ROLE_TTL``, which
aws-vault lets win over ``duration_seconds``), minimum remaining lifetime 5m
(``AWS_MIN_TTL``).  ``SHELLVAULT_*`` names win over the ``AWS_*`` ones.
"""

from __future__ import annotations

from ..errors import (
    ConfigError,
    ConfigParseError,
    InvalidValueError,
    MissingReferenceError,
    ProfileLoopError,
    UnknownProfileError,
)
from .awsconfig import AwsConfig, config_path
from .durations import TTLs, parse_duration, ttls
from .ini import profile_names
from .profile import Profile

__all__ = [
    "AwsConfig",
    "ConfigError",
    "ConfigParseError",
    "InvalidValueError",
    "MissingReferenceError",
    "Profile",
    "ProfileLoopError",
    "TTLs",
    "UnknownProfileError",
    "config_path",
    "parse_duration",
    "profile_names",
    "ttls",
]
