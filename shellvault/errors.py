"""Errors that reach the user as one line on stderr, each with its exit code."""


class ShellvaultError(Exception):
    """Base class: the message is the whole user-facing line (without the prefix)."""

    exit_code = 1


class UsageError(ShellvaultError):
    exit_code = 2


class InputNeeded(ShellvaultError):
    """An MFA code or passphrase is needed but `--no-input` (or no terminal) forbids asking."""

    exit_code = 3


class VaultLocked(InputNeeded):
    """The file store's passphrase is needed (the store is locked) and asking is forbidden.

    Its own exit code, so the prompt hook and direnv can name `shellvault unlock`
    without reading message text."""

    exit_code = 4


class SignInNeeded(InputNeeded):
    """An IAM Identity Center (SSO) session must be signed in again in the browser,
    which is never done without being asked (`shellvault sso login`)."""

    exit_code = 5


class Interrupted(ShellvaultError):
    """Ctrl-C at a prompt: nothing was changed."""

    exit_code = 130


class VaultError(ShellvaultError):
    """The credential store cannot be read or written."""


class StsError(ShellvaultError):
    """AWS STS refused or could not be reached."""
