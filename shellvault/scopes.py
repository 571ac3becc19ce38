"""Directory scopes: the user's saved-scopes file (``with-role --save``) and the one rule
for "is this directory inside that one" (a literal path prefix, never a pattern)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from . import paths
from .errors import UsageError


def printable(text: str) -> str:
    """Text safe to print on a terminal: control characters (ESC, newline...) become '?'."""
    return "".join("?" if (ord(c) < 32 or 127 <= ord(c) < 160) else c for c in text)


def under(directory: str, pwd: str) -> bool:
    """Is ``pwd`` the directory or inside it (literal path prefix, never a pattern)?"""
    return directory == "/" or (pwd + "/").startswith(directory + "/")


def load_saved(environ: Mapping[str, str] = os.environ) -> list[tuple[str, str]]:
    """``with-role --save`` scopes: ``<absolute dir><TAB><profile>`` lines of the user's own
    file (never a file inside a project). ``~`` is the home directory; trailing slashes
    are ignored; comments (#), blank and malformed lines are skipped."""
    try:
        text = paths.directories_file(environ).read_bytes().decode("utf-8", "surrogateescape")
    except OSError:
        return []
    home = environ.get("HOME", "")
    scopes = []
    for line in text.split("\n"):
        line = line.removesuffix("\r")
        if not line or line.startswith("#") or "\t" not in line:
            continue
        d, prof = line.split("\t", 1)
        if d == "~" or d.startswith("~/"):
            d = home + d[1:]
        if not d.startswith("/") or not prof:
            continue
        d = d.rstrip("/") or "/"
        scopes.append((d, prof))
    return scopes


def check_scope_entry(directory: str, profile: str) -> None:
    """A line of the directories file holds one directory and one profile: no newline in
    either, no tab in the directory (it separates them)."""
    if any(c in directory for c in "\t\n\r"):
        raise UsageError(f"with-role: cannot save a scope for {printable(directory)!r}: "
                         "its path holds a tab or a newline")
    if not profile or any(c in profile for c in "\t\n\r"):
        raise UsageError("with-role: invalid profile name")


def write_saved(directory: str, profile: str | None,
                environ: Mapping[str, str] = os.environ) -> None:
    """Rewrite the directories file without ``directory``'s line, then add
    ``directory<TAB>profile`` when a profile is given. Atomic (other shells read it)."""
    check_scope_entry(directory, profile or "-")
    path = paths.directories_file(environ)
    try:
        old = path.read_bytes().decode("utf-8", "surrogateescape")
    except FileNotFoundError:
        old = ""
    keep = []
    for line in old.split("\n"):
        if not line:
            continue
        d = line.split("\t", 1)[0] if "\t" in line else None
        if d is not None and (d.rstrip("/") or "/") == directory:
            continue
        keep.append(line)
    if profile:
        keep.append(f"{directory}\t{profile}")
    data = "".join(line + "\n" for line in keep).encode("utf-8", "surrogateescape")
    paths.write_private_file(path, data)


