"""SHA-256 hex digests for cache keys, without importing hashlib.

`hashlib` loads OpenSSL's `_hashlib` (about 3 ms), which a cached `env` would pay only to
name its session (`Profile.fingerprint`, `engine.cache.base_key`).  CPython's own SHA-256
module gives the same digest; hashlib is the fallback where it is missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def _constructor() -> Any:
    try:
        from _sha2 import sha256  # CPython 3.12+

        return sha256
    except ImportError:
        pass
    try:
        from _sha256 import sha256  # CPython 3.11 and older

        return sha256
    except ImportError:
        from hashlib import sha256

        return sha256


_SHA256 = _constructor()


def sha256_hex(parts: Iterable[bytes]) -> str:
    """The SHA-256 of the concatenated ``parts``, in hex."""
    h = _SHA256()
    for part in parts:
        h.update(part)
    return str(h.hexdigest())
