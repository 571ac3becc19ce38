"""Writing ``~/.aws/config``: a new profile section appended, existing bytes kept exactly."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from ..errors import ConfigError, InvalidValueError, quoted
from .ini import WS, surrounded

__all__ = ["append_section", "atomic_write", "check_name", "check_pair"]


def append_section(current: bytes, section: str, lines: list[str]) -> bytes:
    """``current`` with ``[section]`` and ``lines`` appended, in the file's line ending,
    after one blank line."""
    nl = b"\r\n" if b"\r\n" in current else b"\n"
    out = bytearray(current)
    if out and not out.endswith(b"\n"):
        out += nl
    if out and not out.endswith(nl + nl) and out != nl:
        out += nl
    out += b"[" + section.encode("utf-8", "surrogateescape") + b"]" + nl
    for line in lines:
        out += line.encode("utf-8", "surrogateescape") + nl
    return bytes(out)


def check_name(name: str, path: Path) -> None:
    if not name or any(c in name for c in "\n\r") or name != name.strip(WS):
        raise InvalidValueError(
            f"invalid profile name {quoted(name)} for {path}: it must be non-empty, on one line, "
            "without leading or trailing spaces",
            path=path, profile=name,
        )


def check_pair(key: str, value: str, profile: str, path: Path) -> str:
    bad_key = (
        not key
        or key != key.strip(WS)
        or any(c in key for c in "=:\n\r[]#;\"`")
        or key == "-"
    )
    v = value
    bad_value = (
        any(c in v for c in "\n\r#;`")
        or v != v.strip(WS)
        or v.endswith("\\")
        or surrounded(v, "'")
        or surrounded(v, '"')
        or v.startswith('"""')
    )
    if bad_key or bad_value:
        raise InvalidValueError(
            f"cannot write {key}={quoted(value)} to profile '{profile}' in {path}: aws-vault would "
            "read it back differently",
            path=path, profile=profile,
        )
    return f"{key} = {value}"


def atomic_write(target: Path, data: bytes, shown: Path) -> None:
    directory = target.parent
    try:
        if not directory.exists():
            directory.mkdir(parents=True, mode=0o700)
            os.chmod(directory, 0o700)
        try:
            mode = os.stat(target).st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o600
        fd, tmp = tempfile.mkstemp(prefix="." + target.name + ".", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as e:
        raise ConfigError(f"cannot write {shown}: {e.strerror or e}", path=shown) from None
