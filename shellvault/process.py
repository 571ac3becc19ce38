"""Profiles whose credentials come from a `credential_process` command."""

from __future__ import annotations

import json
import os
import subprocess
from typing import TYPE_CHECKING

from .creds import Credentials, Session, account_from_arn
from .errors import Interrupted, ShellvaultError

if TYPE_CHECKING:
    from .config import Profile


# How long a credential_process may take (it may prompt, or open a browser).
CREDENTIAL_PROCESS_TIMEOUT = 300


def _epoch(text: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


# The profiles whose credential_process is running in our ancestors, one per line: a
# `credential_process = shellvault export SAME` would otherwise fork without end.
CHAIN_VARIABLE = "SHELLVAULT_CREDENTIAL_PROCESS_CHAIN"
MAX_NESTING = 8  # credential_process commands inside each other, whatever their profiles


def _child_environment(profile: Profile) -> dict[str, str]:
    chain = [p for p in os.environ.get(CHAIN_VARIABLE, "").split("\n") if p]
    if profile.name in chain or len(chain) >= MAX_NESTING:
        path = " -> ".join([*chain, profile.name])
        raise ShellvaultError(
            f"credential_process of profile {profile.name} loops back into shellvault "
            f"({path}); change that profile's credential_process"
        )
    return {**os.environ, CHAIN_VARIABLE: "\n".join([*chain, profile.name])}


def run_credential_process(profile: Profile) -> Session:
    command = str(profile.credential_process)
    what = f"credential_process of profile {profile.name}"
    env = _child_environment(profile)
    try:
        # Its stderr goes to the user (it may prompt there); its stdout is the JSON.
        done = subprocess.run(command, shell=True, stdout=subprocess.PIPE, text=True,
                              timeout=CREDENTIAL_PROCESS_TIMEOUT, env=env)
    except KeyboardInterrupt:
        raise Interrupted("interrupted; nothing was changed") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ShellvaultError(f"{what} failed: {exc.__class__.__name__}") from None
    if done.returncode != 0:
        raise ShellvaultError(f"{what} exited with code {done.returncode}")
    try:
        data = json.loads(done.stdout)
        if data.get("Version") != 1:
            raise ValueError("Version is not 1")
        expires = _epoch(data["Expiration"]) if data.get("Expiration") else None
        creds = Credentials(data["AccessKeyId"], data["SecretAccessKey"],
                            data.get("SessionToken"), expires)
    except (ValueError, KeyError, TypeError) as exc:
        # Never quote its output: it holds secrets.
        raise ShellvaultError(
            f"{what} printed no valid credential JSON ({exc.__class__.__name__})"
        ) from None
    return Session(creds, data.get("AccountId") or account_from_arn(profile.role_arn), None)
