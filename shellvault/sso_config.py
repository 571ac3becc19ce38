"""Which IAM Identity Center sign-in a profile or a name means, from ``~/.aws/config``.

Two forms, as the AWS CLI reads them:

* ``[sso-session NAME]`` with ``sso_start_url``, ``sso_region`` and optionally
  ``sso_registration_scopes`` (comma-separated), and profiles naming it with
  ``sso_session = NAME`` plus ``sso_account_id`` and ``sso_role_name``;
* the legacy form: ``sso_start_url`` and ``sso_region`` on the profile itself (the device
  flow, no refresh token).

A profile whose ``source_profile`` chain starts at an SSO profile is signed in through
that root profile.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .errors import ShellvaultError, UsageError
from .sso import SsoTarget

if TYPE_CHECKING:
    from .config import AwsConfig, Profile

def parse_scopes(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def _require(what: str, start_url: str | None, region: str | None) -> tuple[str, str]:
    missing = [k for k, v in (("sso_start_url", start_url), ("sso_region", region)) if not v]
    if missing:
        raise UsageError(f"{what} has no {' or '.join(missing)}; set it in the config file")
    assert start_url and region
    return start_url, region


def target_for_profile(profile: Profile) -> SsoTarget:
    """The sign-in of an SSO profile (the root of a chain)."""
    what = (f"[sso-session {profile.sso_session}] (of profile {profile.name})"
            if profile.sso_session else f"profile {profile.name}")
    start_url, region = _require(what, profile.sso_start_url, profile.sso_region)
    scopes = parse_scopes(dict(profile.raw).get("sso_registration_scopes", "")) if (
        profile.sso_session) else ()
    return SsoTarget(profile.sso_session, start_url, region, scopes, profile.name)


def target_for_session(config: AwsConfig, name: str) -> SsoTarget:
    keys = config.sso_session(name)
    if keys is None:
        known = ", ".join(config.sso_session_names()) or "none"
        raise UsageError(f"no [sso-session {name}] in {config.path} (sso-sessions: {known})")
    start_url, region = _require(f"[sso-session {name}]", keys.get("sso_start_url"),
                                 keys.get("sso_region"))
    return SsoTarget(name, start_url, region, parse_scopes(keys.get("sso_registration_scopes", "")))


def target_for_name(config: AwsConfig, name: str | None, environ: Mapping[str, str]) -> (
        tuple[SsoTarget, str]):
    """`sso login`'s argument: an sso-session name, or a profile (or a role chained from
    one) that signs in through IAM Identity Center; none: the only sso-session there is.
    Returns the target and the name to show in messages."""
    if name is None:
        names = config.sso_session_names()
        if len(names) == 1:
            return target_for_session(config, names[0]), names[0]
        listed = ", ".join(names) if names else f"none in {config.path}"
        raise UsageError(f"which sso-session or profile? (sso-sessions: {listed})")
    if config.sso_session(name) is not None:
        return target_for_session(config, name), name
    if not config.has_profile(name):
        raise UsageError(f"no sso-session or profile named {name!r} in {config.path}")
    root = config.resolve(name, environ).root()
    if not root.is_sso:
        raise UsageError(f"profile {name} does not use IAM Identity Center (no sso_session "
                         "or sso_start_url in its chain)")
    return target_for_profile(root), name


def profiles_using(config: AwsConfig, target: SsoTarget, environ: Mapping[str, str]) -> set[str]:
    """Every profile whose chain signs in through `target` (for `sso logout`)."""
    from .sso_token import token_key

    key = token_key(target)
    out: set[str] = set()
    for name in config.profile_names():
        try:
            root = config.resolve(name, environ).root()
            if root.is_sso and token_key(target_for_profile(root)) == key:
                out.add(name)
        except ShellvaultError:
            continue  # a broken profile elsewhere does not stop a sign-out
    return out
