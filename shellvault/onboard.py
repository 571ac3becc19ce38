"""The setup steps that write ``~/.aws/config``: a user profile's ``mfa_serial`` and
``region`` (``shellvault add``), and a role profile (``shellvault role add``).

Edits keep every other byte of the file: a key that exists in the profile's section is
rewritten on its own line, a missing one is inserted after the section's last setting,
and a new section is appended. After each edit the result is read back with config.py's
parser and must say exactly what was meant; otherwise nothing is written and the message
shows the lines to add by hand. The write itself goes through ``write_config``, the one
place that knows how (locked and atomic).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from .config import AwsConfig, ConfigError
from .config.write import atomic_write, check_name, check_pair
from .creds import Credentials
from .errors import ShellvaultError, UsageError
from .policy import MFA_ARN, ROLE_ARN

_HEADER = re.compile(rb"^[ \t]*\[(.*)\]")  # go-ini: the name ends at the line's last ]
_KEY = re.compile(rb"^[ \t]*([^=:#;\[ \t][^=:]*?)[ \t]*[=:]")


def check_profile_name(name: str, path: Path) -> None:
    """Refuse a name aws-vault could not read back, before anything is stored."""
    check_name(name, path)


def check_role_arn(arn: str) -> None:
    if not ROLE_ARN.match(arn):
        raise UsageError(f"--role-arn {arn!r} is not an IAM role ARN "
                         "(arn:aws:iam::123456789012:role/NAME)")


def check_mfa_serial(serial: str) -> None:
    if not MFA_ARN.match(serial):
        raise UsageError(f"--mfa-serial {serial!r} is not an MFA device ARN "
                         "(arn:aws:iam::123456789012:mfa/NAME)")


def _section_name(profile: str) -> str:
    return "default" if profile == "default" else "profile " + profile


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror or e}", path=path) from None


def write_config(path: Path, before: bytes, after: bytes) -> None:
    """Replace the config file's ``before`` with ``after``, atomically, under a lock.

    Refuses when the file changed since it was read (another writer): the caller read,
    decided and built ``after`` from ``before``, so a lost update is never written.
    """
    import os

    from .lock import exclusive
    from .paths import state_dir

    target = Path(os.path.realpath(path))
    with exclusive(state_dir() / "locks" / "aws-config.lock", f"editing {path}", timeout=30):
        if _read(target) != before:
            raise ConfigError(f"{path} changed while shellvault was editing it; nothing was "
                              "written, run the command again", path=path)
        atomic_write(target, after, path)


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def _newline(data: bytes) -> bytes:
    return b"\r\n" if b"\r\n" in data else b"\n"


def _sections(lines: list[bytes]) -> list[tuple[str, int, int]]:
    """(name, header index, end index) of every section, in file order."""
    found: list[tuple[str, int, int]] = []
    for i, line in enumerate(lines):
        m = _HEADER.match(line.rstrip(b"\n"))
        if m:
            if found:
                name, start, _ = found[-1]
                found[-1] = (name, start, i)
            found.append((m.group(1).decode("utf-8", "surrogateescape"), i, len(lines)))
    return found


def set_keys(data: bytes, profile: str, values: Mapping[str, str],
             path: Path = Path()) -> bytes:
    """``data`` with ``values`` set in the profile's section (appended if missing)."""
    section = _section_name(profile)
    nl = _newline(data)
    lines = _lines(data)
    mine = [s for s in _sections(lines) if s[0] == section]
    pending = dict(values)
    if mine:
        _, start, end = mine[-1]  # later sections win in go-ini: edit the last one
        last_setting = start
        for i in range(start + 1, end):
            m = _KEY.match(lines[i])
            if not m:
                continue
            last_setting = i
            key = m.group(1).decode("utf-8", "surrogateescape").strip().lower()
            if key in pending:
                ending = nl if lines[i].endswith(b"\n") else b""
                lines[i] = check_pair(key, pending.pop(key), profile, path).encode() + ending
        if pending:
            if not lines[last_setting].endswith(b"\n"):
                lines[last_setting] += nl
            new = [check_pair(k, v, profile, path).encode() + nl for k, v in pending.items()]
            lines[last_setting + 1:last_setting + 1] = new
        return b"".join(lines)
    return append_section(data, profile, values, path)


def append_section(data: bytes, profile: str, values: Mapping[str, str],
                   path: Path = Path()) -> bytes:
    nl = _newline(data)
    out = bytearray(data)
    if out and not out.endswith(b"\n"):
        out += nl
    if out and not out.endswith(nl + nl):
        out += nl
    out += b"[" + _section_name(profile).encode("utf-8", "surrogateescape") + b"]" + nl
    for key, value in values.items():
        out += check_pair(key, value, profile, path).encode("utf-8", "surrogateescape") + nl
    return bytes(out)


def _verify(path: Path, after: bytes, profile: str, values: Mapping[str, str]) -> None:
    """The edited text must read back (with config.py) as exactly what was meant."""
    check = AwsConfig(path, after)
    keys = check.ini.profile_keys(profile) or {}
    wrong = {k: v for k, v in values.items() if keys.get(k) != v}
    if wrong:
        by_hand = "; ".join(f"{k} = {v}" for k, v in values.items())
        raise ConfigError(
            f"cannot edit [{_section_name(profile)}] in {path} safely (unusual syntax there); "
            f"nothing was written: add these lines to it yourself: {by_hand}", path=path)


def update_profile(path: Path, profile: str, values: Mapping[str, str]) -> bool:
    """Set ``values`` in PROFILE's section (created when missing); False if nothing changed."""
    check_profile_name(profile, path)
    before = _read(path)
    current = AwsConfig(path, before).ini.profile_keys(profile) or {}
    exists = AwsConfig(path, before).has_profile(profile)
    if exists and all(current.get(k) == v for k, v in values.items()):
        return False
    after = set_keys(before, profile, values, path)
    _verify(path, after, profile, values)
    write_config(path, before, after)
    return True


def add_role(path: Path, name: str, values: Mapping[str, str]) -> None:
    """Append ``[profile NAME]`` with ``values``; refuses an existing profile."""
    check_profile_name(name, path)
    before = _read(path)
    config = AwsConfig(path, before)
    if config.has_profile(name):
        raise UsageError(f"profile {name} already exists in {path}; pick another name or edit "
                         "that section")
    after = append_section(before, name, values, path)
    _verify(path, after, name, values)
    write_config(path, before, after)


def discover_mfa(profile: str, creds: Credentials, region: str | None, *,
                 assume_yes: bool) -> tuple[str | None, str]:
    """The MFA device of the key's IAM user, found with the key and confirmed on the
    terminal, and a note for the user: why there is none, and what to do (said after the
    key is stored, so a failure to store stays the only line).

    GetCallerIdentity (which no policy can deny) says who the key belongs to, then
    ListMFADevices on that user (allowed without MFA by AWS's self-service policy).
    """
    from . import iam
    from .tty import ask, has_tty

    later = (f"add 'mfa_serial = arn:aws:iam::ACCOUNT:mfa/NAME' to [{_section_name(profile)}], "
             f"or run 'shellvault add {profile} --mfa-serial ARN'")
    if not assume_yes and not has_tty():
        return None, f"no terminal to confirm an MFA device on, so none was looked up; {later}"
    try:
        who = iam.whoami(creds, region)
        if ":user/" not in who["Arn"]:
            return None, f"the key belongs to {who['Arn']}, not an IAM user: no MFA device"
        devices = iam.mfa_devices(creds, who["Arn"], region)
    except ShellvaultError as exc:
        return None, f"could not look up the MFA device with the new key ({exc}); {later}"
    if not devices:
        return None, (f"IAM user {who['Arn']} has no MFA device yet: assign a virtual MFA "
                      f"device to it in the IAM console (Security credentials), then {later}")
    if len(devices) == 1:
        if assume_yes:
            return devices[0], ""
        answer = ask(f"Use MFA device {devices[0]} for {profile}? [Y/n] ",
                     why="a confirmation (or --yes)")
        return (devices[0], "") if answer.lower() in ("", "y", "yes") else (None, "")
    if assume_yes:
        return None, f"{who['Arn']} has {len(devices)} MFA devices; choose one with --mfa-serial"
    listing = "".join(f"  {i}. {serial}\n" for i, serial in enumerate(devices, 1))
    answer = ask(f"MFA devices of {who['Arn']}:\n{listing}Which one for {profile}? "
                 f"[1-{len(devices)}, Enter for none] ", why="a choice of MFA device")
    if answer.isdigit() and 1 <= int(answer) <= len(devices):
        return devices[int(answer) - 1], ""
    return None, ""
