"""The encrypted file store: one AES-256-GCM file per item under $XDG_DATA_HOME/shellvault/vault.

The key comes from the passphrase through Argon2id (memory-hard). One salt per store, so a
process derives the key once however many items it reads; with the key cached in the kernel
keyring (keycache.py) later processes derive nothing. Each item is bound to its name as
associated data, so files cannot be swapped. `meta.json` holds the KDF parameters and an
encrypted check value that tells a wrong (or stale cached) key apart before anything is read
or written. AES-GCM is aesgcm.py's (libcrypto through ctypes, so reading with a cached key
imports no `cryptography`); Argon2id is `cryptography`'s, paid only when a passphrase is typed.

Concurrency: every write (creating the store, an item, a deletion, a passphrase change)
holds `vault.lock` beside the directory and checks, under it, that its key still opens the
store as it is now. Readers take no lock: every file is replaced atomically, and a passphrase
change swaps in a whole re-encrypted directory at once.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote, unquote

from .errors import UsageError, VaultError
from .paths import ensure_private_dir, write_private_file

if TYPE_CHECKING:
    from .keycache import KeyCache

# OWASP's Argon2id floor (19 MiB, 2 passes, 1 lane): about 50 ms here, paid per unlock.
KDF_MEMORY_KIB = 19456
KDF_ITERATIONS = 2
KDF_LANES = 1
# What a meta.json may ask for before it counts as damaged (an absurd cost would hang or
# exhaust memory instead of failing).
MAX_MEMORY_KIB = 4 * 1024 * 1024
MAX_ITERATIONS = 64
MAX_LANES = 64
CHECK_PLAINTEXT = b"shellvault file store v1"
META = "meta.json"
SUFFIX = ".item"
LOCK_WAIT = 30.0  # the lock is held for milliseconds; a passphrase change for a little more
class WrongPassphrase(VaultError):
    pass


class StoreChanged(VaultError):
    """Another process changed the passphrase between our unlock and our write."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(value: Any, what: str, minimum: int) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{what} is not text")
    try:
        data = base64.b64decode(value.encode(), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError(f"{what} is not base64") from None
    if len(data) < minimum:
        raise ValueError(f"{what} is too short")
    return data


def _int(meta: Mapping[str, Any], field: str, low: int, high: int) -> int:
    value = meta.get(field)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{field} is missing or not a number")
    if not low <= value <= high:
        raise ValueError(f"{field} {value} is out of range ({low}-{high})")
    return value


class Meta(NamedTuple):
    salt: bytes
    memory_kib: int
    iterations: int
    lanes: int
    check: bytes  # nonce + AES-GCM(CHECK_PLAINTEXT): which key opens this store

    @staticmethod
    def parse(text: bytes) -> Meta:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        if data.get("version") != 1 or data.get("kdf") != "argon2id":
            raise ValueError("unknown version or KDF")
        lanes = _int(data, "lanes", 1, MAX_LANES)
        return Meta(
            salt=_unb64(data.get("salt"), "salt", 8),
            memory_kib=_int(data, "memory_kib", 8 * lanes, MAX_MEMORY_KIB),
            iterations=_int(data, "iterations", 1, MAX_ITERATIONS),
            lanes=lanes,
            check=_unb64(data.get("check"), "check", 12 + 16),
        )

    def to_json(self) -> bytes:
        return json.dumps({
            "version": 1, "kdf": "argon2id", "salt": _b64(self.salt),
            "memory_kib": self.memory_kib, "iterations": self.iterations, "lanes": self.lanes,
            "check": _b64(self.check),
        }, indent=1).encode()


def _derive(passphrase: str, salt: bytes, memory: int, iterations: int, lanes: int) -> bytes:
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    return Argon2id(
        salt=salt, length=32, iterations=iterations, lanes=lanes, memory_cost=memory
    ).derive(passphrase.encode())


def _encrypt(key: bytes, plain: bytes, associated: bytes) -> bytes:
    from . import aesgcm

    nonce = os.urandom(aesgcm.NONCE_SIZE)
    return nonce + aesgcm.encrypt(key, nonce, plain, associated)


def _decrypt(key: bytes, blob: bytes, associated: bytes) -> bytes | None:
    """The plaintext, or None when `key` is not the key or the blob was altered."""
    from . import aesgcm

    nonce = aesgcm.NONCE_SIZE
    return aesgcm.decrypt(key, blob[:nonce], blob[nonce:], associated)


def key_opens(key: bytes, meta: Meta) -> bool:
    return _decrypt(key, meta.check, META.encode()) == CHECK_PLAINTEXT


def new_meta(passphrase: str) -> tuple[Meta, bytes]:
    """A fresh salt and check value for `passphrase`, and the key derived from it."""
    salt = os.urandom(16)
    key = _derive(passphrase, salt, KDF_MEMORY_KIB, KDF_ITERATIONS, KDF_LANES)
    check = _encrypt(key, CHECK_PLAINTEXT, META.encode())
    return Meta(salt, KDF_MEMORY_KIB, KDF_ITERATIONS, KDF_LANES, check), key


def span(seconds: int) -> str:
    """8h, 1h30m, 45m, 20s: how long a key stays unlocked."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def _swap_directories(a: Path, b: Path) -> bool:
    """Exchange two directories in one step (Linux renameat2 RENAME_EXCHANGE)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return bool(result == 0)


class FileStore:
    name = "file"

    def __init__(
        self,
        directory: Path,
        passphrase: Callable[[bool], str],
        cache: KeyCache | None = None,
        cache_ttl: int = 0,
        passphrase_hint: str = "",
        attempts: int = 1,
    ) -> None:
        # passphrase(new_store) -> str; asked lazily so listing names needs none, and only
        # when the cache has no key that opens the store.
        self.directory = directory
        self._passphrase = passphrase
        self._cache = cache
        self._cache_ttl = cache_ttl
        self._hint = passphrase_hint
        self._attempts = attempts  # a typed passphrase may be retyped, like sudo's
        self._key: bytes | None = None
        self._meta: Meta | None = None  # the meta.json our key was checked against
        # The key is the kernel cache's: a process that lives for hours (exec --server)
        # must stop using it once `shellvault lock` or the unlock TTL removed it there.
        self._key_cached = False
        self._holding_lock = False

    def describe(self) -> str:
        return f"encrypted file store {self.directory}"

    @property
    def meta_path(self) -> Path:
        return self.directory / META

    @property
    def lock_path(self) -> Path:
        return self.directory.with_name(self.directory.name + ".lock")

    # -- meta and lock ------------------------------------------------------------------
    def read_meta(self) -> Meta | None:
        """This store's meta.json; None if there is no store yet."""
        try:
            text = self.meta_path.read_bytes()
        except FileNotFoundError:
            if self._restored():
                return self.read_meta()
            return None
        except OSError as exc:
            raise VaultError(f"cannot read {self.meta_path}: {exc.strerror}") from None
        try:
            return Meta.parse(text)
        except (ValueError, RecursionError) as exc:
            raise VaultError(
                f"{self.meta_path} is corrupt ({exc}); restore it from a backup, or move "
                f"{self.directory} away to start an empty store"
            ) from None

    def _restored(self) -> bool:
        """True if the store directory was missing and has been put back.

        Only where RENAME_EXCHANGE is missing is a passphrase change two renames; a crash
        between them leaves the old store under its parking name."""
        if self.directory.exists():
            return False
        parked = sorted(self.directory.parent.glob(f".{self.directory.name}.old-*"))
        if not parked:
            return False
        with self._locked():
            if not self.directory.exists():
                os.rename(parked[-1], self.directory)
        return True

    @contextmanager
    def _locked(self) -> Iterator[None]:
        import fcntl

        if self._holding_lock:  # flock() on a second descriptor would wait for ourselves
            yield
            return
        ensure_private_dir(self.lock_path.parent)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + LOCK_WAIT
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise VaultError(
                            f"another shellvault has held {self.lock_path} for "
                            f"{int(LOCK_WAIT)}s; nothing was changed"
                        ) from None
                    time.sleep(0.01)
            self._holding_lock = True
            yield
        finally:
            self._holding_lock = False
            os.close(fd)  # closing releases the flock

    # -- keys ---------------------------------------------------------------------------
    def _ask(self, new_store: bool) -> str:
        return self._passphrase(new_store)

    def _wrong(self) -> WrongPassphrase:
        return WrongPassphrase(
            f"wrong passphrase for the file store {self.directory}; nothing was changed"
            + self._hint
        )

    def unlock(self, *, use_cache: bool = True, announce: bool = True) -> bytes | None:
        """The key that opens the store as it is now (None: no store yet).

        The cached key first, checked against meta.json (a stale one is dropped, never
        used); else the passphrase, whose key is then cached."""
        meta = self.read_meta()
        if meta is None:
            return None
        if self._key_cached and self._cache is not None and self._cache.get() != self._key:
            self._key = self._meta = None  # locked, expired or re-keyed since
            self._key_cached = False
        if self._key is not None and self._meta == meta:
            return self._key
        if self._key is not None and key_opens(self._key, meta):
            self._meta = meta
            return self._key
        if use_cache and self._cache is not None:
            cached = self._cache.get()
            if cached is not None:
                if key_opens(cached, meta):
                    self._key, self._meta, self._key_cached = cached, meta, True
                    return cached
                self._cache.forget()  # re-keyed or replaced store: never use it
        for attempt in range(1, self._attempts + 1):
            try:
                key = self.key_from_passphrase(self._ask(False), meta)
                break
            except WrongPassphrase:
                if attempt == self._attempts:
                    raise
                from .tty import notice

                notice("wrong passphrase, try again")
        self._key, self._meta = key, meta
        self._key_cached = self._cache is not None and self._cache.put(key, self._cache_ttl)
        if self._key_cached and announce:
            from .tty import notice

            notice(f"the file store stays unlocked for {span(self._cache_ttl)}; "
                   "'shellvault lock' locks it now")
        return key

    def key_from_passphrase(self, passphrase: str, meta: Meta) -> bytes:
        key = _derive(passphrase, meta.salt, meta.memory_kib, meta.iterations, meta.lanes)
        if not key_opens(key, meta):
            raise self._wrong()
        return key

    def _write_key(self) -> bytes:
        """The key for a write, checked under the lock (which the caller holds)."""
        meta = self.read_meta()
        if meta is None or self._key is None:
            raise StoreChanged(
                f"the file store {self.directory} was removed meanwhile; nothing was changed"
            )
        if self._meta != meta and not key_opens(self._key, meta):
            if self._cache is not None:
                self._cache.forget()
            self._key = self._meta = None
            raise StoreChanged(
                f"the passphrase of the file store {self.directory} was changed meanwhile; "
                "nothing was changed: run the command again"
            )
        self._meta = meta
        return self._key

    def _create_or_unlock(self) -> None:
        if self.unlock() is not None:
            return
        passphrase = self._ask(True)  # asked before the lock: nobody waits behind a prompt
        meta, key = new_meta(passphrase)
        with self._locked():
            current = self.read_meta()
            if current is None:
                ensure_private_dir(self.directory)
                write_private_file(self.meta_path, meta.to_json())
            else:
                # Another process created the store meanwhile: join it if it is ours too.
                meta, key = current, self.key_from_passphrase(passphrase, current)
        self._key_cached = self._cache is not None and self._cache.put(key, self._cache_ttl)
        self._key, self._meta = key, meta

    # -- items --------------------------------------------------------------------------
    def _path(self, name: str) -> Path:
        return self.directory / (quote(name, safe="") + SUFFIX)

    @staticmethod
    def _fix(name: str) -> str:
        if name.startswith("session:"):
            return "run 'shellvault clear' to drop the cached sessions"
        if name.startswith("master:"):
            return f"store the key again with 'shellvault add {name[len('master:'):]}'"
        return "remove it"

    def _damaged(self, name: str, path: Path, what: str) -> VaultError:
        return VaultError(f"{path} is corrupt ({what}); {self._fix(name)}")

    def _blob(self, name: str, path: Path) -> bytes | None:
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            return self._blob(name, path) if self._restored() else None
        except OSError as exc:
            raise VaultError(f"cannot read {path}: {exc.strerror}") from None
        try:
            record = json.loads(text)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            return _unb64(record.get("data"), "data", 12 + 16)
        except (ValueError, RecursionError) as exc:
            raise self._damaged(name, path, str(exc)) from None

    def get(self, name: str) -> str | None:
        path = self._path(name)
        blob = self._blob(name, path)
        if blob is None:
            return None
        key = self.unlock()
        if key is None:
            raise VaultError(f"{self.meta_path} is missing; the file store cannot be opened")
        plain = _decrypt(key, blob, name.encode())
        if plain is None:
            if self.read_meta() != self._meta:
                raise StoreChanged(
                    f"the passphrase of the file store {self.directory} was changed while "
                    "reading; run the command again"
                )
            raise self._damaged(name, path, "it does not decrypt: altered, or another item's")
        try:
            return plain.decode()
        except UnicodeDecodeError:
            raise self._damaged(name, path, "not text") from None

    def set(self, name: str, secret: str, label: str = "") -> None:
        self._create_or_unlock()
        with self._locked():
            key = self._write_key()
            blob = _encrypt(key, secret.encode(), name.encode())
            record = {"version": 1, "label": label, "data": _b64(blob)}
            write_private_file(self._path(name), json.dumps(record).encode())

    def delete(self, name: str) -> bool:
        if not self._path(name).exists() and not (self._restored() and self._path(name).exists()):
            return False
        self.unlock()  # only the passphrase holder may delete
        with self._locked():
            self._write_key()
            try:
                self._path(name).unlink()
            except FileNotFoundError:
                return False
        return True

    def names(self) -> list[str]:
        try:
            entries = os.listdir(self.directory)
        except FileNotFoundError:
            return self.names() if self._restored() else []
        return sorted(unquote(e[: -len(SUFFIX)]) for e in entries
                      if e.endswith(SUFFIX) and not e.startswith("."))

    # -- the key cache and passphrase changes --------------------------------------------
    def unlock_now(self) -> None:
        """Ask for the passphrase even if a key is cached, and cache its key afresh
        (creating the store, with a new passphrase, if there is none yet)."""
        if self.read_meta() is None:
            self._create_or_unlock()
        else:
            self._key = self._meta = None
            self.unlock(use_cache=False, announce=False)

    def forget_cached_key(self) -> bool:
        return self._cache.forget() if self._cache is not None else False

    def change_passphrase(self, old: str, new: str) -> int:
        """Re-encrypt every item under a key from `new`; returns how many.

        All or nothing: the items are re-encrypted into a new directory that replaces the
        old one in one step, so a crash or Ctrl-C at any point leaves the store readable
        with one of the two passphrases, never half of each."""
        meta = self.read_meta()
        if meta is None:
            raise UsageError(f"there is no file store at {self.directory} yet; nothing to change")
        old_key = self.key_from_passphrase(old, meta)
        new_meta_value, new_key = new_meta(new)
        import shutil

        parent = self.directory.parent
        staging = parent / f".{self.directory.name}.new-{os.getpid()}"
        with self._locked():
            if self.read_meta() != meta:
                raise StoreChanged(
                    f"the file store {self.directory} changed meanwhile; nothing was changed: "
                    "run the command again"
                )
            for stale in (*parent.glob(f".{self.directory.name}.new-*"),
                          *parent.glob(f".{self.directory.name}.old-*")):
                shutil.rmtree(stale, ignore_errors=True)  # left by a killed passphrase change
            try:
                count = self._reencrypt_into(staging, old_key, new_key, new_meta_value)
                if not _swap_directories(staging, self.directory):
                    parked = parent / f".{self.directory.name}.old-{os.getpid()}"
                    os.rename(self.directory, parked)
                    os.rename(staging, self.directory)
                    staging = parked
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        self.forget_cached_key()
        self._key = self._meta = None
        return count

    def _reencrypt_into(self, staging: Path, old_key: bytes, new_key: bytes, meta: Meta) -> int:
        staging.mkdir(mode=0o700)
        count = 0
        for entry in sorted(os.listdir(self.directory)):
            if not entry.endswith(SUFFIX) or entry.startswith("."):
                continue
            name = unquote(entry[: -len(SUFFIX)])
            path = self.directory / entry
            blob = self._blob(name, path)
            plain = _decrypt(old_key, blob, name.encode()) if blob is not None else None
            if plain is None:
                raise VaultError(f"{path} does not decrypt, so the passphrase was not "
                                 f"changed; {self._fix(name)}")
            record = json.loads(path.read_bytes())
            record["data"] = _b64(_encrypt(new_key, plain, name.encode()))
            _write_synced(staging / entry, json.dumps(record).encode())
            count += 1
        _write_synced(staging / META, meta.to_json())
        fd = os.open(staging, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return count


def _write_synced(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
