"""Stores for the OS keyring.

`SecretServiceStore` talks to the Linux Secret Service in the item format of `keyring`'s
SecretService backend (same attributes, so both read each other's items), because
importing `keyring` costs ~90 ms and this is read on every `shellvault env`. Reading
(`get`, `usable`) goes through `dbus.py`, our own stdlib-only D-Bus client (one
connection per process, one "plain" session), because even `secretstorage` costs ~50 ms
to import and to read one item; writing, deleting and listing (cold paths that need the
collection API and its unlock prompt) use `secretstorage`. `KeyringStore` uses the
`keyring` package for every other OS keyring (macOS Keychain, Windows, KWallet).
"""

from __future__ import annotations

import os

from . import dbus
from .errors import VaultError

TYPE_CHECKING = False  # mypy takes this name as True; the hot path never imports typing
if TYPE_CHECKING:
    from typing import Any

SERVICE = "shellvault"
KEYRING_APPID = "Python keyring library"  # what keyring writes, so both can read each other
LOCKED_HINT = (
    "unlock it (log in to your desktop session) or use the encrypted file store: "
    "export SHELLVAULT_BACKEND=file"
)


class VaultLocked(VaultError):
    pass


UNLOCK_WAIT = 120.0  # seconds for the desktop's unlock dialog: a person answers it


def _no_answer() -> VaultError:
    return VaultError(
        f"the Secret Service (OS keyring) did not answer within {dbus.TIMEOUT:g} s; is "
        "gnome-keyring-daemon (or your keyring) hung? Restart it, or use the encrypted file "
        "store: export SHELLVAULT_BACKEND=file"
    )


def _bounded(conn: Any) -> Any:
    """Give every call of a secretstorage (jeepney) connection a deadline: secretstorage
    waits for replies and prompts without one, so a stopped daemon would hang us."""
    send_and_get_reply = conn.send_and_get_reply
    recv_until_filtered = conn.recv_until_filtered

    def bounded_call(message: Any, *, timeout: float | None = None, **kw: Any) -> Any:
        return send_and_get_reply(message, timeout=timeout or dbus.TIMEOUT, **kw)

    def bounded_wait(queue: Any, *, timeout: float | None = None) -> Any:
        return recv_until_filtered(queue, timeout=timeout or UNLOCK_WAIT)

    conn.send_and_get_reply = bounded_call
    conn.recv_until_filtered = bounded_wait
    return conn


_reader: dbus.SecretService | None = None
_reader_key: tuple[int, str | None] = (0, None)


def _secret_service() -> dbus.SecretService:
    """The process's one reading connection (a new one after a fork or when
    DBUS_SESSION_BUS_ADDRESS changes). dbus.Unavailable if there is no bus."""
    global _reader, _reader_key
    key = (os.getpid(), os.environ.get("DBUS_SESSION_BUS_ADDRESS"))
    if _reader is None or _reader_key != key:
        if _reader is not None and _reader_key[0] == key[0]:
            _reader.close()
        _reader = None
        _reader = dbus.SecretService.connect()
        _reader_key = key
    return _reader


def _live_items(collection: Any, attributes: dict[str, str]) -> list[Any]:
    """The items matching `attributes`, skipping any that another process deletes
    between the search and the look at it (secretstorage's own generator stops there)."""
    from jeepney.wrappers import DBusErrorResponse
    from secretstorage import Item
    from secretstorage.exceptions import ItemNotFoundException

    try:
        (paths,) = collection._collection.call("SearchItems", "a{ss}", attributes)
    except TimeoutError:
        raise _no_answer() from None
    items = []
    for path in paths:
        try:
            items.append(Item(collection.connection, path, collection.session))
        except (ItemNotFoundException, DBusErrorResponse):
            continue
        except TimeoutError:
            raise _no_answer() from None
    return items


class SecretServiceStore:
    name = "keyring"

    def __init__(self) -> None:
        self._collection: Any = None

    def describe(self) -> str:
        return "Secret Service (OS keyring)"

    @staticmethod
    def usable() -> str | None:
        """None if the Secret Service answers on the session bus, else why not."""
        if not os.environ.get("DBUS_SESSION_BUS_ADDRESS") and not any(
            os.path.exists(path) for _, path in dbus.bus_addresses()
        ):
            return "no D-Bus session bus"
        try:
            if not _secret_service().available():
                return "no Secret Service daemon on the session bus"
        except dbus.NoAnswer:
            return f"the Secret Service did not answer within {dbus.TIMEOUT:g} s"
        except dbus.Unavailable as exc:
            return str(exc)
        except dbus.DBusError as exc:
            return f"Secret Service did not answer ({exc})"
        return None

    def _open(self, unlock: bool) -> Any:
        if self._collection is not None:
            return self._collection
        try:
            import secretstorage
            from secretstorage import exceptions
        except ImportError:
            raise VaultError(
                "writing to the OS keyring needs the secretstorage package; install it or "
                "use the encrypted file store: export SHELLVAULT_BACKEND=file"
            ) from None

        try:
            conn = _bounded(secretstorage.dbus_init())
            collection = secretstorage.get_default_collection(conn)
            locked = collection.is_locked()
        except TimeoutError:
            raise _no_answer() from None
        except exceptions.SecretStorageException as exc:
            raise VaultError(f"the OS keyring is not available: {exc}") from None
        except Exception as exc:
            kind = exc.__class__.__name__
            raise VaultError(f"the OS keyring is not available ({kind})") from None
        if locked and unlock and (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            import contextlib

            with contextlib.suppress(Exception):
                collection.unlock()  # the desktop shows its own unlock dialog
            try:
                locked = collection.is_locked()
            except TimeoutError:
                raise _no_answer() from None
        if locked:
            raise VaultLocked(f"the OS keyring is locked; {LOCKED_HINT}")
        self._collection = collection
        return collection

    def _items(self, name: str, unlock: bool = False) -> list[Any]:
        return _live_items(self._open(unlock), {"service": SERVICE, "username": name})

    def get(self, name: str) -> str | None:
        attributes = {"service": SERVICE, "username": name}
        try:
            secret = _secret_service().get_secret(attributes)
        except dbus.Locked:
            raise VaultLocked(f"the OS keyring is locked; {LOCKED_HINT}") from None
        except dbus.NoAnswer:
            raise _no_answer() from None
        except dbus.Unavailable as exc:
            raise VaultError(f"the OS keyring is not available: {exc}") from None
        except dbus.DBusError as exc:
            raise VaultError(f"could not read the OS keyring: {exc}") from None
        if secret is None:
            return None
        try:
            return secret.decode()
        except UnicodeDecodeError:
            raise VaultError(f"the OS keyring item for {name} is not UTF-8 text") from None

    def set(self, name: str, secret: str, label: str = "") -> None:
        collection = self._open(unlock=True)
        attributes = {"application": KEYRING_APPID, "service": SERVICE, "username": name}
        try:
            collection.create_item(label or f"shellvault {name}", attributes, secret, replace=True)
        except TimeoutError:
            raise _no_answer() from None
        except Exception as exc:
            kind = exc.__class__.__name__
            raise VaultError(f"could not write to the OS keyring ({kind})") from None

    def delete(self, name: str) -> bool:
        from jeepney.wrappers import DBusErrorResponse
        from secretstorage.exceptions import ItemNotFoundException

        deleted = False
        for item in self._items(name, unlock=True):
            try:
                item.delete()
                deleted = True
            except TimeoutError:
                raise _no_answer() from None
            except (ItemNotFoundException, DBusErrorResponse):
                continue  # another process deleted it first (clear and clear at once)
        return deleted

    def names(self) -> list[str]:
        from jeepney.wrappers import DBusErrorResponse
        from secretstorage.exceptions import ItemNotFoundException

        names = set()
        for item in _live_items(self._open(unlock=False), {"service": SERVICE}):
            try:
                names.add(item.get_attributes().get("username", ""))
            except (ItemNotFoundException, DBusErrorResponse):
                continue  # deleted while we listed
            except TimeoutError:
                raise _no_answer() from None
        return sorted(names - {""})


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
            kind = exc.__class__.__name__
            raise VaultError(f"could not {what} the OS keyring ({kind})") from None

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
