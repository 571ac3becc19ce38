"""Role: AssumeRole with the source provider's credentials; aws-vault's
AssumeRoleProvider."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Profile
    from ..creds import Session
    from .context import Context
    from .provider import Provider

# AWS's limit on RoleSessionName, and the characters it allows.
SESSION_NAME_MAX = 64
_SESSION_NAME_BAD = re.compile(r"[^\w+=,.@-]")


def session_name(root: Profile) -> str:
    """The RoleSessionName when the profile sets none: shellvault-ROOT, made valid."""
    return _SESSION_NAME_BAD.sub("-", f"shellvault-{root.name}")[:SESSION_NAME_MAX]


class AssumeRole:
    """``profile``'s role, assumed with ``source``'s credentials.  With ``mfa_serial``
    the MFA code goes to AssumeRole itself (no session token carries it)."""

    def __init__(
        self, ctx: Context, source: Provider, profile: Profile, chain: Sequence[Profile],
        duration: int, mfa_serial: str | None = None,
    ) -> None:
        self.ctx = ctx
        self.source = source
        self.profile = profile
        self.chain = chain
        self.duration = duration
        self.mfa_serial = mfa_serial

    def retrieve(self) -> Session:
        source = self.source.retrieve()
        code = (self.ctx.mfa_code(self.chain, self.mfa_serial, self.profile)
                if self.mfa_serial else None)
        profile, root = self.profile, self.chain[0]
        return self.ctx.sts.assume_role(
            source.credentials, profile_name=profile.name,
            region=profile.region or root.region, role_arn=str(profile.role_arn),
            session_name=profile.role_session_name or session_name(root),
            duration=self.duration, external_id=profile.external_id,
            tags=profile.session_tags, transitive_tags=profile.transitive_session_tags,
            source_identity=profile.source_identity,
            mfa_serial=self.mfa_serial if code else None, code=code,
        )
