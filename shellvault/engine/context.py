"""What providers may use (`Context`), what the caller asked for (`Request`), and the
STS calls as `BotoSts` sends them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from ..config import Profile
    from ..creds import Credentials, Session
    from ..vault import Vault
    from .provider import StsApi

__all__ = ["NO_OPTIONS", "BotoSts", "Context", "Request", "mfa_process_for", "mfa_serial_for"]


class Request(NamedTuple):
    """What the caller asked for, beyond the profile."""

    no_input: bool = False
    mfa_token: str | None = None
    duration: int | None = None  # --duration: for the last step of the chain
    min_ttl: int | None = None  # --min-ttl: refresh if less than this is left


NO_OPTIONS = Request()


class BotoSts:
    """`StsApi` through `shellvault.sts` (boto3), imported on the first call only."""

    def get_session_token(
        self, master: Credentials, *, profile_name: str, region: str | None, duration: int,
        mfa_serial: str | None, code: str | None,
    ) -> Session:
        from .. import sts

        return sts.get_session_token(master, profile_name=profile_name, region=region,
                                     duration=duration, mfa_serial=mfa_serial, code=code)

    def caller_account(
        self, creds: Credentials, *, profile_name: str, region: str | None
    ) -> str | None:
        from .. import sts

        return sts.caller_account(creds, profile_name=profile_name, region=region)

    def assume_role(
        self, source: Credentials, *, profile_name: str, region: str | None, role_arn: str,
        session_name: str, duration: int, external_id: str | None,
        tags: Sequence[tuple[str, str]], transitive_tags: Sequence[str],
        source_identity: str | None, mfa_serial: str | None = None, code: str | None = None,
    ) -> Session:
        from .. import sts

        return sts.assume_role(
            source, profile_name=profile_name, region=region, role_arn=role_arn,
            session_name=session_name, duration=duration, external_id=external_id, tags=tags,
            transitive_tags=transitive_tags, source_identity=source_identity,
            mfa_serial=mfa_serial, code=code,
        )

    def assume_role_with_web_identity(
        self, token: str, *, profile_name: str, region: str | None, role_arn: str,
        session_name: str, duration: int,
    ) -> Session:
        from .. import sts

        return sts.assume_role_with_web_identity(
            token, profile_name=profile_name, region=region, role_arn=role_arn,
            session_name=session_name, duration=duration,
        )


class Context:
    """What providers may use: the vault, the environment, the request, STS, locks and
    the MFA code source.

    ``lock(cache key, what the holder is doing)`` is a context manager held while a
    session is refreshed."""

    __slots__ = ("environ", "lock", "request", "sts", "vault")

    def __init__(
        self, vault: Vault, environ: Mapping[str, str], request: Request, sts: StsApi,
        lock: Callable[[str, str], AbstractContextManager[object]],
    ) -> None:
        self.vault = vault
        self.environ = environ
        self.request = request
        self.sts = sts
        self.lock = lock

    def mfa_code(self, chain: Sequence[Profile], mfa_serial: str, caller: Profile) -> str:
        """The MFA code for ``mfa_serial`` that ``caller``'s request carries: --mfa-token,
        the mfa_process `mfa_process_for` picks, or a prompt (`shellvault.mfa`)."""
        from ..mfa import get_code

        return get_code(chain[-1].name, mfa_serial, token=self.request.mfa_token,
                        mfa_process=mfa_process_for(chain, caller),
                        no_input=self.request.no_input, environ=self.environ)


def mfa_serial_for(chain: Sequence[Profile]) -> str | None:
    """The MFA device of a chain: the nearest one set, from the requested profile down.

    aws-vault takes the root's mfa_serial for GetSessionToken and drops the session token
    when a role names another device. Here a role's own mfa_serial (the AWS CLI's style of
    config) also gets one MFA session that every role with that device shares.
    """
    for profile in reversed(chain):
        if profile.mfa_serial:
            return profile.mfa_serial
    return None


def mfa_process_for(chain: Sequence[Profile], caller: Profile) -> str | None:
    """The mfa_process that gives the code ``caller`` sends (the root for the MFA
    session's GetSessionToken, the role's profile for an AssumeRole with the code).

    As ByteNess: the caller's own, else the nearest below it (its source_profile chain),
    so a profile's own mfa_process is never replaced by its source's, and the shared MFA
    session always gets its code from the profile that holds the keys.  When none of
    those has one (a device named on the role only, shellvault's MFA session for it),
    the nearest from the requested profile down.
    """
    index = next((i for i, p in enumerate(chain) if p is caller), len(chain) - 1)
    for profile in (*reversed(chain[: index + 1]), *reversed(chain)):
        if profile.mfa_process:
            return profile.mfa_process
    return None
