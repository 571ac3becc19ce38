"""The chain rules: which providers, in which order, a resolved profile leads to.

    root source ──(GetSessionToken + MFA)──► base session ──AssumeRole──► role ──► role

  * The root profile's source is the first `RootSource` in ``ROOT_SOURCES`` that applies,
    else its master keys.
  * Without roles, the profile's credentials are a session: master keys give a cached
    GetSessionToken (with the MFA code when the chain names a device); any other root
    source is used as it is (it caches itself if it wants to).
  * A web identity root (``role_arn`` with ``web_identity_token_file`` or ``_process``)
    is the first role itself, assumed with its token (`webidentity.WebIdentity`, cached
    like any role); the roles after it are chained.
  * With roles, the first role assumes from the base: a cached MFA session when the keys
    have a device, the bare keys otherwise.  Where a session token cannot carry the MFA
    context (a lone role asking for more than 1 h, or a root that is not long-term keys)
    the code goes to that AssumeRole instead.  A role assumed from a session token, and
    each further role (assumed from the one before), is capped at 1 h (AWS's limit;
    in a chain of roles the first one too, as ByteNess does).  Every role's session is
    cached.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .assumerole import AssumeRole
from .cache import Cached, CachePolicy, base_key, role_key
from .context import mfa_serial_for
from .masterkeys import MasterKeys
from .sessiontoken import SessionToken

if TYPE_CHECKING:
    from ..config import Profile, TTLs
    from .context import Context
    from .provider import Provider

__all__ = ["CHAINED_ROLE_LIMIT", "ROOT_SOURCES", "RootSource", "build", "final_cache"]

# AWS caps a session assumed from another role's session at 1 h, and a session token
# cannot carry the MFA context into a longer role session.
CHAINED_ROLE_LIMIT = 3600


class RootSource:
    """A way for the root profile of a chain to get credentials other than master keys:
    ``applies(root)`` says whether the root profile uses it, ``build(ctx, root)`` makes
    its provider (cheap, no I/O; import the source's module inside it, so that a source
    costs the hot path nothing until a profile uses it)."""

    __slots__ = ("applies", "build", "name")

    def __init__(self, name: str, applies: Callable[[Profile], bool],
                 build: Callable[[Context, Profile], Provider]) -> None:
        self.name = name
        self.applies = applies
        self.build = build


def _credential_process(ctx: Context, root: Profile) -> Provider:
    from .credprocess import CredentialProcess

    return CredentialProcess(root)


def _sso(ctx: Context, root: Profile) -> Provider:
    from .sso import build

    return build(ctx, root)


# Checked in order; the first that applies is the root's source (SSO before
# credential_process, as aws-vault checks them).
ROOT_SOURCES: list[RootSource] = [
    RootSource("sso", lambda p: p.is_sso, _sso),
    RootSource("credential_process", lambda p: bool(p.credential_process), _credential_process),
]


def _root_source(ctx: Context, root: Profile) -> Provider | None:
    """The root's provider from ``ROOT_SOURCES``; None for master keys."""
    for source in ROOT_SOURCES:
        if source.applies(root):
            return source.build(ctx, root)
    return None


class _Builder:
    def __init__(self, ctx: Context, profile: Profile, ttls: TTLs, min_ttl: int,
                 ttls_of: Callable[[Profile], TTLs]) -> None:
        self.ctx = ctx
        self.ttls = ttls
        self.min_ttl = min_ttl  # for the final step; inner steps use ttls.min_ttl
        self.ttls_of = ttls_of
        self.chain: Sequence[Profile] = profile.chain()
        self.root = self.chain[0]
        self.mfa_serial = mfa_serial_for(self.chain)
        self.roles = [p for p in self.chain if p.role_arn]
        # A web identity root's role is its source (the first role, assumed with a token);
        # it comes before credential_process, as aws-vault checks them.
        self.web_identity = self.root.is_web_identity and not self.root.is_sso
        self.source = None if self.web_identity else _root_source(ctx, self.root)

    def build(self) -> Provider:
        if not self.roles:
            return self._base(final=True)
        return self._role(len(self.roles) - 1)

    def _base(self, *, final: bool) -> Provider:
        """What the first AssumeRole (or the caller, for a root profile) starts from."""
        if self.source is not None:
            return self.source
        master = MasterKeys(self.ctx, self.root)
        if not final and not self.mfa_serial:
            return master  # no MFA: a session token buys nothing, assume from the keys
        request = self.ctx.request
        duration = self.ttls.session if final else self.ttls.chained_session
        if final and request.duration:
            duration = request.duration
        root = self.root.name
        return Cached(self.ctx, SessionToken(self.ctx, master, self.chain, self.mfa_serial,
                                             duration), CachePolicy(
            key=base_key(self.root, self.mfa_serial),
            min_ttl=self.min_ttl if final else self.ttls.min_ttl,
            want=duration if final and request.duration else None,
            what=(f"asking for an MFA code for {root}" if self.mfa_serial
                  else f"getting a session for {root}"),
            owner=root, kind="mfa" if self.mfa_serial else "base", root=root,
        ))

    def _role(self, index: int) -> Cached:
        profile = self.roles[index]
        final = index == len(self.roles) - 1
        request = self.ctx.request
        # Each role's own TTL (its duration_seconds, or the TTL variables), as aws-vault.
        duration = (request.duration if final else None) or self.ttls_of(profile).assume_role
        role: Provider
        if index == 0 and self.web_identity:
            from .webidentity import WebIdentity

            role = WebIdentity(self.ctx, profile, duration)  # no keys, no MFA: the token
        else:
            role = self._assume_role(index, profile, duration)
        return Cached(self.ctx, role, CachePolicy(
            key=role_key(profile),
            min_ttl=self.min_ttl if final else self.ttls.min_ttl,
            want=request.duration if final else None,
            what=f"getting credentials for {profile.name}", owner=profile.name, kind="role",
            root=self.root.name,
        ))

    def _assume_role(self, index: int, profile: Profile, duration: int) -> AssumeRole:
        mfa_serial: str | None = None
        source: Provider
        if index > 0:
            source = self._role(index - 1)
            duration = min(duration, CHAINED_ROLE_LIMIT)
        elif self.mfa_serial and (self.source is not None or (
                duration > CHAINED_ROLE_LIMIT and len(self.roles) == 1)):
            # A root other than long-term keys has no session token to carry the MFA
            # context, and a session token cannot carry it into a role session longer
            # than 1 h: a lone role asking for more takes the code itself (as ByteNess).
            source = self.source or MasterKeys(self.ctx, self.root)
            mfa_serial = self.mfa_serial
        else:
            # From the MFA session (or the bare keys).  A role assumed with a session
            # token is held to 1 h like a chained one; in a chain of roles the first
            # one is capped too (as ByteNess), so one MFA session serves every hop and
            # no intermediate role needs a maximum session longer than 1 h.
            source = self._base(final=False)
            if self.mfa_serial:
                duration = min(duration, CHAINED_ROLE_LIMIT)
        return AssumeRole(self.ctx, source, profile, self.chain, duration, mfa_serial)


def build(ctx: Context, profile: Profile, ttls: TTLs, min_ttl: int,
          ttls_of: Callable[[Profile], TTLs]) -> Provider:
    """The provider of ``profile``'s credentials: the last step of its chain."""
    return _Builder(ctx, profile, ttls, min_ttl, ttls_of).build()


def final_cache(provider: Provider) -> Cached | None:
    """The cache the final step reads, when it has one (the hot path's question)."""
    return provider if isinstance(provider, Cached) else None
