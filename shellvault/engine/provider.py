"""The provider interface: what a credential source is, and what it may use.

A credential source is a `Provider`: an object whose ``retrieve()`` returns a `Session`
(temporary or long-term credentials plus what the shell shows about them).  Providers
compose like aws-vault's: an `AssumeRole` holds the provider of its source credentials, a
`SessionToken` holds the `MasterKeys` it signs with, and `Cached` wraps any provider whose
result is kept in the vault (one MFA prompt serves every shell until it expires).

Construction must be cheap and side-effect free (no boto3, no prompt, no vault read):
the hot path builds the chain to find the final cache key and never calls ``retrieve``.
Everything a provider needs from the outside world comes through `Context`, so a test
can put a fake STS (`Context.sts`) or a fixed MFA code in its place.

A new credential source (see docs/architecture.md, "A new credential source"):
  1. a class with ``retrieve(self) -> Session`` (one module under ``engine/``), calling
     AWS only through ``ctx.sts`` (add the call to `StsApi` and to `shellvault.sts`);
  2. a `RootSource` entry in ``engine/chain.py``'s ``ROOT_SOURCES``: when it applies to
     the root profile of a chain, and how to build its provider (wrap it in `Cached`
     to keep its sessions in the vault).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from ..config import Profile
    from ..creds import Credentials, Session
    from ..vault import Vault

__all__ = ["NO_OPTIONS", "BotoSts", "Context", "Provider", "Request", "StsApi"]


class Request(NamedTuple):
    """What the caller asked for, beyond the profile."""

    no_input: bool = False
    mfa_token: str | None = None
    duration: int | None = None  # --duration: for the last step of the chain
    min_ttl: int | None = None  # --min-ttl: refresh if less than this is left


NO_OPTIONS = Request()


class Provider(Protocol):
    """One credential source, or one step of a chain."""

    def retrieve(self) -> Session:
        """The credentials; may prompt, call AWS or run a command.  Raises a
        `ShellvaultError` (one line for the user) when it cannot."""
        ...


class StsApi(Protocol):
    """The STS calls providers make; `BotoSts` sends them, a test may answer them."""

    def get_session_token(
        self, master: Credentials, *, profile_name: str, region: str | None, duration: int,
        mfa_serial: str | None, code: str | None,
    ) -> Session: ...

    def caller_account(
        self, creds: Credentials, *, profile_name: str, region: str | None
    ) -> str | None: ...

    def assume_role(
        self, source: Credentials, *, profile_name: str, region: str | None, role_arn: str,
        session_name: str, duration: int, external_id: str | None,
        tags: Sequence[tuple[str, str]], transitive_tags: Sequence[str],
        source_identity: str | None, mfa_serial: str | None = None, code: str | None = None,
    ) -> Session: ...


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


class Context(NamedTuple):
    """What providers may use: the vault, the environment, the request, STS, locks and
    the MFA code source."""

    vault: Vault
    environ: Mapping[str, str]
    request: Request
    sts: StsApi
    # lock(cache key, what the holder is doing) -> a context manager held while refreshing
    lock: Callable[[str, str], AbstractContextManager[object]]

    def mfa_code(self, chain: Sequence[Profile], mfa_serial: str) -> str:
        """The MFA code for ``mfa_serial``: --mfa-token, the chain's mfa_process, or a
        prompt (`shellvault.mfa`)."""
        from ..mfa import get_code

        return get_code(chain[-1].name, mfa_serial, token=self.request.mfa_token,
                        mfa_process=mfa_process_for(chain), no_input=self.request.no_input,
                        environ=self.environ)


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


def mfa_process_for(chain: Sequence[Profile]) -> str | None:
    """The nearest mfa_process, from the requested profile down."""
    for profile in reversed(chain):
        if profile.mfa_process:
            return profile.mfa_process
    return None
