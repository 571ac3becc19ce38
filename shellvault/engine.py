"""The provider chain and the session-cache policy.

    master keys ──GetSessionToken(+MFA)──► base session ──AssumeRole──► role ──AssumeRole──► role

Every temporary session is cached in the vault under a key derived from the settings that
produce it, so one MFA session serves every role whose chain starts at the same user and
MFA device. A cache hit (`cached`) costs no boto3 import; `sts` is imported on a miss only.
Refreshes happen under a per-session lock, so concurrent shells cause one prompt and one call.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, NamedTuple

from .creds import Credentials, Session
from .errors import ShellvaultError, UsageError
from .paths import state_dir, touch_stamp

if TYPE_CHECKING:
    from .config import Profile, TTLs
    from .vault import Vault

CHAINED_ROLE_LIMIT = 3600  # AWS caps a session assumed from another role's session at 1 h


class Request(NamedTuple):
    no_input: bool = False
    mfa_token: str | None = None
    duration: int | None = None  # --duration: for the last step of the chain
    min_ttl: int | None = None  # --min-ttl: refresh if less than this is left


NO_OPTIONS = Request()


class Issued(NamedTuple):
    session: Session
    profile: Profile
    region: str | None


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


def mfa_serial_for(chain: list[Profile]) -> str | None:
    """The MFA device of a chain: the nearest one set, from the requested profile down.

    aws-vault takes the root's mfa_serial for GetSessionToken and drops the session token
    when a role names another device. Here a role's own mfa_serial (the AWS CLI's style of
    config) also gets one MFA session that every role with that device shares.
    """
    for profile in reversed(chain):
        if profile.mfa_serial:
            return profile.mfa_serial
    return None


def base_key(root: Profile, mfa_serial: str | None) -> str:
    return "base-" + _digest(root.name, mfa_serial or "")


def role_key(profile: Profile) -> str:
    return "role-" + profile.fingerprint()


def session_name(root: Profile) -> str:
    import re

    return re.sub(r"[^\w+=,.@-]", "-", f"shellvault-{root.name}")[:64]


class Engine:
    def __init__(self, vault: Vault, environ: Mapping[str, str] = os.environ) -> None:
        self.vault = vault
        self.environ = environ

    # -- what a request resolves to ---------------------------------------------------------
    def _ttls(self, profile: Profile) -> TTLs:
        from .config import ttls

        return ttls(self.environ, profile)

    def _final_key(self, profile: Profile) -> str | None:
        chain = profile.chain()
        if any(p.role_arn for p in chain):
            return role_key(profile) if profile.role_arn else None
        root = chain[0]
        if root.credential_process or root.is_sso:
            return None
        return base_key(root, mfa_serial_for(chain))

    def _fresh(self, session: Session | None, min_ttl: int, duration: int | None = None) -> bool:
        if session is None:
            return False
        left = session.credentials.seconds_left()
        if duration is not None and left < duration - 300:
            return False  # the caller asked for a longer session than the cached one
        return left >= min_ttl

    # -- the hot path -----------------------------------------------------------------------
    def cached(self, profile: Profile, request: Request = NO_OPTIONS) -> Issued | None:
        """A valid cached session for `profile`, without importing boto3; None on a miss."""
        key = self._final_key(profile)
        if key is None:
            return None
        min_ttl = request.min_ttl if request.min_ttl is not None else self._ttls(profile).min_ttl
        session = self.vault.get_session(key)
        if not self._fresh(session, min_ttl, request.duration):
            return None
        assert session is not None
        return Issued(session, profile, profile.region)

    # -- the full chain ---------------------------------------------------------------------
    def issue(self, profile: Profile, request: Request = NO_OPTIONS) -> Issued:
        hit = self.cached(profile, request)
        if hit is not None:
            return hit
        chain = profile.chain()
        if any(p.is_sso for p in chain):
            raise ShellvaultError(
                f"profile {profile.name} uses AWS IAM Identity Center (SSO), which shellvault "
                "does not support yet; use 'aws sso login' with it for now"
            )
        roles = [p for p in chain if p.role_arn]
        ttls = self._ttls(profile)
        min_ttl = request.min_ttl if request.min_ttl is not None else ttls.min_ttl
        if not roles:
            session = self._base(chain, request, ttls, final=True, min_ttl=min_ttl)
        else:
            session = self._role(chain, roles, len(roles) - 1, request, ttls, min_ttl)
        return Issued(session, profile, profile.region)

    def _lock(self, key: str, what: str):  # type: ignore[no-untyped-def]
        from .lock import exclusive

        return exclusive(state_dir(self.environ) / "locks" / f"{key}.lock", what)

    def _reuse_or_refresh(
        self, key: str, *, limit: int, want: int | None, what: str, owner: str, kind: str,
        root: str, fetch: Callable[[], Session],
    ) -> Session:
        """The cached session under `key` while fresh; else a new one from `fetch`, made
        under the key's lock (re-checked first: another process may have just made it),
        then cached and stamped."""
        session = self.vault.get_session(key)
        if not self._fresh(session, limit, want):
            with self._lock(key, what):
                session = self.vault.get_session(key)
                if not self._fresh(session, limit, want):
                    session = fetch()
                    self.vault.put_session(key, session, owner, kind, root)
                    touch_stamp(owner, session.credentials.expires, self.environ)
        assert session is not None
        return session

    def _code(self, chain: list[Profile], mfa_serial: str, request: Request) -> str:
        from .mfa import get_code

        return get_code(chain[-1].name, mfa_serial, token=request.mfa_token,
                        mfa_process=_mfa_process(chain), no_input=request.no_input,
                        environ=self.environ)

    def _base(
        self, chain: list[Profile], request: Request, ttls: TTLs, *, final: bool, min_ttl: int
    ) -> Session:
        """The session the first AssumeRole (or the caller, for a root profile) starts from."""
        root = chain[0]
        if root.credential_process:
            from .process import run_credential_process

            return run_credential_process(root)
        mfa_serial = mfa_serial_for(chain)
        if not final and not mfa_serial:
            # No MFA: a session token buys nothing, AssumeRole straight from the keys.
            return Session(self._master(root))
        duration = ttls.session if final else ttls.chained_session
        if final and request.duration:
            duration = request.duration

        def fetch() -> Session:
            master = self._master(root)
            code = self._code(chain, mfa_serial, request) if mfa_serial else None
            from . import sts

            session = sts.get_session_token(
                master, profile_name=root.name, region=root.region, duration=duration,
                mfa_serial=mfa_serial, code=code,
            )
            if session.account is None:
                session = Session(session.credentials, sts.caller_account(
                    session.credentials, profile_name=root.name, region=root.region))
            return session

        return self._reuse_or_refresh(
            base_key(root, mfa_serial), limit=min_ttl if final else ttls.min_ttl,
            want=duration if final and request.duration else None,
            what=(f"asking for an MFA code for {root.name}" if mfa_serial
                  else f"getting a session for {root.name}"),
            owner=root.name, kind="mfa" if mfa_serial else "base", root=root.name, fetch=fetch,
        )

    def _role(
        self, chain: list[Profile], roles: list[Profile], index: int, request: Request,
        ttls: TTLs, min_ttl: int,
    ) -> Session:
        profile = roles[index]
        final = index == len(roles) - 1

        def fetch() -> Session:
            # Each role's own TTL (its duration_seconds, or the TTL variables), as aws-vault.
            duration = (request.duration if final else None) or self._ttls(profile).assume_role
            mfa_serial = mfa_serial_for(chain)
            code = None
            if index > 0:
                source = self._role(chain, roles, index - 1, request, ttls, min_ttl)
                duration = min(duration, CHAINED_ROLE_LIMIT)  # AWS's role-chaining cap
            elif mfa_serial and (chain[0].credential_process or duration > CHAINED_ROLE_LIMIT):
                # A session token cannot carry the MFA context into a role session longer
                # than 1 h (aws-vault skips it too), and a credential_process has none:
                # the code goes to AssumeRole itself.
                source = (self._base(chain, request, ttls, final=False, min_ttl=min_ttl)
                          if chain[0].credential_process else Session(self._master(chain[0])))
                code = self._code(chain, mfa_serial, request)
            else:
                source = self._base(chain, request, ttls, final=False, min_ttl=min_ttl)
            from . import sts

            return sts.assume_role(
                source.credentials, profile_name=profile.name,
                region=profile.region or chain[0].region, role_arn=str(profile.role_arn),
                session_name=profile.role_session_name or session_name(chain[0]),
                duration=duration, external_id=profile.external_id, tags=profile.session_tags,
                transitive_tags=profile.transitive_session_tags,
                source_identity=profile.source_identity,
                mfa_serial=mfa_serial if code else None, code=code,
            )

        return self._reuse_or_refresh(
            role_key(profile), limit=min_ttl if final else ttls.min_ttl,
            want=request.duration if final else None,
            what=f"getting credentials for {profile.name}", owner=profile.name, kind="role",
            root=chain[0].name, fetch=fetch,
        )

    def _master(self, root: Profile) -> Credentials:
        master = self.vault.get_master(root.name)
        if master is None:
            raise UsageError(
                f"no access key stored for profile {root.name} in the "
                f"{self.vault.store.describe()}; "
                f"run 'shellvault add {root.name}'"
            )
        return master


def _mfa_process(chain: list[Profile]) -> str | None:
    for profile in reversed(chain):
        if profile.mfa_process:
            return profile.mfa_process
    return None


def seconds_left_text(expires: int | None, now: float | None = None) -> str:
    if expires is None:
        return "-"
    left = int(expires - (time.time() if now is None else now))
    if left <= 0:
        return "expired"
    hours, rest = divmod(left, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m"
