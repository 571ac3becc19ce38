"""The credential engine: one provider per credential source, composed into a chain.

    master keys ──GetSessionToken(+MFA)──► base session ──AssumeRole──► role ──AssumeRole──► role

  * `provider` -- the interface (`Provider`, `StsApi`; for type checking only);
  * `context` -- what providers may use (`Context`) and what was asked (`Request`);
  * `masterkeys`, `sessiontoken`, `assumerole`, `credprocess` -- one module per source;
  * `cache` -- cache keys, freshness, and `Cached` (a provider kept in the vault);
  * `chain` -- the rules that compose them for a profile, and ``ROOT_SOURCES``;
  * `engine` -- `Engine`: the hot path (`cached`) and the full chain (`issue`).

Every temporary session is cached in the vault under a key derived from the settings that
produce it, so one MFA session serves every role whose chain starts at the same user and
MFA device. A cache hit (`Engine.cached`) costs no boto3 import; `shellvault.sts` is
imported on a miss only. Refreshes happen under a per-session lock, so concurrent shells
cause one prompt and one call.
"""

from __future__ import annotations

from .cache import base_key, role_key
from .chain import CHAINED_ROLE_LIMIT
from .context import NO_OPTIONS, Request, mfa_serial_for
from .engine import Engine, Issued

__all__ = [
    "CHAINED_ROLE_LIMIT",
    "NO_OPTIONS",
    "Engine",
    "Issued",
    "Request",
    "base_key",
    "mfa_serial_for",
    "role_key",
]
