"""Master keys and cached sessions, in the backend chosen by SHELLVAULT_BACKEND.

Item names: `master:<profile>` holds a long-term key pair, `session:<key>` a temporary
session. A plain JSON index in the state directory records which items exist, for which
profile and until when (no secrets), so `list` needs neither a passphrase nor an
enumerable keyring, and expired sessions can be pruned.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from .creds import Credentials, Session, master_from_json, master_to_json
from .errors import UsageError, VaultError
from .paths import data_dir, state_dir, write_private_file
from .tty import ask, notice

BACKENDS = ("auto", "keyring", "file")


class Store(Protocol):
    name: str

    def describe(self) -> str: ...
    def get(self, name: str) -> str | None: ...
    def set(self, name: str, secret: str, label: str = "") -> None: ...
    def delete(self, name: str) -> bool: ...
    def names(self) -> list[str]: ...


LOCKED_MESSAGE = "the file store is locked: run 'shellvault unlock'"


def _file_store(environ: Mapping[str, str], no_input: bool) -> Store:
    from .filestore import FileStore
    from .keycache import KeyCache, unlock_ttl
    from .passphrase_env import PASSPHRASE_VARIABLE, environment_passphrase

    directory = data_dir(environ) / "vault"
    given = environment_passphrase(environ)

    def passphrase(new_store: bool) -> str:
        if given:
            return given
        from .tty import has_tty

        if no_input or not has_tty():
            from .errors import VaultLocked

            raise VaultLocked(LOCKED_MESSAGE)
        why = "the file store passphrase"
        if not new_store:
            return ask("shellvault file store passphrase: ", secret=True, why=why)
        first = ask("New passphrase for the shellvault file store: ", secret=True, why=why)
        if not first:
            raise VaultError("an empty passphrase is not allowed; nothing was changed")
        if ask("Repeat it: ", secret=True, why=why) != first:
            raise VaultError("the passphrases differ; nothing was changed")
        return first

    if given:
        # An exported passphrase is used as given, every time: nothing to cache or unlock.
        return FileStore(directory, passphrase,
                         passphrase_hint=f" (check {PASSPHRASE_VARIABLE})")
    ttl = unlock_ttl(environ)
    return FileStore(directory, passphrase, KeyCache(directory) if ttl else None, ttl, attempts=3)


def _os_keyring(explicit: bool) -> tuple[Store | None, str]:
    """The OS keyring store, or None and why it is not usable."""
    reason = ""
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        from .secretservice import SecretServiceStore

        reason = SecretServiceStore.usable() or ""
        if not reason:
            return SecretServiceStore(), ""
        if not explicit:
            # KWallet and friends need the keyring package (~90 ms to import): only when asked.
            return None, reason
    try:
        from .secretservice import KeyringStore

        other = KeyringStore.usable()
    except ImportError:
        return None, reason or "the keyring package is not installed"
    if other is None:
        return KeyringStore(), ""
    return None, reason or other


_opened: dict[tuple[str, bool], Store] = {}


def _choice(environ: Mapping[str, str]) -> str:
    choice = (environ.get("SHELLVAULT_BACKEND") or "auto").strip().lower()
    if choice not in BACKENDS:
        raise UsageError(
            f"SHELLVAULT_BACKEND={choice!r} is not one of {', '.join(BACKENDS)}"
        )
    return choice


def open_store(environ: Mapping[str, str] = os.environ, *, no_input: bool = False) -> Store:
    """The store SHELLVAULT_BACKEND chooses, opened once per process.

    Once: a hot-path miss in main.py hands over to the click command in the same process,
    which then reuses the connection (and the file store's derived key) and does not
    repeat the fallback notice.
    """
    from .passphrase_env import take_environment_passphrase

    take_environment_passphrase()  # children never inherit it (exec, mfa_process, ...)
    choice = _choice(environ)
    if (choice, no_input) not in _opened:
        _opened[choice, no_input] = _open_store(choice, environ, no_input)
    return _opened[choice, no_input]


def _fallback_marker(environ: Mapping[str, str]) -> Path:
    return state_dir(environ) / "auto-backend"


def _open_store(choice: str, environ: Mapping[str, str], no_input: bool) -> Store:
    if choice == "file":
        return _file_store(environ, no_input)
    store, reason = _os_keyring(explicit=choice == "keyring")
    if store is not None:
        if choice == "auto":
            # A usable keyring again: the next fallback is news, and is said again.
            with contextlib.suppress(OSError):
                _fallback_marker(environ).unlink(missing_ok=True)
        return store
    if choice == "keyring":
        raise VaultError(
            f"the OS keyring is not usable ({reason}); use the encrypted file store: "
            "export SHELLVAULT_BACKEND=file"
        )
    file_store = _file_store(environ, no_input)
    _notice_fallback_once(environ, reason, file_store.describe())
    return file_store


def _notice_fallback_once(environ: Mapping[str, str], reason: str, store: str) -> None:
    """Say that `auto` fell back to the file store, once per situation (reason and store)."""
    marker = _fallback_marker(environ)
    said = f"{reason}\n{store}\n"
    try:
        if marker.read_text() == said:
            return
    except (OSError, ValueError):
        pass
    notice(
        f"no OS keyring is usable ({reason}); using the {store}. "
        "'shellvault ls' shows this again; SHELLVAULT_BACKEND=file chooses it for good."
    )
    with contextlib.suppress(OSError):
        write_private_file(marker, said.encode())


class BackendInUse(NamedTuple):
    name: str  # "keyring" (an OS keyring) or "file"
    description: str  # e.g. "encrypted file store /home/me/.local/share/shellvault/vault"
    why: str  # e.g. "SHELLVAULT_BACKEND=file", "auto: no OS keyring is usable (...)"
    lock_state: str | None  # file store only: "unlocked", "locked", "passphrase from ..."


def backend_in_use(environ: Mapping[str, str] = os.environ) -> BackendInUse:
    """Which store commands use and why, without asking for anything (ls, doctor)."""
    choice = _choice(environ)
    if choice == "file":
        why = "SHELLVAULT_BACKEND=file"
    else:
        store, reason = _os_keyring(explicit=choice == "keyring")
        if store is not None:
            how = "SHELLVAULT_BACKEND=keyring" if choice == "keyring" else "auto"
            return BackendInUse("keyring", store.describe(), f"{how}: it answers", None)
        if choice == "keyring":
            return BackendInUse("keyring", "OS keyring", f"not usable: {reason}", None)
        why = f"auto: no OS keyring is usable ({reason})"
    return BackendInUse("file", f"encrypted file store {data_dir(environ) / 'vault'}", why,
                        file_lock_state(environ))


def file_lock_state(environ: Mapping[str, str] = os.environ) -> str:
    """Whether commands can open the file store without asking, in a few words."""
    from .filestore import FileStore
    from .keycache import KeyCache, unavailable_reason, unlock_ttl
    from .passphrase_env import environment_passphrase

    if environment_passphrase(environ):
        return "passphrase from SHELLVAULT_FILE_PASSPHRASE"
    directory = data_dir(environ) / "vault"
    store = FileStore(directory, lambda new: "")
    try:
        meta = store.read_meta()
    except VaultError:
        return "damaged"
    if meta is None:
        return "not created yet"
    problem = unavailable_reason()
    if problem:
        return f"locked ({problem}: the passphrase is asked per command)"
    if not unlock_ttl(environ):
        return "locked (SHELLVAULT_FILE_UNLOCK_TTL=0: the passphrase is asked per command)"
    cached = KeyCache(directory).get()
    from .filestore import key_opens

    if cached is not None and key_opens(cached, meta):
        return "unlocked"
    return "locked: 'shellvault unlock' unlocks it"


class SessionEntry(NamedTuple):
    key: str
    profile: str
    kind: str  # "mfa"/"base" (GetSessionToken) or "role" (AssumeRole)
    expires: int
    account: str | None
    root: str  # the profile whose stored keys the session came from


def _entry(key: str, raw: Mapping[str, Any]) -> SessionEntry:
    profile = str(raw.get("profile", "?"))
    expires = raw.get("expires", 0)
    account = raw.get("account")
    return SessionEntry(key, profile, str(raw.get("kind", "?")),
                        expires if isinstance(expires, int) else 0,
                        account if isinstance(account, str) else None,
                        str(raw.get("root") or profile))


class SessionIndex:
    """The plain-JSON list of stored items (names, profiles, expiry; never a secret)."""

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        self.path: Path = state_dir(environ) / "index.json"

    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            data = {}  # missing or broken: it is rebuilt as items are written
        if not isinstance(data, dict):
            data = {}
        # A hand-edited or damaged index is read as far as it makes sense, never trusted.
        for part in ("masters", "sessions"):
            entries = data.get(part)
            data[part] = {str(k): v for k, v in entries.items() if isinstance(v, dict)} \
                if isinstance(entries, dict) else {}
        return data

    def update(self, change: Any) -> None:
        from .lock import exclusive

        with exclusive(self.path.with_suffix(".lock"), "updating the session index"):
            data = self.read()
            change(data)
            write_private_file(self.path, json.dumps(data, indent=1, sort_keys=True).encode())

    def masters(self) -> dict[str, dict[str, Any]]:
        masters: dict[str, dict[str, Any]] = self.read()["masters"]
        return masters

    def sessions(self) -> list[SessionEntry]:
        raw = self.read()["sessions"]
        return [
            _entry(key, e)
            for key, e in sorted(raw.items(), key=lambda kv: (kv[1].get("profile", ""), kv[0]))
        ]


class Vault:
    def __init__(self, store: Store, environ: Mapping[str, str] = os.environ) -> None:
        self.store = store
        self.environ = environ
        self.index = SessionIndex(environ)

    # -- master keys ---------------------------------------------------------------------
    def get_master(self, profile: str) -> Credentials | None:
        text = self.store.get(f"master:{profile}")
        return master_from_json(text) if text else None

    def set_master(self, profile: str, creds: Credentials) -> None:
        self.store.set(f"master:{profile}", master_to_json(creds), f"shellvault keys for {profile}")

        def record(data: dict[str, Any]) -> None:
            data["masters"][profile] = {"added": int(time.time()),
                                        "access_key_id_tail": creds.access_key_id[-4:]}

        self.index.update(record)

    def delete_master(self, profile: str) -> bool:
        removed = self.store.delete(f"master:{profile}")

        def forget(data: dict[str, Any]) -> None:
            data["masters"].pop(profile, None)

        self.index.update(forget)
        return removed

    # -- sessions ------------------------------------------------------------------------
    def get_session(self, key: str) -> Session | None:
        text = self.store.get(f"session:{key}")
        if not text:
            return None
        try:
            return Session.from_json(text)
        except (ValueError, KeyError):
            return None  # unreadable cache entry: treat as absent, it will be replaced

    def put_session(self, key: str, session: Session, profile: str, kind: str, root: str) -> None:
        expires = session.credentials.expires or 0
        self.store.set(
            f"session:{key}", _with_owner(session.to_json(), profile, kind, root),
            f"shellvault {kind} session for {profile} "
            f"(expires {time.strftime('%H:%M', time.localtime(expires))})",
        )
        now = time.time()
        expired: list[str] = []

        def record(data: dict[str, Any]) -> None:
            data["sessions"][key] = {"profile": profile, "kind": kind, "expires": expires,
                                     "account": session.account, "root": root}
            for other, entry in list(data["sessions"].items()):
                if other != key and _entry(other, entry).expires < now:
                    expired.append(other)
                    del data["sessions"][other]

        self.index.update(record)
        for other in expired:
            self.store.delete(f"session:{other}")

    def unindexed_sessions(self) -> list[SessionEntry]:
        """Sessions the store holds but the index does not know (its state directory was
        lost or reset), read from the items themselves. Stores that cannot be listed
        (`KeyringStore`) have none to show."""
        known = {e.key for e in self.index.sessions()}
        found = []
        for name in self.store.names():
            key = name[len("session:"):]
            if not name.startswith("session:") or key in known:
                continue
            found.append(_entry(key, _owner(self.store.get(name))))
        return found

    def delete_sessions(self, profiles: set[str] | None = None) -> list[SessionEntry]:
        """Remove cached sessions (of these profiles, or all); returns what was removed.

        Items go first and the index after, so a refused store (wrong passphrase, locked
        keyring) leaves both as they were. Sessions the index lost track of are found in
        the store itself: those of these profiles go, and so do those that do not say
        whose they are (a cache entry costs a refresh; a revoked key's session must go).
        """
        removed = [e for e in self.index.sessions()
                   if profiles is None or {e.profile, e.root} & profiles]
        removed += [e for e in self.unindexed_sessions()
                    if profiles is None or e.profile == "?" or {e.profile, e.root} & profiles]
        keys = {e.key for e in removed}
        for key in sorted(keys):
            self.store.delete(f"session:{key}")

        def drop(data: dict[str, Any]) -> None:
            for key in keys:
                data["sessions"].pop(key, None)

        if keys:
            self.index.update(drop)
        return removed

    def rebuild_index(self) -> None:
        """Put what the store holds back into a lost index: master keys by name, sessions
        with the owner each item records."""
        masters = [n[len("master:"):] for n in self.store.names() if n.startswith("master:")]
        sessions = self.unindexed_sessions()
        if not sessions and all(m in self.index.masters() for m in masters):
            return

        def record(data: dict[str, Any]) -> None:
            for profile in masters:
                data["masters"].setdefault(profile, {"added": 0})
            for e in sessions:
                data["sessions"].setdefault(e.key, {
                    "profile": e.profile, "kind": e.kind, "expires": e.expires,
                    "account": e.account, "root": e.root})

        self.index.update(record)


# A session item carries its owner (profile, kind, root) beside the credentials, so the
# store alone says whose it is when the index is lost. Session.from_json ignores them.
_OWNER_FIELDS = ("SvProfile", "SvKind", "SvRoot")


def _with_owner(text: str, profile: str, kind: str, root: str) -> str:
    data = json.loads(text)
    data.update(zip(_OWNER_FIELDS, (profile, kind, root), strict=True))
    return json.dumps(data, separators=(",", ":"))


def _owner(text: str | None) -> dict[str, Any]:
    """What `_entry` needs, from a session item (unknown fields: "?")."""
    try:
        data = json.loads(text or "")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return {}
    expires = data.get("Expires")
    return {
        "profile": data.get("SvProfile") or "?", "kind": data.get("SvKind") or "?",
        "root": data.get("SvRoot") or None, "account": data.get("Account"),
        "expires": expires if isinstance(expires, int) else 0,
    }
