"""`Engine`: a resolved profile in, credentials out, from the cache when it can."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from ..creds import Session
from ..paths import state_dir
from . import chain
from .context import NO_OPTIONS, BotoSts, Context, Request

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from ..config import Profile, TTLs
    from ..vault import Vault
    from .provider import Provider, StsApi

__all__ = ["Engine", "Issued"]


class Issued(NamedTuple):
    session: Session
    profile: Profile
    region: str | None


class Engine:
    """Builds a profile's provider chain (`chain.build`) and runs it.

    ``sts`` is the seam for tests: any `StsApi`; boto3 by default, imported on a cache
    miss only."""

    def __init__(self, vault: Vault, environ: Mapping[str, str] = os.environ,
                 sts: StsApi | None = None) -> None:
        self.vault = vault
        self.environ = environ
        self.sts: StsApi = sts if sts is not None else BotoSts()

    def _ttls(self, profile: Profile) -> TTLs:
        from ..config import ttls

        return ttls(self.environ, profile)

    def _lock(self, key: str, what: str) -> AbstractContextManager[object]:
        from ..lock import exclusive

        return exclusive(state_dir(self.environ) / "locks" / f"{key}.lock", what)

    def provider(self, profile: Profile, request: Request = NO_OPTIONS) -> Provider:
        """The last step of ``profile``'s chain (nothing is fetched yet)."""
        ctx = Context(self.vault, self.environ, request, self.sts, self._lock)
        ttls = self._ttls(profile)
        min_ttl = request.min_ttl if request.min_ttl is not None else ttls.min_ttl
        return chain.build(ctx, profile, ttls, min_ttl, self._ttls)

    # -- the hot path -----------------------------------------------------------------------
    def cached(self, profile: Profile, request: Request = NO_OPTIONS) -> Issued | None:
        """A valid cached session for `profile`, without importing boto3; None on a miss."""
        cache = chain.final_cache(self.provider(profile, request))
        session = cache.peek() if cache is not None else None
        return Issued(session, profile, profile.region) if session is not None else None

    # -- the full chain ---------------------------------------------------------------------
    def issue(self, profile: Profile, request: Request = NO_OPTIONS) -> Issued:
        if request.no_input:  # a prompt hook or a script waits: never behind a prompt, briefly
            from ..lock import never_wait_for_input
            from ..sts import NO_INPUT_TIME_BUDGET, set_time_budget

            never_wait_for_input(profile.name)
            set_time_budget(NO_INPUT_TIME_BUDGET)
        return Issued(self.provider(profile, request).retrieve(), profile, profile.region)
