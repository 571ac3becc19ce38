"""Durations: Go duration text, and aws-vault's session lengths from the environment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from ..errors import InvalidValueError, quoted

if TYPE_CHECKING:
    from .profile import Profile

__all__ = [
    "DEFAULT_ASSUME_ROLE_TTL", "DEFAULT_CHAINED_SESSION_TTL", "DEFAULT_MIN_TTL",
    "DEFAULT_SESSION_TTL", "TTLs", "parse_duration", "ttls",
]

_DURATION_PART: re.Pattern[str] | None = None
_UNITS = {
    "ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3,
    "s": 1.0, "m": 60.0, "h": 3600.0,
}


def parse_duration(value: str) -> int | None:
    """Seconds in a Go duration (``1h30m``, ``15m``, ``3600s``) or plain seconds (``3600``).

    Returns None when the text is not a duration (negative durations included).
    """
    global _DURATION_PART
    v = value.strip()
    if v.startswith("+"):
        v = v[1:]
    if v.isdigit() and v.isascii():
        return int(v)
    if not v:
        return None
    if _DURATION_PART is None:
        _DURATION_PART = re.compile(r"([0-9]+\.?[0-9]*|\.[0-9]+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
    total = 0.0
    pos = 0
    while pos < len(v):
        m = _DURATION_PART.match(v, pos)
        if m is None:
            return None
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return int(total)


class TTLs(NamedTuple):
    """Durations in seconds."""

    session: int  # GetSessionToken when the root profile is used directly
    chained_session: int  # GetSessionToken whose credentials then assume a role
    assume_role: int  # AssumeRole
    min_ttl: int  # credentials with less than this left are refreshed


DEFAULT_SESSION_TTL = 3600
DEFAULT_CHAINED_SESSION_TTL = 8 * 3600
DEFAULT_ASSUME_ROLE_TTL = 3600
DEFAULT_MIN_TTL = 300


def _ttl_from_env(environ: Mapping[str, str], names: tuple[str, ...]) -> int | None:
    for var in names:
        raw = environ.get(var, "")
        if raw == "":
            continue
        secs = parse_duration(raw)
        if secs is None:
            raise InvalidValueError(
                f"invalid duration in ${var}: {quoted(raw)} "
                "(use e.g. 3600, 3600s, 15m, 1h or 1h30m)"
            )
        return secs
    return None


def ttls(environ: Mapping[str, str], profile: Profile) -> TTLs:
    """aws-vault's session durations with its defaults; SHELLVAULT_* wins over AWS_*.

    For the role, the environment wins over the profile's ``duration_seconds``, as in
    aws-vault (it fills AssumeRoleDuration from AWS_ASSUME_ROLE_TTL before reading the
    file).  A value of 0 means "the default", again as in aws-vault.
    """
    session = _ttl_from_env(environ, ("SHELLVAULT_SESSION_TTL", "AWS_SESSION_TOKEN_TTL"))
    chained = _ttl_from_env(
        environ, ("SHELLVAULT_CHAINED_SESSION_TTL", "AWS_CHAINED_SESSION_TOKEN_TTL")
    )
    role = _ttl_from_env(environ, ("SHELLVAULT_ROLE_TTL", "AWS_ASSUME_ROLE_TTL"))
    if not role:
        role = profile.duration_seconds
    min_ttl = _ttl_from_env(environ, ("SHELLVAULT_MIN_TTL", "AWS_MIN_TTL"))
    return TTLs(
        session=session or DEFAULT_SESSION_TTL,
        chained_session=chained or DEFAULT_CHAINED_SESSION_TTL,
        assume_role=role or DEFAULT_ASSUME_ROLE_TTL,
        min_ttl=DEFAULT_MIN_TTL if min_ttl is None else min_ttl,
    )

