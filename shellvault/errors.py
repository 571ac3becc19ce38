"""Errors that reach the user as one line on stderr, each with its exit code."""


class ShellvaultError(Exception):
    """Base class: the message is the whole user-facing line (without the prefix)."""

    exit_code = 1


class UsageError(ShellvaultError):
    exit_code = 2


class InputNeeded(ShellvaultError):
    """An MFA code or passphrase is needed but `--no-input` (or no terminal) forbids asking."""

    exit_code = 3


class Interrupted(ShellvaultError):
    """Ctrl-C at a prompt: nothing was changed."""

    exit_code = 130


class VaultError(ShellvaultError):
    """The credential store cannot be read or written."""


class StsError(ShellvaultError):
    """AWS STS refused or could not be reached."""
