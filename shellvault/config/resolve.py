"""Profile resolution, in the stages aws-vault's ``LoadFromProfile`` runs them.

For each profile of the chain (`resolve`):

  1. `_from_environment`: aws-vault fills a setting from the file only when the
     environment left it empty.  ``AWS_REGION`` then ``AWS_DEFAULT_REGION``,
     ``AWS_STS_REGIONAL_ENDPOINTS``, ``AWS_ENDPOINT_URL``, ``AWS_MFA_SERIAL`` apply to
     every profile of the chain; ``AWS_ROLE_ARN``, ``AWS_ROLE_SESSION_NAME``,
     ``AWS_SESSION_TAGS``, ``AWS_TRANSITIVE_TAGS``, ``AWS_SOURCE_IDENTITY`` only to the
     requested profile.
  2. `_from_file`: the profile's own section, then its ``include_profile`` chain (depth
     first, first non-empty value wins), and at the end of that chain ``[default]``.
     ``[default]`` supplies every setting aws-vault reads, not only ``region``.  An
     ``include_profile`` in ``[default]`` is followed as well.  ``mfa_serial`` does
     *not* travel along ``source_profile`` (aws-vault v5+): each profile has its own.
     Within it, `_merge_sso_session`: ``sso_session = X`` copies
     ``sso_start_url``/``sso_region`` from ``[sso-session X]``, overriding what earlier
     profiles of the include chain set.
  3. `_source_of`: a ``source_profile`` naming the profile itself is dropped (that
     profile is a root whose keys are stored, as in aws-vault); any other is resolved
     the same way, recursively, up to `MAX_CHAIN_LENGTH` profiles.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..errors import (
    InvalidValueError,
    MissingReferenceError,
    ProfileLoopError,
    UnknownProfileError,
    quoted,
)
from .profile import Profile

if TYPE_CHECKING:
    from pathlib import Path

    from .ini import IniFile

__all__ = ["resolve"]

# Keys copied as plain strings, in aws-vault's order: those read before the sso_session
# step, and those after it.
_STRING_KEYS = (
    "mfa_serial", "role_arn", "external_id", "region", "role_session_name",
    "source_profile",
)
_STRING_KEYS_AFTER_SSO = (
    "sso_start_url", "sso_region", "sso_account_id", "sso_role_name",
    "web_identity_token_file", "web_identity_token_process", "sts_regional_endpoints",
    "endpoint_url", "source_identity", "credential_process", "mfa_process",
)
# The longest source_profile chain resolved.  Real chains have a few profiles; a bound
# keeps a generated or hostile file from exhausting the stack (each profile of a chain
# is a step of the resolution and of the engine's provider chain).
MAX_CHAIN_LENGTH = 64
_SSO_SESSION_KEYS = ("sso_start_url", "sso_region", "sso_registration_scopes")
# Environment variables that apply to every profile of a chain, and to the requested one.
_CHAIN_ENV = (
    ("sts_regional_endpoints", "AWS_STS_REGIONAL_ENDPOINTS"),
    ("endpoint_url", "AWS_ENDPOINT_URL"),
    ("mfa_serial", "AWS_MFA_SERIAL"),
)
_REQUESTED_ENV = (
    ("role_arn", "AWS_ROLE_ARN"),
    ("role_session_name", "AWS_ROLE_SESSION_NAME"),
    ("source_identity", "AWS_SOURCE_IDENTITY"),
)


def no_config_message(path: Path) -> str:
    """What to say when there is no config file at all (and how to make one)."""
    return (f"there is no AWS config file ({path}); create it with 'shellvault add central' "
            "(stores your IAM user's key and writes [profile central]), then "
            "'shellvault role add NAME --role-arn ARN --from central' for each role")


def suggest(ini: IniFile, name: str) -> str:
    """``; did you mean 'x'?`` for the profile names close to ``name``, else ""."""
    import difflib

    # Case-insensitive: ACCOUNT-A finds account-a (names keep their own spelling).
    by_lower: dict[str, str] = {}
    for known in ini.profile_names():
        by_lower.setdefault(known.lower(), known)
    close = [by_lower[c] for c in
             difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.6)]
    if not close:
        return ""
    quoted = [f"'{c}'" for c in close]
    if len(quoted) == 1:
        return f"; did you mean {quoted[0]}?"
    return f"; did you mean {', '.join(quoted[:-1])} or {quoted[-1]}?"


def _missing(ini: IniFile, kind: str, target: str, referrer: str) -> MissingReferenceError:
    return MissingReferenceError(
        f"{kind} '{target}' of profile '{referrer}' not found in {ini.path}"
        f"{suggest(ini, target)}",
        path=ini.path, profile=referrer,
    )


def _parse_tags(value: str) -> tuple[tuple[str, str], ...] | None:
    tags: dict[str, str] = {}
    for item in value.split(","):
        k, sep, v = item.partition("=")
        if not sep:
            return None
        tags[k.strip()] = v.strip()
    return tuple(tags.items())


def _parse_transitive(value: str) -> tuple[str, ...]:
    return tuple(t for t in (x.strip() for x in value.split(",")) if t)


def _bad_tags(text: str, where: str, profile: str, path: Path | None) -> InvalidValueError:
    return InvalidValueError(
        f"invalid {where} {quoted(text)} for profile '{profile}'"
        f"{f' in {path}' if path is not None else ''}: expected key1=value1,key2=value2",
        path=path, profile=profile,
    )


class _Settings:
    """What the stages gather for one profile; the first value set wins."""

    __slots__ = ("cfg", "duration", "raw", "tags", "transitive")

    def __init__(self) -> None:
        self.cfg: dict[str, str] = {}
        self.raw: dict[str, str] = {}  # the merged file text, for diagnostics
        self.tags: tuple[tuple[str, str], ...] | None = None
        self.transitive: tuple[str, ...] | None = None
        self.duration: int | None = None

    def fill(self, keys: Mapping[str, str], names: tuple[str, ...]) -> None:
        for key in names:
            if key not in self.cfg and keys.get(key):
                self.cfg[key] = keys[key]


def resolve(ini: IniFile, name: str, env: Mapping[str, str], *,
            keys_stored: bool = False) -> Profile:
    """The profile with its include chain, ``[default]``, env vars and source chain.

    A name without a section is unknown, unless ``keys_stored`` (the vault holds long-term
    keys under it): then, as in aws-vault, it has ``[default]``'s settings, and its
    credentials are those keys whatever other source ``[default]`` names.
    """
    if name != "default" and not ini.has_profile(name):
        if not keys_stored:
            if not ini.data and not os.path.exists(ini.path):
                raise UnknownProfileError(no_config_message(ini.path), path=ini.path,
                                          profile=name)
            raise UnknownProfileError(
                f"unknown profile '{name}' in {ini.path}{suggest(ini, name)}",
                path=ini.path, profile=name,
            )
        # Not what [default] says of other sources: aws-vault looks for keys first.
        return _load(ini, name, env, name, [], keys_root=True)._replace(
            credential_process=None, sso_session=None, sso_start_url=None, sso_region=None,
            sso_account_id=None, sso_role_name=None, web_identity_token_file=None,
            web_identity_token_process=None,
        )
    return _load(ini, name, env, name, [])


def _load(ini: IniFile, name: str, env: Mapping[str, str], active: str, via: list[str],
          *, keys_root: bool = False) -> Profile:
    if name in via:
        loop = [*via[via.index(name) :], name]
        raise ProfileLoopError(
            f"source_profile loop in {ini.path}: {' -> '.join(loop)}",
            path=ini.path, profile=via[0],
        )
    if len(via) >= MAX_CHAIN_LENGTH:
        raise InvalidValueError(
            f"the source_profile chain of profile '{via[0]}' in {ini.path} is longer than "
            f"{MAX_CHAIN_LENGTH} profiles",
            path=ini.path, profile=via[0],
        )
    found = _Settings()
    _from_environment(found, env, requested=name == active, name=name)
    _from_file(found, ini, name)
    source_name, source = (None, None) if keys_root else _source_of(
        found, ini, name, env, active, via)
    return _profile(name, found, source_name, source)


def _from_environment(found: _Settings, env: Mapping[str, str], *, requested: bool,
                      name: str) -> None:
    """Stage 1 (aws-vault's populateFromEnv runs before the file)."""
    region = env.get("AWS_REGION", "") or env.get("AWS_DEFAULT_REGION", "")
    for key, value in (("region", region), *((k, env.get(v, "")) for k, v in _CHAIN_ENV)):
        if value:
            found.cfg[key] = value
    if not requested:
        return
    for key, var in _REQUESTED_ENV:
        if env.get(var, ""):
            found.cfg[key] = env[var]
    if env.get("AWS_SESSION_TAGS", ""):
        found.tags = _parse_tags(env["AWS_SESSION_TAGS"])
        if found.tags is None:
            raise _bad_tags(env["AWS_SESSION_TAGS"], "$AWS_SESSION_TAGS", name, None)
    if env.get("AWS_TRANSITIVE_TAGS", ""):
        found.transitive = _parse_transitive(env["AWS_TRANSITIVE_TAGS"]) or None


def _from_file(found: _Settings, ini: IniFile, name: str) -> None:
    """Stage 2: the profile, its include_profile chain, then [default]."""
    visited: list[str] = []
    current: str | None = name
    implicit = False  # reached through the [default] fallback
    while current is not None:
        if current in visited:
            if implicit:
                break
            loop = [*visited[visited.index(current) :], current]
            raise ProfileLoopError(
                f"include_profile loop in {ini.path}: {' -> '.join(loop)}",
                path=ini.path, profile=name,
            )
        keys = ini.profile_keys(current)
        if keys is None:
            if current != "default" and visited:
                raise _missing(ini, "include_profile", current, visited[-1])
            keys = {}  # [default] may be absent; so may the section of a keys-only name
        visited.append(current)
        _merge_section(found, ini, current, keys)
        include = keys.get("include_profile", "")
        if include:
            current = include
        elif current != "default":
            if ini.profile_keys("default") is None:
                break
            current, implicit = "default", True
        else:
            current = None


def _merge_section(found: _Settings, ini: IniFile, current: str, keys: Mapping[str, str]) -> None:
    """One section of the include chain, in aws-vault's order of keys."""
    for k, v in keys.items():
        if k not in found.raw or (v and not found.raw[k]):
            found.raw[k] = v
    found.fill(keys, _STRING_KEYS)
    dur_text = keys.get("duration_seconds", "")
    if dur_text:
        if not (dur_text.isdigit() and dur_text.isascii()):
            raise InvalidValueError(
                f"invalid duration_seconds {quoted(dur_text)} for profile '{current}' in "
                f"{ini.path}: expected a whole number of seconds",
                path=ini.path, profile=current,
            )
        if found.duration is None and int(dur_text) > 0:
            found.duration = int(dur_text)
    sso_session = keys.get("sso_session", "")
    if "sso_session" not in found.cfg and sso_session:
        _merge_sso_session(found, ini, current, sso_session)
    found.fill(keys, _STRING_KEYS_AFTER_SSO)
    tag_text = keys.get("session_tags", "")
    if tag_text and found.tags is None:
        found.tags = _parse_tags(tag_text)
        if found.tags is None:
            raise _bad_tags(tag_text, "session_tags", current, ini.path)
    trans_text = keys.get("transitive_session_tags", "")
    if trans_text and found.transitive is None:
        found.transitive = _parse_transitive(trans_text) or None


def _merge_sso_session(found: _Settings, ini: IniFile, current: str, sso_session: str) -> None:
    found.cfg["sso_session"] = sso_session
    sso = ini.effective("sso-session " + sso_session)
    if sso is None:
        raise _missing(ini, "sso_session", sso_session, current)
    for key in _SSO_SESSION_KEYS:
        value = sso.get(key, "")
        found.raw[key] = value
        if value:
            found.cfg[key] = value
        else:
            found.cfg.pop(key, None)


def _source_of(
    found: _Settings, ini: IniFile, name: str, env: Mapping[str, str], active: str,
    via: list[str],
) -> tuple[str | None, Profile | None]:
    """Stage 3: the resolved source_profile, or (None, None) at a root."""
    source_name = found.cfg.get("source_profile")
    if source_name == name:
        source_name = None
    if source_name is None:
        return None, None
    if source_name != "default" and not ini.has_profile(source_name):
        raise _missing(ini, "source_profile", source_name, name)
    return source_name, _load(ini, source_name, env, active, [*via, name])


def _profile(
    name: str, found: _Settings, source_name: str | None, source: Profile | None
) -> Profile:
    def get(key: str) -> str | None:
        return found.cfg.get(key) or None

    return Profile(
        name=name,
        region=get("region"),
        role_arn=get("role_arn"),
        mfa_serial=get("mfa_serial"),
        mfa_process=get("mfa_process"),
        external_id=get("external_id"),
        role_session_name=get("role_session_name"),
        duration_seconds=found.duration,
        session_tags=found.tags or (),
        transitive_session_tags=found.transitive or (),
        source_identity=get("source_identity"),
        credential_process=get("credential_process"),
        sso_session=get("sso_session"),
        sso_start_url=get("sso_start_url"),
        sso_region=get("sso_region"),
        sso_account_id=get("sso_account_id"),
        sso_role_name=get("sso_role_name"),
        endpoint_url=get("endpoint_url"),
        sts_regional_endpoints=get("sts_regional_endpoints"),
        source_profile_name=source_name,
        source=source,
        raw=tuple(found.raw.items()),
        web_identity_token_file=get("web_identity_token_file"),
        web_identity_token_process=get("web_identity_token_process"),
    )
