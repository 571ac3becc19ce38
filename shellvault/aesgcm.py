"""AES-256-GCM for the file store, through OpenSSL's libcrypto without `cryptography`.

Importing `cryptography`'s Rust binding was the largest part of a warm `env` on an
unlocked file store (15-50 ms); libcrypto through ctypes costs a few milliseconds (mapping
it, and OpenSSL's first cipher fetch), and ctypes is loaded already (keycache.py).
Argon2id stays in `cryptography`: it runs only when a passphrase is typed.

Which libcrypto: the one Python's own `_hashlib` links, found in /proc/self/maps once
`_hashlib` is loaded (so the process never holds two copies, and a later `import ssl`
gets the library it was built against), else the versioned sonames the dynamic linker
knows (libcrypto.so.3, then libcrypto.so.1.1). No process is started
(ctypes.util.find_library would run ldconfig or gcc). Only on Linux: macOS's system
libcrypto aborts a process that dlopens it unversioned. Elsewhere, or when no libcrypto
loads and passes the known-answer check below, `cryptography` does the work: the same
bytes either way.

Wire format (as `cryptography`'s AESGCM): ciphertext followed by the 16-byte tag; the
12-byte nonce is the caller's.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, Protocol

KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
# libcrypto's lengths are C ints; an item is a few kilobytes, so anything near 2 GiB is
# left to cryptography rather than split.
_MAX_LENGTH = 1 << 30
SONAMES = ("libcrypto.so.3", "libcrypto.so.1.1")

# <openssl/evp.h>
_EVP_CTRL_GCM_SET_IVLEN = 0x9
_EVP_CTRL_GCM_GET_TAG = 0x10
_EVP_CTRL_GCM_SET_TAG = 0x11


class Cipher(Protocol):
    name: str

    def encrypt(self, key: bytes, nonce: bytes, plain: bytes, associated: bytes) -> bytes: ...

    def decrypt(self, key: bytes, nonce: bytes, sealed: bytes,
                associated: bytes) -> bytes | None: ...


class CryptographyCipher:
    """The fallback: `cryptography`'s AESGCM (its Rust binding and bundled OpenSSL)."""

    name = "cryptography"

    def encrypt(self, key: bytes, nonce: bytes, plain: bytes, associated: bytes) -> bytes:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        sealed: bytes = AESGCM(key).encrypt(nonce, plain, associated)
        return sealed

    def decrypt(self, key: bytes, nonce: bytes, sealed: bytes,
                associated: bytes) -> bytes | None:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            plain: bytes = AESGCM(key).decrypt(nonce, sealed, associated)
        except InvalidTag:
            return None
        return plain


class LibcryptoCipher:
    """AES-256-GCM through libcrypto's EVP interface (OpenSSL 1.1 and 3)."""

    name = "libcrypto"

    def __init__(self, library: Any, path: str) -> None:
        import ctypes

        self.path = path
        self._ctypes = ctypes
        ptr, num, buf = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
        out_len = ctypes.POINTER(ctypes.c_int)

        def bind(name: str, restype: Any, *argtypes: Any) -> Any:
            function = getattr(library, name)  # AttributeError: not a usable libcrypto
            function.restype, function.argtypes = restype, list(argtypes)
            return function

        self._new = bind("EVP_CIPHER_CTX_new", ptr)
        self._free = bind("EVP_CIPHER_CTX_free", None, ptr)
        self._aes_256_gcm = bind("EVP_aes_256_gcm", ptr)
        self._ctrl = bind("EVP_CIPHER_CTX_ctrl", num, ptr, num, num, ptr)
        init_types = (ptr, ptr, ptr, buf, buf)
        self._encrypt_init = bind("EVP_EncryptInit_ex", num, *init_types)
        self._decrypt_init = bind("EVP_DecryptInit_ex", num, *init_types)
        # Output as an address (ptr), so a call can write at an offset into one buffer.
        self._encrypt_update = bind("EVP_EncryptUpdate", num, ptr, ptr, out_len, buf, num)
        self._decrypt_update = bind("EVP_DecryptUpdate", num, ptr, ptr, out_len, buf, num)
        self._encrypt_final = bind("EVP_EncryptFinal_ex", num, ptr, ptr, out_len)
        self._decrypt_final = bind("EVP_DecryptFinal_ex", num, ptr, ptr, out_len)

    def _context(self, init: Any, key: bytes, nonce: bytes) -> Any:
        """A cipher context set up for AES-256-GCM with `key` and `nonce` (caller frees)."""
        if len(key) != KEY_SIZE or len(nonce) != NONCE_SIZE:
            raise ValueError("AES-256-GCM takes a 32-byte key and a 12-byte nonce")
        ctx = self._new()
        if not ctx:
            raise MemoryError("EVP_CIPHER_CTX_new failed")
        if (init(ctx, self._aes_256_gcm(), None, None, None) != 1
                or self._ctrl(ctx, _EVP_CTRL_GCM_SET_IVLEN, NONCE_SIZE, None) != 1
                or init(ctx, None, None, key, nonce) != 1):
            self._free(ctx)
            raise RuntimeError("libcrypto refused to set up AES-256-GCM")
        return ctx

    def encrypt(self, key: bytes, nonce: bytes, plain: bytes, associated: bytes) -> bytes:
        if len(plain) > _MAX_LENGTH or len(associated) > _MAX_LENGTH:
            return CryptographyCipher().encrypt(key, nonce, plain, associated)
        c = self._ctypes
        ctx = self._context(self._encrypt_init, key, nonce)
        try:
            out = c.create_string_buffer(len(plain) + TAG_SIZE)
            start = c.addressof(out)
            written, final = c.c_int(0), c.c_int(0)
            ok = (not associated or self._encrypt_update(
                      ctx, None, c.byref(written), associated, len(associated)) == 1)
            written.value = 0
            ok = ok and (not plain or self._encrypt_update(
                ctx, start, c.byref(written), plain, len(plain)) == 1)
            ok = ok and self._encrypt_final(ctx, start + written.value, c.byref(final)) == 1
            length = written.value + final.value
            ok = ok and length == len(plain) and self._ctrl(
                ctx, _EVP_CTRL_GCM_GET_TAG, TAG_SIZE, start + length) == 1
            if not ok:
                raise RuntimeError("libcrypto failed to encrypt with AES-256-GCM")
            sealed: bytes = out.raw
            return sealed
        finally:
            self._free(ctx)

    def decrypt(self, key: bytes, nonce: bytes, sealed: bytes,
                associated: bytes) -> bytes | None:
        if len(sealed) < TAG_SIZE:
            return None
        if len(sealed) > _MAX_LENGTH or len(associated) > _MAX_LENGTH:
            return CryptographyCipher().decrypt(key, nonce, sealed, associated)
        c = self._ctypes
        body, tag = sealed[:-TAG_SIZE], sealed[-TAG_SIZE:]
        ctx = self._context(self._decrypt_init, key, nonce)
        out = c.create_string_buffer(len(body) or 1)
        try:
            start = c.addressof(out)
            written, final = c.c_int(0), c.c_int(0)
            tag_buffer = c.create_string_buffer(tag, TAG_SIZE)
            ok = (not associated or self._decrypt_update(
                      ctx, None, c.byref(written), associated, len(associated)) == 1)
            written.value = 0
            ok = ok and (not body or self._decrypt_update(
                ctx, start, c.byref(written), body, len(body)) == 1)
            ok = ok and self._ctrl(ctx, _EVP_CTRL_GCM_SET_TAG, TAG_SIZE,
                                   c.addressof(tag_buffer)) == 1
            # Final checks the tag: 1 only when key, nonce, data and associated data match.
            ok = ok and self._decrypt_final(ctx, start + written.value, c.byref(final)) == 1
            if not ok or written.value + final.value != len(body):
                return None
            plain: bytes = out.raw[:len(body)]
            return plain
        finally:
            self._free(ctx)
            c.memset(out, 0, len(out))  # the plaintext's only copy outside the result


# NIST's GCM test vector (gcmEncryptExtIV256.rsp, Count 0 with 128-bit PT and AAD): a
# library that does not reproduce it exactly is not used.
KNOWN_ANSWER = {
    "key": "92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b",
    "nonce": "ac93a1a6145299bde902f21a",
    "plain": "2d71bcfa914e4ac045b2aa60955fad24",
    "associated": "1e0889016f67601c8ebea4943bc23ad6",
    "sealed": "8995ae2e6df3dbf96fac7b7137bae67f" "eca5aa77d51d4a0a14d9c51e1da474ab",
}


def passes_known_answer(cipher: Cipher) -> bool:
    v = {name: bytes.fromhex(value) for name, value in KNOWN_ANSWER.items()}
    try:
        sealed = cipher.encrypt(v["key"], v["nonce"], v["plain"], v["associated"])
        opened = cipher.decrypt(v["key"], v["nonce"], v["sealed"], v["associated"])
    except (RuntimeError, ValueError, MemoryError, OSError):
        return False
    return sealed == v["sealed"] and opened == v["plain"]


def _mapped_libcrypto() -> str | None:
    """The path of a libcrypto already mapped into this process, if any."""
    try:
        with open("/proc/self/maps", "rb") as maps:
            for line in maps:
                path = line.rstrip().partition(b" /")[2]
                if path.rpartition(b"/")[2].startswith(b"libcrypto.so."):
                    return "/" + path.decode("utf-8", "surrogateescape")
    except OSError:
        pass
    return None


def _pythons_libcrypto() -> str | None:
    """The libcrypto this Python's `_hashlib` links (mapped now if it was not yet), so a
    later `import ssl` in this process finds the very library it was built against."""
    mapped = _mapped_libcrypto()
    if mapped is None:
        try:
            import _hashlib  # noqa: F401
        except ImportError:
            return None  # a Python without OpenSSL
        mapped = _mapped_libcrypto()  # None: OpenSSL linked statically into Python
    return mapped


def load_libcrypto(candidates: Iterable[str] | None = None,
                   platform: str = sys.platform) -> LibcryptoCipher | None:
    """libcrypto's AES-256-GCM from the first of `candidates` (default: Python's own
    libcrypto, then SONAMES) that loads and passes the known-answer check; None when
    none does, and always off Linux."""
    if not platform.startswith("linux"):
        return None
    import ctypes

    if candidates is None:
        candidates = [c for c in (_pythons_libcrypto(), *SONAMES) if c]
    for candidate in candidates:
        try:
            cipher = LibcryptoCipher(ctypes.CDLL(candidate), candidate)
        except (OSError, AttributeError):
            continue
        if passes_known_answer(cipher):
            return cipher
    return None


_cipher: Cipher | None = None


def cipher() -> Cipher:
    """This process's AES-256-GCM: libcrypto's when usable, else cryptography's."""
    global _cipher
    if _cipher is None:
        _cipher = load_libcrypto() or CryptographyCipher()
    return _cipher


def encrypt(key: bytes, nonce: bytes, plain: bytes, associated: bytes) -> bytes:
    """AES-256-GCM: ciphertext + 16-byte tag."""
    return cipher().encrypt(key, nonce, plain, associated)


def decrypt(key: bytes, nonce: bytes, sealed: bytes, associated: bytes) -> bytes | None:
    """The plaintext, or None when `key` is not the key or anything was altered."""
    return cipher().decrypt(key, nonce, sealed, associated)
