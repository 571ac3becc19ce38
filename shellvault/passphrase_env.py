"""SHELLVAULT_FILE_PASSPHRASE: read once, kept from every child process.

Its own tiny module because main() calls it before anything else, on every command."""

from __future__ import annotations

import os
from collections.abc import Mapping

from .errors import UsageError

PASSPHRASE_VARIABLE = "SHELLVAULT_FILE_PASSPHRASE"

_taken_passphrase: str | None = None


def take_environment_passphrase() -> None:
    """Move SHELLVAULT_FILE_PASSPHRASE out of this process's environment.

    Children (`exec`'s command, mfa_process, credential_process, a browser) then never
    inherit it; the file store still finds it through environment_passphrase()."""
    global _taken_passphrase
    value = os.environ.pop(PASSPHRASE_VARIABLE, None)
    if value is not None:
        _taken_passphrase = value


def environment_passphrase(environ: Mapping[str, str]) -> str | None:
    """The passphrase given in the environment (None when unset or empty)."""
    value = environ.get(PASSPHRASE_VARIABLE)
    if value is None and environ is os.environ:
        value = _taken_passphrase
    if not value:
        return None
    try:
        value.encode()
    except UnicodeEncodeError:  # os.environ keeps undecodable bytes as surrogates
        raise UsageError(f"{PASSPHRASE_VARIABLE} is not valid UTF-8; nothing was changed") from None
    return value
