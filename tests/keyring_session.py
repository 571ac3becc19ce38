"""A private kernel session keyring per test (the `keyctl new_session` semantics).

``private_keyring`` makes the pytest process join a new anonymous session keyring;
every shellvault, shell and direnv the test starts inherits it, so a key one of them
caches is seen by the others and by nothing outside the test, and it is gone when the
test's processes are. Afterwards the process joins another fresh one, so nothing a test
cached reaches the next. Import the fixture into a test module to use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shellvault.keycache import KeyCache, _kernel

KEYCTL_JOIN_SESSION_KEYRING = 1
KEY_SPEC_SESSION_KEYRING = -3
KEYCTL_GET_KEYRING_ID = 0


def join_new_session_keyring() -> int:
    """Join a new anonymous session keyring; its serial number."""
    _kernel().keyctl(KEYCTL_JOIN_SESSION_KEYRING, None)
    return _kernel().keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0)


@pytest.fixture
def private_keyring() -> Iterator[int]:
    """The serial of this test's own session keyring (see the module docstring)."""
    try:
        serial = join_new_session_keyring()
    except OSError as exc:
        pytest.fail(f"the kernel keyring is not usable here ({exc}); these tests need it")
    yield serial
    join_new_session_keyring()


def cached_key(home_data_dir: Path) -> bytes | None:
    """The derived key shellvault cached for the store under DATA_DIR, as a reader sees it."""
    return KeyCache(home_data_dir / "vault").get()
