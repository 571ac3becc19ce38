"""The file store's derived key, kept between commands in the Linux kernel keyring.

After the passphrase is entered once, the 32-byte key Argon2id derived from it (never the
passphrase) goes into the session keyring with a timeout, so later commands, the prompt
hook and direnv open the store without asking and without paying Argon2id again.

Why the kernel keyring: it lives in kernel memory (never swapped to a file by us, never on
disk), the kernel removes the key itself when the timeout passes, and only a process that
*possesses* the keyring (its own session keyring: this login's processes) may read it. Other
users cannot, and nor can the same user's processes in another login session when PAM gave
each login its own session keyring (pam_keyinit); without one (containers, WSL) it is the
per-user session keyring that every process of the user shares.

The syscalls go through ctypes (about 3 ms to import, one syscall per step): no `keyctl`
process per call. Elsewhere (macOS, the BSDs) there is no such cache: the passphrase is asked
per command, as before; those systems have an OS keyring that `auto` uses anyway.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .digest import sha256_hex
from .errors import UsageError

DEFAULT_TTL = 8 * 3600
MAX_TTL = 366 * 86400  # keyctl's timeout is an unsigned int of seconds
TTL_VARIABLE = "SHELLVAULT_FILE_UNLOCK_TTL"
KEY_LENGTH = 32

# <linux/keyctl.h>
_KEY_SPEC_SESSION_KEYRING = -3
_KEYCTL_GET_KEYRING_ID = 0
_KEYCTL_SETPERM = 5
_KEYCTL_UNLINK = 9
_KEYCTL_SEARCH = 10
_KEYCTL_READ = 11
_KEYCTL_SET_TIMEOUT = 15
_KEYCTL_INVALIDATE = 21
# possessor: view, read, write, search, link, setattr; the user (other sessions): view only,
# so `keyctl show` elsewhere sees that a key exists but cannot read it.
_PERMISSIONS = 0x3F010000

# (add_key, keyctl) syscall numbers; the generic table serves aarch64 and riscv64.
_SYSCALLS = {
    "x86_64": (248, 250),
    "i386": (286, 288),
    "i686": (286, 288),
    "aarch64": (217, 219),
    "riscv64": (217, 219),
    "armv7l": (309, 311),
    "armv6l": (309, 311),
    "ppc64le": (269, 271),
    "ppc64": (269, 271),
    "s390x": (278, 280),
}


def unlock_ttl(environ: Mapping[str, str] = os.environ) -> int:
    """Seconds a derived key stays cached after an unlock; 0 means never cache."""
    raw = environ.get(TTL_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_TTL
    from .config import parse_duration

    seconds = parse_duration(raw)
    if seconds is None or seconds > MAX_TTL:
        raise UsageError(
            f"{TTL_VARIABLE}={raw!r} is not a duration up to 366 days (e.g. 8h, 30m, 3600; "
            "0 = never cache)"
        )
    return seconds


class _Syscalls:
    """add_key(2) and keyctl(2) through libc's syscall(): glibc has no wrappers for them."""

    def __init__(self) -> None:
        import ctypes

        numbers = _SYSCALLS.get(os.uname().machine)
        if numbers is None:
            raise OSError(f"no kernel keyring syscall numbers for {os.uname().machine}")
        self.add_key_nr, self.keyctl_nr = numbers
        self.ctypes = ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        self._syscall = libc.syscall
        self._syscall.restype = ctypes.c_long

    def _check(self, result: int) -> int:
        if result < 0:
            errno = self.ctypes.get_errno()
            raise OSError(errno, os.strerror(errno))
        return result

    def keyctl(self, operation: int, *args: Any) -> int:
        c = self.ctypes
        converted = [c.c_long(a) if isinstance(a, int) else a for a in args]
        return self._check(self._syscall(c.c_long(self.keyctl_nr), c.c_long(operation),
                                         *converted))

    def add_key(self, description: bytes, payload: bytes, keyring: int) -> int:
        c = self.ctypes
        return self._check(self._syscall(
            c.c_long(self.add_key_nr), c.c_char_p(b"user"), c.c_char_p(description),
            c.c_char_p(payload), c.c_size_t(len(payload)), c.c_long(keyring)))

    def read(self, key_id: int, size: int) -> bytes:
        buffer = self.ctypes.create_string_buffer(size)
        length = self.keyctl(_KEYCTL_READ, key_id, buffer, size)
        data = buffer.raw[: min(length, size)]
        self.ctypes.memset(buffer, 0, size)
        return data if length == size else b""


_syscalls: _Syscalls | None = None


def _kernel() -> _Syscalls:
    global _syscalls
    if _syscalls is None:
        _syscalls = _Syscalls()
    return _syscalls


def unavailable_reason() -> str | None:
    """Why no key can be cached on this system, or None when the kernel keyring works."""
    if not sys.platform.startswith("linux"):
        return f"no kernel keyring on {sys.platform}"
    try:
        _session_keyring()
    except OSError as exc:
        return f"the kernel keyring is not usable ({exc.strerror or exc})"
    return None


def _session_keyring() -> int:
    # Without create: the login's session keyring, or the per-user session keyring when the
    # process has none. (With create, the kernel would make a new one for this process
    # alone, and the key would die with it.)
    return _kernel().keyctl(_KEYCTL_GET_KEYRING_ID, _KEY_SPEC_SESSION_KEYRING, 0)


class KeyCache:
    """The cached derived key of one file store (named by the store's directory)."""

    def __init__(self, store_dir: Path) -> None:
        digest = sha256_hex([os.fsencode(os.path.abspath(store_dir))])[:32]
        self.description = f"shellvault:file-store:{digest}".encode()

    def _find(self) -> int | None:
        try:
            return _kernel().keyctl(_KEYCTL_SEARCH, _session_keyring(), b"user",
                                    self.description, 0)
        except OSError:
            return None  # none, expired, revoked, or no keyring at all: locked

    def get(self) -> bytes | None:
        """The cached key, or None (never cached, expired, locked, or no kernel keyring)."""
        if not sys.platform.startswith("linux"):
            return None
        key_id = self._find()
        if key_id is None:
            return None
        try:
            key = _kernel().read(key_id, KEY_LENGTH)
        except OSError:
            return None
        return key if len(key) == KEY_LENGTH else None

    def put(self, key: bytes, ttl: int) -> bool:
        """Cache `key` for `ttl` seconds; False when it cannot be (no keyring, quota full)."""
        if ttl <= 0 or not sys.platform.startswith("linux"):
            return False
        try:
            kernel = _kernel()
            key_id = kernel.add_key(self.description, key, _session_keyring())
        except OSError:
            return False  # EDQUOT, ENOSYS in a sandbox...: the store still works, uncached
        try:
            kernel.keyctl(_KEYCTL_SETPERM, key_id, _PERMISSIONS)
            kernel.keyctl(_KEYCTL_SET_TIMEOUT, key_id, ttl)
        except OSError:
            self.forget()  # never leave a key without its timeout
            return False
        return True

    def forget(self) -> bool:
        """Drop the cached key now; True if there was one."""
        if not sys.platform.startswith("linux"):
            return False
        dropped = False
        for _ in range(8):  # one per keyring it may be linked into
            key_id = self._find()
            if key_id is None:
                break
            try:
                _kernel().keyctl(_KEYCTL_INVALIDATE, key_id)
            except OSError:
                try:
                    _kernel().keyctl(_KEYCTL_UNLINK, key_id, _session_keyring())
                except OSError:
                    break
            dropped = True
        return dropped
