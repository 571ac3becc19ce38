"""The refresh lock: one process asks for an MFA code / calls STS, the others wait and reuse.

flock() locks die with their process, so a holder that crashed never blocks anyone.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import ShellvaultError
from .paths import ensure_private_dir
from .tty import notice

WAIT_LIMIT = 300.0  # someone may be typing an MFA code
PROMPTING = "prompting"  # written after the holder's pid while it waits for an answer

_held: list[int] = []  # descriptors of the locks this process holds
_no_input_profile: str | None = None


def never_wait_for_input(profile: str) -> None:
    """This process may not prompt (`--no-input`): it must not queue behind a process
    that is prompting either, or a prompt hook freezes until someone answers elsewhere.
    A lock whose holder is prompting, or starts to while we wait, fails at once with
    InputNeeded (exit 3), naming `shellvault auth PROFILE`."""
    global _no_input_profile
    _no_input_profile = profile


def mark_prompting() -> None:
    """Tell waiters that this process now waits for a person (MFA code, passphrase)."""
    for fd in _held:
        with contextlib.suppress(OSError):  # only a courtesy to waiters
            os.pwrite(fd, f"{os.getpid()} {PROMPTING}\n".encode(), 0)


def _holder_state(fd: int) -> tuple[int | None, bool]:
    try:
        words = os.pread(fd, 64, 0).split()
        return int(words[0]), PROMPTING.encode() in words[1:]
    except (OSError, ValueError, IndexError):
        return None, False


def _holder(fd: int) -> str:
    """Who holds the lock, as the user would recognise it: pid and subcommand only.
    Never its whole argv: that may hold an `--mfa-token` code or a profile name."""
    pid, _ = _holder_state(fd)
    if pid is None:
        return "another shellvault"
    try:
        import psutil

        command = " ".join(_command_words(psutil.Process(pid).cmdline()))
    except Exception:  # gone already, or not ours to inspect
        return f"another shellvault (pid {pid})"
    return f"pid {pid} ({command})"


def _command_words(argv: list[str]) -> list[str]:
    # "/venv/bin/python /venv/bin/shellvault env account-a" -> "shellvault env"
    for index, word in enumerate(argv):
        if os.path.basename(word) == "shellvault":
            sub = argv[index + 1:index + 2]
            return ["shellvault", *(w for w in sub if w.isalpha())]
    return [os.path.basename(argv[0]) or "?"] if argv else ["?"]


def _refuse_if_prompting(fd: int, what: str) -> None:
    if _no_input_profile is None or not _holder_state(fd)[1]:
        return
    from .errors import InputNeeded
    from .tty import command

    profile = _no_input_profile
    raise InputNeeded(
        f"{profile} needs input: {_holder(fd)} is {what} and waiting for an answer; "
        f"run {command('auth', profile)} in a terminal"
    )


@contextmanager
def exclusive(path: Path, what: str, timeout: float = WAIT_LIMIT) -> Iterator[None]:
    import fcntl

    ensure_private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _refuse_if_prompting(fd, what)
            notice(f"waiting for {_holder(fd)} that is {what}")
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    _refuse_if_prompting(fd, what)
                    if time.monotonic() > deadline:
                        raise ShellvaultError(
                            f"gave up after {int(timeout)}s waiting for {_holder(fd)}; "
                            f"remove {path} if no shellvault is running"
                        ) from None
                    time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _held.append(fd)
        try:
            yield
        finally:
            _held.remove(fd)
    finally:
        os.close(fd)  # closing releases the flock
