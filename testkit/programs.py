"""Programs and processes for the harness: where programs are, waiting with a
deadline, stopping what was started by its PID."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sysconfig
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

__all__ = [
    "IN_CI", "ProgramMissing", "require_program", "search_path", "stop_pid_tree", "tail",
    "venv_bin", "wait_until",
]

#: True when the suite runs in CI (``CI=true``): missing programs fail instead of skip.
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def venv_bin() -> Path:
    """The bin directory of the interpreter running pytest (``.venv/bin``)."""
    return Path(sysconfig.get_path("scripts"))


def search_path() -> str:
    return os.pathsep.join([str(venv_bin()), os.environ.get("PATH", os.defpath)])


class ProgramMissing(RuntimeError):
    """A program the harness needs is not installed."""


def _raise_missing(message: str) -> NoReturn:
    raise ProgramMissing(message)


#: What `require_program` does when a program is absent: raise `ProgramMissing` (the
#: demo, the benchmarks); the test suite's conftest makes it skip or fail the test.
on_missing: Callable[[str], NoReturn] = _raise_missing


def require_program(name: str) -> str:
    """Absolute path of ``name`` (the venv's bin first, then PATH); `on_missing` with a
    message when it is absent (``scripts/test`` installs the test packages as root)."""
    path = shutil.which(name, path=search_path())
    if path:
        return path
    on_missing(f"{name!r} is not installed (scripts/test installs the test packages as root)")


def wait_until(
    what: str, predicate: Callable[[], bool], timeout: float, proc: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready after {timeout:.0f}s")
        time.sleep(0.05)


def stop_pid_tree(
    proc: subprocess.Popen[bytes], timeout: float = 10.0, first: Sequence[int] = ()
) -> None:
    """Stop a process we started and its descendants, each by PID.

    ``first`` (e.g. the child whose exit makes ``proc`` wind down by itself, the way
    dbus-run-session stops its bus when its command exits) gets SIGTERM and ``proc``
    a chance to exit cleanly; then any descendant still there and ``proc`` get
    SIGTERM, and whatever is left after ``timeout`` SIGKILL."""
    import psutil

    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        children = []
    for pid in first:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    if first:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
    for child in reversed(children):
        if child.is_running():
            with contextlib.suppress(ProcessLookupError, psutil.Error):
                child.terminate()
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)

    # A zombie counts as stopped: orphans are reaped by PID 1 whenever it gets to it.
    def stopped(p: psutil.Process) -> bool:
        try:
            return bool(p.status() == psutil.STATUS_ZOMBIE)
        except psutil.NoSuchProcess:
            return True

    deadline = time.monotonic() + timeout
    while not all(stopped(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.02)
    for child in children:
        if not stopped(child):
            with contextlib.suppress(ProcessLookupError, psutil.Error):
                child.kill()


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
