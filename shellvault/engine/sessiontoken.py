"""MFA session: GetSessionToken with the master keys (and the MFA code when the chain
names a device); aws-vault's SessionTokenProvider."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..creds import Session

if TYPE_CHECKING:
    from ..config import Profile
    from .context import Context
    from .masterkeys import MasterKeys


class SessionToken:
    def __init__(
        self, ctx: Context, master: MasterKeys, chain: Sequence[Profile],
        mfa_serial: str | None, duration: int,
    ) -> None:
        self.ctx = ctx
        self.master = master
        self.chain = chain
        self.mfa_serial = mfa_serial
        self.duration = duration

    def retrieve(self) -> Session:
        root = self.chain[0]
        master = self.master.credentials()
        code = self.ctx.mfa_code(self.chain, self.mfa_serial, root) if self.mfa_serial else None
        sts = self.ctx.sts
        session = sts.get_session_token(
            master, profile_name=root.name, region=root.region, duration=self.duration,
            mfa_serial=self.mfa_serial, code=code,
        )
        if session.account is None:  # no MFA serial to read it from: ask STS who we are
            account = sts.caller_account(session.credentials, profile_name=root.name,
                                         region=root.region)
            session = Session(session.credentials, account)
        return session
