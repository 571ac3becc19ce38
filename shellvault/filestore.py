"""The encrypted file store: one AES-256-GCM file per item under $XDG_DATA_HOME/shellvault/vault.

The key comes from the passphrase through Argon2id (memory-hard). One salt per store, so a
process derives the key once however many items it reads. Each item is bound to its name as
associated data, so files cannot be swapped. `meta.json` holds the KDF parameters and an
encrypted check value that tells a wrong passphrase apart before anything is written.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, unquote

from .errors import VaultError
from .paths import ensure_private_dir, write_private_file

# OWASP's Argon2id floor (19 MiB, 2 passes, 1 lane): about 50 ms here, paid once per process.
KDF_MEMORY_KIB = 19456
KDF_ITERATIONS = 2
KDF_LANES = 1
CHECK_PLAINTEXT = b"shellvault file store v1"
META = "meta.json"
SUFFIX = ".item"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode())


class WrongPassphrase(VaultError):
    pass


class FileStore:
    name = "file"

    def __init__(self, directory: Path, passphrase: Callable[[bool], str]) -> None:
        # passphrase(new_store) -> str; asked lazily so listing names needs none.
        self.directory = directory
        self._passphrase = passphrase
        self._key: bytes | None = None

    def describe(self) -> str:
        return f"encrypted file store {self.directory}"

    # -- key handling -------------------------------------------------------------------
    def _derive(
        self, passphrase: str, salt: bytes, memory: int, iterations: int, lanes: int
    ) -> bytes:
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

        return Argon2id(
            salt=salt, length=32, iterations=iterations, lanes=lanes, memory_cost=memory
        ).derive(passphrase.encode())

    def _aead(self, key: bytes):  # type: ignore[no-untyped-def]
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        return AESGCM(key)

    def _load_key(self, create: bool) -> bytes | None:
        if self._key is not None:
            return self._key
        meta_path = self.directory / META
        try:
            meta = json.loads(meta_path.read_text())
        except FileNotFoundError:
            meta = None
        except (OSError, ValueError) as exc:
            raise VaultError(f"cannot read {meta_path}: {exc}") from None
        if meta is None:
            if not create:
                return None
            passphrase = self._passphrase(True)
            salt = os.urandom(16)
            key = self._derive(passphrase, salt, KDF_MEMORY_KIB, KDF_ITERATIONS, KDF_LANES)
            nonce = os.urandom(12)
            check = self._aead(key).encrypt(nonce, CHECK_PLAINTEXT, META.encode())
            meta = {
                "version": 1,
                "kdf": "argon2id",
                "salt": _b64(salt),
                "memory_kib": KDF_MEMORY_KIB,
                "iterations": KDF_ITERATIONS,
                "lanes": KDF_LANES,
                "check": _b64(nonce + check),
            }
            ensure_private_dir(self.directory)
            write_private_file(meta_path, json.dumps(meta, indent=1).encode())
            self._key = key
            return key
        passphrase = self._passphrase(False)
        key = self._derive(
            passphrase, _unb64(meta["salt"]), int(meta["memory_kib"]), int(meta["iterations"]),
            int(meta["lanes"]),
        )
        blob = _unb64(meta["check"])
        from cryptography.exceptions import InvalidTag

        try:
            self._aead(key).decrypt(blob[:12], blob[12:], META.encode())
        except InvalidTag:
            raise WrongPassphrase(
                f"wrong passphrase for the file store {self.directory}; nothing was changed "
                "(check SHELLVAULT_FILE_PASSPHRASE)"
            ) from None
        self._key = key
        return key

    # -- items --------------------------------------------------------------------------
    def _path(self, name: str) -> Path:
        return self.directory / (quote(name, safe="") + SUFFIX)

    def get(self, name: str) -> str | None:
        path = self._path(name)
        try:
            record = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise VaultError(f"cannot read {path}: {exc}") from None
        key = self._load_key(create=False)
        if key is None:
            raise VaultError(f"{self.directory / META} is missing; the file store cannot be opened")
        from cryptography.exceptions import InvalidTag

        blob = _unb64(record["data"])
        try:
            plain: bytes = self._aead(key).decrypt(blob[:12], blob[12:], name.encode())
            return plain.decode()
        except InvalidTag:
            raise VaultError(f"{path} is corrupt or belongs to another item") from None

    def set(self, name: str, secret: str, label: str = "") -> None:
        key = self._load_key(create=True)
        assert key is not None
        nonce = os.urandom(12)
        blob = nonce + self._aead(key).encrypt(nonce, secret.encode(), name.encode())
        record = {"version": 1, "label": label, "data": _b64(blob)}
        write_private_file(self._path(name), json.dumps(record).encode())

    def delete(self, name: str) -> bool:
        if not self._path(name).exists():
            return False
        self._load_key(create=False)  # only the passphrase holder may delete
        try:
            self._path(name).unlink()
        except FileNotFoundError:
            return False
        return True

    def names(self) -> list[str]:
        try:
            entries = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        return sorted(unquote(e[: -len(SUFFIX)]) for e in entries if e.endswith(SUFFIX))
