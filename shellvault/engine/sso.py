"""IAM Identity Center (SSO) as a root credential source: GetRoleCredentials for the
profile's ``sso_account_id`` / ``sso_role_name`` with the sign-in's access token.

The role credentials are cached in the vault like a role session (key ``ssorole-`` + the
profile fingerprint, listed as kind ``sso``, "via sso:SESSION"). The token comes from
`shellvault.sso_token.SignIns` *before* this cache's lock is taken, so a process waiting
on a browser sign-in never holds a lock that a ``--no-input`` caller would wait behind.
A token the portal refuses (the session ended early: signed out elsewhere, revoked) is
refreshed or, where input is allowed, signed in again, once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..paths import touch_stamp
from .cache import Cached, CachePolicy

if TYPE_CHECKING:
    from ..config import Profile
    from ..creds import Session
    from ..sso import SsoTarget, Token
    from .context import Context
    from .provider import Provider

__all__ = ["SsoRoleCredentials", "applies", "build", "sso_role_key"]


def sso_role_key(profile: Profile) -> str:
    return "ssorole-" + profile.fingerprint()


def applies(root: Profile) -> bool:
    return root.is_sso


class SsoRoleCredentials:
    """GetRoleCredentials for an SSO root profile."""

    def __init__(self, ctx: Context, root: Profile) -> None:
        self.ctx = ctx
        self.root = root

    def target(self) -> SsoTarget:
        from ..errors import UsageError
        from ..sso_config import target_for_profile

        missing = [k for k in ("sso_account_id", "sso_role_name") if not getattr(self.root, k)]
        if missing:
            raise UsageError(f"profile {self.root.name} uses IAM Identity Center but has no "
                             f"{' or '.join(missing)} (shellvault sso sync writes them)")
        return target_for_profile(self.root)

    def token(self, rejected: Token | None = None) -> Token:
        """The sign-in's access token (refreshed, or a browser sign-in if allowed)."""
        from ..sso_token import SignIns

        return SignIns(self.ctx.vault, self.ctx.environ).token(
            self.target(), subject=self.root.name, no_input=self.ctx.request.no_input,
            rejected=rejected)

    def role_credentials(self, token: Token) -> Session:
        """GetRoleCredentials with `token` (`sso.TokenRejected` if the portal refuses it)."""
        from .. import sso

        return sso.get_role_credentials(
            self.target(), token, account_id=str(self.root.sso_account_id),
            role_name=str(self.root.sso_role_name), subject=self.root.name)

    def retrieve(self) -> Session:
        from .. import sso

        token = self.token()
        try:
            return self.role_credentials(token)
        except sso.TokenRejected:
            return self.role_credentials(self.token(rejected=token))


class SsoCached(Cached):
    """`Cached`, except that the sign-in happens before the cache's lock is taken."""

    inner: SsoRoleCredentials

    def retrieve(self) -> Session:
        from ..sso import TokenRejected

        rejected: Token | None = None
        while True:
            session = self.peek()
            if session is not None:
                return session
            # The token may need a refresh or a browser sign-in: never under this lock.
            token = self.inner.token(rejected)
            p = self.policy
            with self.ctx.lock(p.key, p.what):
                session = self.peek()
                if session is None:
                    try:
                        session = self.inner.role_credentials(token)
                    except TokenRejected:
                        if rejected is not None:
                            raise
                        rejected = token  # ended early (signed out, revoked): once more
                        continue
                    self.ctx.vault.put_session(p.key, session, p.owner, p.kind, p.root)
                    touch_stamp(p.owner, session.credentials.expires, self.ctx.environ)
            return session


def build(ctx: Context, root: Profile) -> Provider:
    from ..config import ttls

    label = root.sso_session or root.sso_start_url or root.name
    min_ttl = ctx.request.min_ttl
    if min_ttl is None:
        min_ttl = ttls(ctx.environ, root).min_ttl
    return SsoCached(ctx, SsoRoleCredentials(ctx, root), CachePolicy(
        key=sso_role_key(root), min_ttl=min_ttl, want=None,
        what=f"getting IAM Identity Center credentials for {root.name}", owner=root.name,
        kind="sso", root=f"sso:{label}",
    ))
