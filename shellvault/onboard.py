"""The setup steps that write ``~/.aws/config``: a user profile's ``mfa_serial`` and
``region`` (``shellvault add``), and a role profile (``shellvault role add``).

Edits keep every other byte of the file: a key that exists in the profile's section is
rewritten on its own line, a missing one is inserted after the section's last setting,
and a new section is appended. Every edit goes through ``configedit`` (locked, atomic),
and the result is read back with config's parser first: if it does not say exactly what
was meant, nothing is written and the message shows the lines to add by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .config import ConfigError
from .config.write import check_name
from .configedit import ConfigEdit, edit, profile_section
from .creds import Credentials
from .errors import ShellvaultError, UsageError
from .policy import MFA_ARN, ROLE_ARN


def check_profile_name(name: str, path: Path) -> None:
    """Refuse a name aws-vault could not read back, before anything is stored."""
    check_name(name, path)


def check_region(region: str) -> None:
    """A region name's shape (us-east-1, cn-north-1, us-gov-west-1, eu-isoe-west-1)."""
    import re

    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-[0-9]+", region):
        raise UsageError(f"--region {region!r} is not an AWS region name (e.g. us-east-1)")


def check_role_arn(arn: str) -> None:
    if not ROLE_ARN.match(arn):
        raise UsageError(f"--role-arn {arn!r} is not an IAM role ARN "
                         "(arn:aws:iam::123456789012:role/NAME)")


def check_mfa_serial(serial: str) -> None:
    if not MFA_ARN.match(serial):
        raise UsageError(f"--mfa-serial {serial!r} is not an MFA device ARN "
                         "(arn:aws:iam::123456789012:mfa/NAME)")


def _verify(edited: ConfigEdit, profile: str, values: Mapping[str, str]) -> None:
    """The edited text must read back (with config.py) as exactly what was meant."""
    keys = edited.config().ini.profile_keys(profile) or {}
    if any(keys.get(k) != v for k, v in values.items()):
        by_hand = "; ".join(f"{k} = {v}" for k, v in values.items())
        raise ConfigError(
            f"cannot edit [{profile_section(profile)}] in {edited.path} safely (unusual syntax "
            f"there); nothing was written: add these lines to it yourself: {by_hand}",
            path=edited.path)


def update_profile(path: Path, profile: str, values: Mapping[str, str]) -> bool:
    """Set ``values`` in PROFILE's section (created when missing); False if nothing changed."""
    check_profile_name(profile, path)
    with edit(path) as edited:
        section = profile_section(profile)
        current = edited.get(section)
        if current is not None and all(current.get(k) == v for k, v in values.items()):
            return False
        edited.update(section, values)
        _verify(edited, profile, values)  # raising here leaves the file untouched
    return True


def add_role(path: Path, name: str, values: Mapping[str, str]) -> None:
    """Append ``[profile NAME]`` with ``values``; refuses an existing profile."""
    check_profile_name(name, path)
    with edit(path) as edited:
        if edited.config().has_profile(name):
            raise UsageError(f"profile {name} already exists in {path}; pick another name or "
                             "edit that section")
        edited.add_section(profile_section(name), values)
        _verify(edited, name, values)


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

    later = (f"add 'mfa_serial = arn:aws:iam::ACCOUNT:mfa/NAME' to [{profile_section(profile)}], "
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
