"""`shellvault unlock`, `lock` and `passwd`: the file store's passphrase, once per login.

`unlock` asks now and keeps the derived key in the kernel keyring (keycache.py) for
SHELLVAULT_FILE_UNLOCK_TTL; `lock` drops it; `passwd` re-encrypts every item under a key
from a new passphrase and drops the cached key.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import click

from .errors import InputNeeded, UsageError, VaultError


def _file_store() -> Any:
    """The file store commands use, or a usage error naming the store in use instead."""
    from .filestore import FileStore
    from .vault import open_store

    store = open_store()
    if not isinstance(store, FileStore):
        raise UsageError(
            f"nothing to unlock: the credentials are in the {store.describe()}, which has "
            "no shellvault passphrase"
        )
    return store


def unlock() -> str:
    from .filestore import span
    from .keycache import TTL_VARIABLE, unavailable_reason, unlock_ttl
    from .passphrase_env import PASSPHRASE_VARIABLE, environment_passphrase

    if environment_passphrase(os.environ):
        raise UsageError(
            f"{PASSPHRASE_VARIABLE} is set, so every command uses it and nothing is cached; "
            "unset it to use 'shellvault unlock'"
        )
    ttl = unlock_ttl()
    if not ttl:
        raise UsageError(f"{TTL_VARIABLE}=0 turns the unlock cache off; nothing was cached")
    problem = unavailable_reason()
    if problem:
        raise VaultError(f"cannot keep the key between commands: {problem}")
    store = _file_store()
    from .tty import has_tty

    if not has_tty():
        raise InputNeeded("the file store passphrase is needed but there is no terminal to ask on")
    store.unlock_now()
    until = time.strftime("%H:%M", time.localtime(time.time() + ttl))
    return (f"shellvault: the file store is unlocked for {span(ttl)} (until {until}); "
            "'shellvault lock' locks it now")


def lock() -> str:
    from .keycache import KeyCache
    from .paths import data_dir

    # No store to open and nothing to ask: whatever the backend, the cached key goes.
    dropped = KeyCache(data_dir() / "vault").forget()
    return "shellvault: locked the file store" + ("" if dropped else " (it was not unlocked)")


def passwd() -> str:
    from .passphrase_env import environment_passphrase
    from .tty import ask

    store = _file_store()
    meta = store.read_meta()
    if meta is None:
        raise UsageError(
            f"there is no file store at {store.directory} yet: 'shellvault add' creates it"
        )
    why = "the file store passphrase"
    old = ask("Current passphrase of the shellvault file store: ", secret=True, why=why)
    store.key_from_passphrase(old, meta)  # a typo is caught before the new one is asked
    new = ask("New passphrase: ", secret=True, why=why)
    if not new:
        raise VaultError("an empty passphrase is not allowed; nothing was changed")
    if ask("Repeat it: ", secret=True, why=why) != new:
        raise VaultError("the passphrases differ; nothing was changed")
    count = store.change_passphrase(old, new)
    tail = ("; update SHELLVAULT_FILE_PASSPHRASE" if environment_passphrase(os.environ)
            else "; the next command asks for the new one")
    return (f"shellvault: changed the passphrase of the {store.describe()} "
            f"({count} item(s) re-encrypted, the cached key dropped){tail}")


def register(group: click.Group, guarded: Callable[[Any], Any]) -> None:
    """Add the three commands to the CLI group (called from cli.py)."""

    @group.command("unlock")
    @guarded
    def unlock_command() -> None:
        """Ask for the file store's passphrase now and keep its key for a while."""
        click.echo(unlock(), err=True)

    @group.command("lock")
    @guarded
    def lock_command() -> None:
        """Forget the file store's cached key now: the next command asks again."""
        click.echo(lock(), err=True)

    @group.command("passwd")
    @guarded
    def passwd_command() -> None:
        """Change the file store's passphrase (every item is re-encrypted)."""
        click.echo(passwd(), err=True)
