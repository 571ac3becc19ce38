"""The provider interface: what a credential source is, and what it may use.

A credential source is a `Provider`: an object whose ``retrieve()`` returns a `Session`
(temporary or long-term credentials plus what the shell shows about them).  Providers
compose like aws-vault's: an `AssumeRole` holds the provider of its source credentials, a
`SessionToken` holds the `MasterKeys` it signs with, and `Cached` wraps any provider whose
result is kept in the vault (one MFA prompt serves every shell until it expires).

Construction must be cheap and side-effect free (no boto3, no prompt, no vault read):
the hot path builds the chain to find the final cache key and never calls ``retrieve``.
Everything a provider needs from the outside world comes through `Context`, so a test
can put a fake STS (`Context.sts`) or a fixed MFA code in its place.  This module holds
only the protocols (type checking imports it; the hot path does not); `Context`,
`Request` and `BotoSts` are in `engine.context`.

A new credential source (see docs/architecture.md, "A new credential source"):
  1. a class with ``retrieve(self) -> Session`` (one module under ``engine/``), calling
     AWS only through ``ctx.sts`` (add the call to `StsApi` and to `shellvault.sts`);
  2. a `RootSource` entry in ``engine/chain.py``'s ``ROOT_SOURCES``: when it applies to
     the root profile of a chain, and how to build its provider (wrap it in `Cached`
     to keep its sessions in the vault).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..creds import Credentials, Session

__all__ = ["Provider", "StsApi"]


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

    def assume_role_with_web_identity(
        self, token: str, *, profile_name: str, region: str | None, role_arn: str,
        session_name: str, duration: int,
    ) -> Session: ...
