"""The session cache: keys, freshness, and `Cached`, the provider wrapper that keeps a
provider's sessions in the vault and refreshes them under a per-key lock."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..digest import sha256_hex
from ..paths import touch_stamp

if TYPE_CHECKING:
    from ..config import Profile
    from ..creds import Session
    from .context import Context
    from .provider import Provider

__all__ = ["LONGER_SESSION_SLACK", "CachePolicy", "Cached", "base_key", "is_fresh", "role_key"]

# A cached session shorter than the --duration asked for by more than this is replaced;
# less is rounding (the session was made for that duration and has been used a little).
LONGER_SESSION_SLACK = 300


def _digest(*parts: str) -> str:
    return sha256_hex(["\0".join(parts).encode()])[:24]


def base_key(root: Profile, mfa_serial: str | None) -> str:
    """The session a root's keys (and MFA device) give: shared by every role above it."""
    return "base-" + _digest(root.name, mfa_serial or "")


def role_key(profile: Profile) -> str:
    """A role's session: every setting of its chain that changes what is issued."""
    return "role-" + profile.fingerprint()


def is_fresh(session: Session | None, min_ttl: int, duration: int | None = None) -> bool:
    """Whether a cached session can be served: at least ``min_ttl`` seconds left, and
    not much shorter than a ``duration`` the caller asked for."""
    if session is None:
        return False
    left = session.credentials.seconds_left()
    if duration is not None and left < duration - LONGER_SESSION_SLACK:
        return False
    return left >= min_ttl


class CachePolicy:
    """Where and how a provider's session is cached.

    ``key``: the vault item; ``min_ttl``: refresh when less than this is left; ``want``:
    the duration the caller asked for, if any; ``what``: what a process holding the lock
    is doing (shown to one waiting); ``owner``: the profile the session is listed under;
    ``kind``: "mfa", "base" or "role" (what `list` shows); ``root``: the chain's root.
    """

    __slots__ = ("key", "kind", "min_ttl", "owner", "root", "want", "what")

    def __init__(self, *, key: str, min_ttl: int, want: int | None, what: str, owner: str,
                 kind: str, root: str) -> None:
        self.key = key
        self.min_ttl = min_ttl
        self.want = want
        self.what = what
        self.owner = owner
        self.kind = kind
        self.root = root


class Cached:
    """A provider whose sessions are kept in the vault under ``policy.key``."""

    def __init__(self, ctx: Context, inner: Provider, policy: CachePolicy) -> None:
        self.ctx = ctx
        self.inner = inner
        self.policy = policy

    def peek(self) -> Session | None:
        """The cached session while fresh, else None: no lock, no boto3, no prompt."""
        session = self.ctx.vault.get_session(self.policy.key)
        return session if is_fresh(session, self.policy.min_ttl, self.policy.want) else None

    def retrieve(self) -> Session:
        """The cached session while fresh; else a new one from the inner provider, made
        under the key's lock (re-checked first: another process may have just made it),
        then cached and stamped."""
        session = self.peek()
        if session is not None:
            return session
        p = self.policy
        with self.ctx.lock(p.key, p.what):
            session = self.peek()
            if session is None:
                session = self.inner.retrieve()
                self.ctx.vault.put_session(p.key, session, p.owner, p.kind, p.root)
                touch_stamp(p.owner, session.credentials.expires, self.ctx.environ)
        return session
