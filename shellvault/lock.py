"""The refresh lock: one process asks for an MFA code / calls STS, the others wait and reuse.

flock() locks die with their process, so a holder that crashed never blocks anyone.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import ShellvaultError
from .paths import ensure_private_dir
from .tty import notice

WAIT_LIMIT = 300.0  # someone may be typing an MFA code


def _holder(fd: int) -> str:
    """Who holds the lock, as the user would recognise it (pid and command line)."""
    try:
        pid = int(os.pread(fd, 32, 0).split()[0])
    except (OSError, ValueError, IndexError):
        return "another shellvault"
    try:
        import psutil

        command = " ".join(_command_words(psutil.Process(pid).cmdline()))
    except Exception:  # gone already, or not ours to inspect
        return f"another shellvault (pid {pid})"
    return f"pid {pid} ({command})"


def _command_words(argv: list[str]) -> list[str]:
    # "/venv/bin/python /venv/bin/shellvault env account-a" -> "shellvault env account-a"
    for index, word in enumerate(argv):
        if os.path.basename(word) == "shellvault":
            return ["shellvault", *argv[index + 1:]]
    return [os.path.basename(argv[0]), *argv[1:]] if argv else ["?"]


@contextmanager
def exclusive(path: Path, what: str, timeout: float = WAIT_LIMIT) -> Iterator[None]:
    import fcntl

    ensure_private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            notice(f"waiting for {_holder(fd)} that is {what}")
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise ShellvaultError(
                            f"gave up after {int(timeout)}s waiting for {_holder(fd)}; "
                            f"remove {path} if no shellvault is running"
                        ) from None
                    time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the flock
