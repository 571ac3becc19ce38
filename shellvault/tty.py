"""Questions to the person at the terminal, through /dev/tty only.

Stdin and stdout belong to whoever called us (`eval "$(...)"`, an SDK reading
credential_process output), so prompts never touch them.
"""

from __future__ import annotations

import os
import sys

from .errors import InputNeeded, Interrupted


def has_tty() -> bool:
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(fd)
    return True


def ask(prompt: str, *, secret: bool = False, why: str = "an answer") -> str:
    """Ask on /dev/tty; InputNeeded if there is no terminal, Interrupted on Ctrl-C/EOF."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        raise InputNeeded(f"{why} is needed but there is no terminal to ask on") from None
    with open(fd, "r+b", buffering=0) as tty:
        old = None
        try:
            if secret:
                import termios

                old = termios.tcgetattr(fd)
                new = termios.tcgetattr(fd)
                new[3] &= ~termios.ECHO
                termios.tcsetattr(fd, termios.TCSAFLUSH, new)
            tty.write(prompt.encode())
            line = b""
            while not line.endswith(b"\n"):
                chunk = tty.read(1)
                if not chunk:
                    raise EOFError
                line += chunk
        except (KeyboardInterrupt, EOFError):
            tty.write(b"\n")
            raise Interrupted("interrupted; nothing was changed") from None
        finally:
            if old is not None:
                import termios

                termios.tcsetattr(fd, termios.TCSAFLUSH, old)
                tty.write(b"\n")
    return line.decode(errors="replace").strip()


def notice(message: str) -> None:
    sys.stderr.write(f"shellvault: {message}\n")
    sys.stderr.flush()
