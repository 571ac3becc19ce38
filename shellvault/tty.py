"""Questions to the person at the terminal, through /dev/tty only.

Stdin and stdout belong to whoever called us (`eval "$(...)"`, an SDK reading
credential_process output), so prompts never touch them.
"""

from __future__ import annotations

import io
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
    from .lock import mark_prompting

    mark_prompting()  # a `--no-input` caller waiting on our lock gives up instead
    with open(fd, "r+b", buffering=0) as tty:
        old = None
        try:
            if secret:
                import termios

                old = termios.tcgetattr(fd)
                new = termios.tcgetattr(fd)
                new[3] &= ~termios.ECHO
                termios.tcsetattr(fd, termios.TCSAFLUSH, new)
            tty.write(printable(prompt).encode())
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


# Characters that must not reach a terminal from a name or a message: they move the
# cursor, retitle the window (OSC), reorder text (bidi overrides) or end the line.
_UNSAFE = frozenset(
    [chr(c) for c in range(0x20)] + [chr(c) for c in range(0x7F, 0xA0)]
    + ["\u2028", "\u2029", "\u200e", "\u200f"] + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
)


def printable(text: str) -> str:
    """`text` safe to show on one terminal line: control characters, bidi overrides and
    line breaks become visible escapes (\\x1b, \\n, \\u202e), and bytes that were not UTF-8
    (surrogate escapes from the environment, argv or a file) become \\xNN."""
    if text.isprintable():
        return text
    out = []
    for c in text:
        code = ord(c)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif c in _UNSAFE or 0xD800 <= code <= 0xDFFF:
            out.append(c.encode("unicode_escape").decode("ascii") if code < 0x10000 else c)
        else:
            out.append(c)
    return "".join(out)


_C1_OR_BIDI = (b"\xc2", b"\xe2")


class _EscapingStderr(io.RawIOBase):
    """File descriptor 2, with terminal control bytes made visible whoever writes: click's
    own messages, other modules' lines. Newlines and tabs pass; ESC, CSI, OSC, C1 and bidi
    overrides become escapes, so a hostile name cannot drive the terminal."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        raw = bytes(data)
        out = raw
        if min(raw, default=0x20) < 0x20 or b"\x7f" in raw or any(p in raw for p in _C1_OR_BIDI):
            text = raw.decode("utf-8", "surrogateescape")
            out = "\n".join(printable(part).replace("\\t", "\t") for part in text.split("\n")) \
                .encode("utf-8", "surrogateescape")
        view = memoryview(out)
        while view:
            view = view[os.write(self._fd, view):]
        return len(raw)


def escaping_stderr() -> io.TextIOWrapper:
    """A replacement for sys.stderr: UTF-8, never an encoding error (bytes that are not
    UTF-8 become escapes), control bytes made visible."""
    return io.TextIOWrapper(_EscapingStderr(2), encoding="utf-8",  # type: ignore[arg-type]
                            errors="backslashreplace", line_buffering=True, write_through=True)


def command(*words: str) -> str:
    """A shellvault command line to show a user, each word quoted for a POSIX shell, so a
    hostile profile name copied from a message cannot run anything."""
    import shlex

    return " ".join(["shellvault", *(shlex.quote(w) for w in words)])


def notice(message: str) -> None:
    """One line on stderr, whatever names or AWS texts `message` carries."""
    sys.stderr.write(f"shellvault: {printable(message)}\n")
    sys.stderr.flush()
