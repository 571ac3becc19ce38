"""Stores for the OS keyring.

`SecretServiceStore` talks to the Linux Secret Service through `secretstorage` directly, in
the item format of `keyring`'s SecretService backend (same attributes), because importing
`keyring` costs ~90 ms and this is read on every `shellvault env`. `KeyringStore` uses the
`keyring` package for every other OS keyring (macOS Keychain, Windows, KWallet).
"""

from __future__ import annotations

import os
from typing import Any

from .errors import VaultError

SERVICE = "shellvault"
KEYRING_APPID = "Python keyring library"  # what keyring writes, so both can read each other
LOCKED_HINT = (
    "unlock it (log in to your desktop session) or use the encrypted file store: "
    "export SHELLVAULT_BACKEND=file"
)


class VaultLocked(VaultError):
    pass


class SecretServiceStore:
    name = "keyring"

    def __init__(self) -> None:
        self._collection: Any = None

    def describe(self) -> str:
        return "Secret Service (OS keyring)"

    @staticmethod
    def usable() -> str | None:
        """None if the Secret Service answers on the session bus, else why not."""
        if not os.environ.get("DBUS_SESSION_BUS_ADDRESS") and not os.path.exists(
            f"/run/user/{os.getuid()}/bus"
        ):
            return "no D-Bus session bus"
        try:
            import secretstorage
        except ImportError:
            return "the secretstorage package is not installed"
        try:
            conn = secretstorage.dbus_init()
        except Exception as exc:  # jeepney raises several kinds on a dead bus
            return f"cannot connect to D-Bus ({exc.__class__.__name__})"
        try:
            if not secretstorage.check_service_availability(conn):
                return "no Secret Service daemon on the session bus"
        except Exception as exc:
            return f"Secret Service did not answer ({exc.__class__.__name__})"
        finally:
            conn.close()
        return None

    def _open(self, unlock: bool) -> Any:
        if self._collection is not None:
            return self._collection
        import secretstorage
        from secretstorage import exceptions

        try:
            conn = secretstorage.dbus_init()
            collection = secretstorage.get_default_collection(conn)
            locked = collection.is_locked()
        except exceptions.SecretStorageException as exc:
            raise VaultError(f"the OS keyring is not available: {exc}") from None
        except Exception as exc:
            raise VaultError(f"the OS keyring is not available ({exc.__class__.__name__})") from None
        if locked and unlock and (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            try:
                collection.unlock()  # the desktop shows its own unlock dialog
            except Exception:
                pass
            locked = collection.is_locked()
        if locked:
            raise VaultLocked(f"the OS keyring is locked; {LOCKED_HINT}")
        self._collection = collection
        return collection

    def _items(self, name: str, unlock: bool = False) -> list[Any]:
        collection = self._open(unlock)
        return list(collection.search_items({"service": SERVICE, "username": name}))

    def get(self, name: str) -> str | None:
        for item in self._items(name):
            if item.is_locked():
                raise VaultLocked(f"the OS keyring item for {name} is locked; {LOCKED_HINT}")
            secret: bytes = item.get_secret()
            return secret.decode()
        return None

    def set(self, name: str, secret: str, label: str = "") -> None:
        collection = self._open(unlock=True)
        attributes = {"application": KEYRING_APPID, "service": SERVICE, "username": name}
        try:
            collection.create_item(label or f"shellvault {name}", attributes, secret, replace=True)
        except Exception as exc:
            raise VaultError(f"could not write to the OS keyring ({exc.__class__.__name__})") from None

    def delete(self, name: str) -> bool:
        items = self._items(name, unlock=True)
        for item in items:
            item.delete()
        return bool(items)

    def names(self) -> list[str]:
        collection = self._open(unlock=False)
        found = collection.search_items({"service": SERVICE})
        return sorted({item.get_attributes().get("username", "") for item in found} - {""})


class KeyringStore:
    """Any backend the `keyring` package finds (macOS Keychain, Windows, KWallet...)."""

    name = "keyring"

    def __init__(self) -> None:
        import keyring

        self._keyring = keyring.get_keyring()

    def describe(self) -> str:
        return f"OS keyring ({self._keyring.__class__.__module__})"

    @staticmethod
    def usable() -> str | None:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring):
            return "the keyring package found no usable backend"
        chainer = getattr(backend, "backends", None)
        if chainer is not None and not chainer:
            return "the keyring package found no usable backend"
        return None

    def _call(self, what: str, func: Any, *args: str) -> Any:
        from keyring import errors

        try:
            return func(*args)
        except errors.KeyringLocked:
            raise VaultLocked(f"the OS keyring is locked; {LOCKED_HINT}") from None
        except errors.PasswordDeleteError:
            return None
        except errors.KeyringError as exc:
            raise VaultError(f"could not {what} the OS keyring ({exc.__class__.__name__})") from None

    def get(self, name: str) -> str | None:
        value: str | None = self._call("read", self._keyring.get_password, SERVICE, name)
        return value

    def set(self, name: str, secret: str, label: str = "") -> None:
        self._call("write to", self._keyring.set_password, SERVICE, name, secret)

    def delete(self, name: str) -> bool:
        if self.get(name) is None:
            return False
        self._call("delete from", self._keyring.delete_password, SERVICE, name)
        return True

    def names(self) -> list[str]:
        return []  # keyring has no enumeration; the session index says what exists
