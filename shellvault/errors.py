"""Errors that reach the user as one line on stderr, each with its exit code.

Every error the package raises on purpose is a `ShellvaultError`, so each boundary (the
click commands, the hot path) needs one `except`.
"""

from __future__ import annotations

TYPE_CHECKING = False  # mypy takes this name as True; the hot path never imports typing
if TYPE_CHECKING:
    from pathlib import Path


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


def next_step(exc: BaseException, profile: str) -> str | None:
    """The command that unblocks a process that may not ask (the prompt hook, a server's
    background refresh), chosen by the error's class, never by its text; None: no such
    command, the error's own line says what happened."""
    if isinstance(exc, VaultLocked):
        return "run 'shellvault unlock'"
    if isinstance(exc, SignInNeeded):
        return f"run 'shellvault sso login {profile}'"
    if isinstance(exc, InputNeeded):
        return f"run 'shellvault auth {profile}'"
    return None


class VaultError(ShellvaultError):
    """The credential store cannot be read or written."""


class StsError(ShellvaultError):
    """AWS STS refused or could not be reached."""


class MfaRejected(StsError):
    """AWS refused the MFA code (wrong, expired or used): asking again at once is pointless."""


class ConfigError(ShellvaultError):
    """A problem with the AWS config file or the environment; the message is one line.

    `path` and `profile` say where, for callers that want more than the message."""

    def __init__(
        self, message: str, *, path: Path | None = None, profile: str | None = None
    ) -> None:
        super().__init__(message)
        self.path = path
        self.profile = profile


class ConfigParseError(ConfigError):
    """The file is not valid ini as aws-vault's parser reads it (the message has the line)."""

    def __init__(
        self, message: str, *, path: Path | None = None, profile: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message, path=path, profile=profile)
        self.line = line


class InvalidValueError(ConfigError):
    """A setting (in the file or in an environment variable) has a value we cannot use."""


class UnknownProfileError(ConfigError):
    """The requested profile has no section in the config file."""


class MissingReferenceError(ConfigError):
    """A source_profile, include_profile or sso_session names a section that is absent."""


class ProfileLoopError(ConfigError):
    """source_profile or include_profile references form a loop."""


# The most of a value (from a file, a variable, an argument) an error message quotes.
QUOTED_MAX = 80


def quoted(value: str) -> str:
    """``value`` as an error message shows it: repr (so control characters are escaped and
    it stays on one line), cut to `QUOTED_MAX` characters."""
    if len(value) > QUOTED_MAX:
        return repr(value[:QUOTED_MAX]) + "..."
    return repr(value)
