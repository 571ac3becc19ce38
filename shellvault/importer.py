"""`shellvault import --from credentials|aws-vault [PROFILE...]`: access keys that already
exist, moved into the vault.

* `credentials`: the plaintext ~/.aws/credentials (or $AWS_SHARED_CREDENTIALS_FILE). Once
  the keys are stored, their lines can be removed from that file: every other line and
  comment stays, the edit is locked and atomic (`configedit`), and a line is removed only
  if it still holds the key that was stored.
* `aws-vault`: aws-vault's own items in its Secret Service collection (`awsvault`, or
  $AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME), readable while that collection is unlocked,
  in 99designs/keyring's format: the item's secret is the JSON of a `keyring.Item` whose
  `Data` (base64) is the JSON of aws-sdk-go-v2's `aws.Credentials`. Its session and SSO
  token items are not keys and are left alone. aws-vault's encrypted file backend needs
  its passphrase and is not read.

Nothing stored is replaced without `force`.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from .creds import Credentials, validate_key_pair
from .errors import ShellvaultError, UsageError

if TYPE_CHECKING:
    from .vault import Vault

KEY_LINES = ("aws_access_key_id", "aws_secret_access_key")
# aws-vault's non-key items: sessions ("session,<profile>,<mfa>,<expiry>" and older
# forms) and SSO tokens ("oidc:<start url>"), as its vault/sessionkeyring.go tells them.
_AWS_VAULT_SESSION = re.compile(r"^[^,]+,[^,]+,[^,]*,[0-9]+$")


class Found(NamedTuple):
    profile: str
    creds: Credentials | None
    problem: str | None  # why it cannot be imported, if it cannot


class Outcome(NamedTuple):
    moved: list[str]  # stored now
    present: list[str]  # the same key was stored already
    skipped: list[tuple[str, str]]  # (profile, why)

    def summary(self, source: str) -> str:
        parts = []
        if self.moved:
            parts.append(f"imported {', '.join(self.moved)} from {source}")
        if self.present:
            parts.append(f"already stored: {', '.join(self.present)}")
        if self.skipped:
            parts.append("skipped " + ", ".join(f"{p} ({why})" for p, why in self.skipped))
        return "; ".join(parts) or f"no access keys found in {source}"


def credentials_path(environ: Mapping[str, str] = os.environ) -> Path:
    value = environ.get("AWS_SHARED_CREDENTIALS_FILE", "")
    return Path(os.path.expanduser(value or "~/.aws/credentials"))


def _checked(profile: str, key_id: str | None, secret: str | None,
             token: str | None) -> Found:
    if token:
        return Found(profile, None, "temporary credentials (a session token), not a key")
    if not key_id or not secret:
        return Found(profile, None, "no access key")
    problem = validate_key_pair(key_id, secret)
    if problem:
        return Found(profile, None, problem)
    return Found(profile, Credentials(key_id, secret), None)


def from_credentials_file(path: Path) -> list[Found]:
    from .configedit import edit

    if not path.exists():
        raise UsageError(f"there is no credentials file at {path}")
    found = []
    with edit(path) as cfg:  # read under the file's lock, as it is now
        for section in cfg.section_names():
            keys = cfg.get(section) or {}
            found.append(_checked(section, keys.get("aws_access_key_id"),
                                  keys.get("aws_secret_access_key"),
                                  keys.get("aws_session_token")))
    return found


def remove_plaintext(path: Path, stored: Mapping[str, str]) -> list[str]:
    """Remove the key lines of the profiles in `stored` (profile -> key id) whose file entry
    still holds that key; a section left with nothing at all goes too. Returns the
    profiles whose lines were removed."""
    from .configedit import edit

    removed = []
    with edit(path) as cfg:
        for profile, key_id in stored.items():
            keys = cfg.get(profile) or {}
            if keys.get("aws_access_key_id") != key_id:
                continue  # changed since it was read: not ours to remove
            cfg.update(profile, dict.fromkeys(KEY_LINES))
            cfg.remove_section_if_empty(profile)
            removed.append(profile)
    return removed


# -- aws-vault's Secret Service items ------------------------------------------------------


def _collection_path(name: str) -> str:
    # gnome-keyring names a collection's object after its label, escaping as 99designs/keyring
    # decodes it (decodeKeyringString): every byte outside [A-Za-z0-9] as _XX.
    escaped = "".join(c if c.isascii() and c.isalnum() else "".join(
        f"_{b:02x}" for b in c.encode()) for c in name)
    return f"/org/freedesktop/secrets/collection/{escaped}"


def _aws_vault_item(profile: str, secret: bytes) -> Found:
    try:
        item = json.loads(secret)
        data = json.loads(base64.b64decode(item["Data"], validate=True))
    except (ValueError, KeyError, TypeError, binascii.Error):
        return Found(profile, None, "not in aws-vault's item format")
    if not isinstance(data, dict):
        return Found(profile, None, "not in aws-vault's item format")
    return _checked(profile, data.get("AccessKeyID"), data.get("SecretAccessKey"),
                    data.get("SessionToken"))


def from_aws_vault(environ: Mapping[str, str] = os.environ) -> list[Found]:
    from . import dbus

    name = environ.get("AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME") or "awsvault"
    path = _collection_path(name)
    item_iface = "org.freedesktop.Secret.Item"
    try:
        with dbus.Connection() as conn:
            (collections,) = conn.call(dbus.SECRETS, dbus.SECRETS_PATH, dbus.PROPERTIES, "Get",
                                       "ss", (dbus.SECRET_SERVICE, "Collections"))
            if path not in (collections[1] if isinstance(collections, tuple) else []):
                raise ShellvaultError(f"aws-vault's Secret Service collection '{name}' does not "
                                      "exist (aws-vault's file or pass backends are not read)")
            (locked,) = conn.call(dbus.SECRETS, path, dbus.PROPERTIES, "Get", "ss",
                                  (dbus.SECRET_COLLECTION, "Locked"))
            if locked != ("b", False):
                raise ShellvaultError(f"aws-vault's keyring collection '{name}' is locked; "
                                      "unlock it (e.g. run 'aws-vault list') and try again")
            (items,) = conn.call(dbus.SECRETS, path, dbus.PROPERTIES, "Get", "ss",
                                 (dbus.SECRET_COLLECTION, "Items"))
            paths = [p for p in (items[1] if isinstance(items, tuple) else [])
                     if isinstance(p, str)]
            labels = conn.call_many([(dbus.SECRETS, p, dbus.PROPERTIES, "Get", "ss",
                                      (item_iface, "Attributes")) for p in paths])
            profiles: dict[str, str] = {}
            for item_path, reply in zip(paths, labels, strict=True):
                attributes = reply[0] if reply else None
                value = attributes[1] if isinstance(attributes, tuple) else {}
                key = value.get("profile") if isinstance(value, dict) else None
                if isinstance(key, str) and not _AWS_VAULT_SESSION.match(key) \
                        and not key.startswith("oidc:"):
                    profiles.setdefault(item_path, key)
            if not profiles:
                return []
            # "plain": the secrets cross only the local bus; see dbus.py's docstring.
            opened = conn.call(dbus.SECRETS, dbus.SECRETS_PATH, dbus.SECRET_SERVICE,
                               "OpenSession", "sv", ("plain", ("s", "")))
            session = opened[1]
            (secrets,) = conn.call(dbus.SECRETS, dbus.SECRETS_PATH, dbus.SECRET_SERVICE,
                                   "GetSecrets", "aoo", (list(profiles), session))
    except dbus.DBusError as exc:
        raise ShellvaultError(f"cannot read aws-vault's keyring ({exc})") from None
    found = []
    for item_path, profile in sorted(profiles.items(), key=lambda kv: kv[1]):
        secret = secrets.get(item_path) if isinstance(secrets, dict) else None
        value = secret[2] if isinstance(secret, tuple) and len(secret) > 2 else None
        if not isinstance(value, bytes):
            found.append(Found(profile, None, "locked or unreadable"))
        else:
            found.append(_aws_vault_item(profile, value))
    return found


# -- into the vault ------------------------------------------------------------------------


def select(found: list[Found], names: Iterable[str], source: str) -> list[Found]:
    """The named profiles (all, if none is named); a name not found is a usage error."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return found
    by_name = {f.profile: f for f in found}
    missing = [n for n in wanted if n not in by_name]
    if missing:
        raise UsageError(f"no profile {', '.join(missing)} in {source}; nothing was imported")
    return [by_name[n] for n in wanted]


def store(vault: Vault, found: list[Found], force: bool) -> Outcome:
    moved: list[str] = []
    present: list[str] = []
    skipped: list[tuple[str, str]] = []
    for entry in found:
        if entry.creds is None:
            skipped.append((entry.profile, entry.problem or "unreadable"))
            continue
        current = vault.get_master(entry.profile)
        if current is not None and current.access_key_id == entry.creds.access_key_id \
                and current.secret_access_key == entry.creds.secret_access_key:
            present.append(entry.profile)
            continue
        if current is not None and not force:
            skipped.append((entry.profile, f"another key ({current.access_key_id}) is stored; "
                                           "--force replaces it"))
            continue
        vault.set_master(entry.profile, entry.creds)
        if current is not None:
            vault.delete_sessions({entry.profile})  # sessions of the replaced key go too
        moved.append(entry.profile)
    return Outcome(moved, present, skipped)


def add_profiles(names: Iterable[str]) -> list[str]:
    """`[profile NAME]` in the AWS config file for every imported key that has none (as
    `add` does), so `shellvault env NAME` works at once. Returns the names added."""
    from .configedit import edit, profile_section
    from .onboard import check_profile_name

    added = []
    with edit() as cfg:
        for name in names:
            check_profile_name(name, cfg.path)
            if cfg.add_section(profile_section(name), {}):
                added.append(name)
    return added
