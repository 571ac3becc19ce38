"""The profile names the shells' TAB reads with builtins: cache files per AWS config file.

Two files, each beginning with the same header line::

    shellvault-names 3 <stamp> <count>     <stamp> names the config they were made from
                                           (its mtime in ns, size and inode)

`paths.completion_cache(config)` holds the names as they are, one per line, sorted by
their UTF-8 bytes; the file beside it with `.bash` appended holds each of them quoted for
bash's command line, in the same order. bash finds the names that start with a typed
prefix by binary search over the plain names in memory (`LC_ALL=C` comparisons) and reads
just those lines of the quoted file with `mapfile -s -n`: no loop over every name, no
`printf %q` per TAB. zsh and fish read the plain file and do their own matching and
quoting. The plain file's mtime is the config's: a shell compares the two with
`test -nt/-ot` (no process) and asks `shellvault hook SHELL -- profiles` only when they
differ; it keeps the names in memory and reads them again only when the header changes.

The names are `AwsConfig.profile_names()`: the one reading of a section header.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from . import paths

FORMAT = "shellvault-names 3"

# bash's `printf %q` leaves these alone; every other ASCII character gets a backslash.
_BASH_PLAIN = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-"
)


def _byte(ch: str) -> int | None:
    """The raw byte a surrogateescape'd character stands for, else None."""
    code = ord(ch)
    return code - 0xDC00 if 0xDC80 <= code <= 0xDCFF else None


def bash_word(name: str) -> str:
    """`name` as one bash word that reads back as exactly `name` (what `printf %q` gives):
    backslashes before special characters, so a prefix of the name quotes to a prefix of
    the word; `$'...'` only for control characters and undecodable bytes."""
    if all(c in _BASH_PLAIN or (ord(c) > 127 and c.isprintable()) for c in name):
        return name
    if all(c.isprintable() for c in name):
        return "".join(c if c in _BASH_PLAIN or ord(c) > 127 else "\\" + c for c in name)
    out = []
    for c in name:
        raw = _byte(c)
        if raw is not None:
            out.append(f"\\x{raw:02x}")
        elif c in "\\'":
            out.append("\\" + c)
        elif not c.isprintable():
            out.extend(f"\\x{b:02x}" for b in c.encode("utf-8"))
        else:
            out.append(c)
    return "$'" + "".join(out) + "'"


def _sort_key(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


def stamp(st: os.stat_result) -> str:
    return f"{st.st_mtime_ns}:{st.st_size}:{st.st_ino}"


def quoted_path(cache: Path) -> Path:
    """The bash-quoted twin of the plain names file."""
    return cache.with_name(cache.name + ".bash")


def render(names: Iterable[str], config_stat: os.stat_result) -> tuple[bytes, bytes]:
    """(plain file, quoted file) for `names` of the config whose stat is `config_stat`."""
    # A name with a line break cannot be a line; an empty one is nothing to complete.
    usable = sorted({n for n in names if n and "\n" not in n and "\r" not in n}, key=_sort_key)
    header = f"{FORMAT} {stamp(config_stat)} {len(usable)}\n"

    def text(lines: Iterable[str]) -> bytes:
        return (header + "".join(n + "\n" for n in lines)).encode("utf-8", "surrogateescape")

    return text(usable), text(bash_word(n) for n in usable)


def is_fresh(cache: Path, config_stat: os.stat_result) -> bool:
    """True when `cache` was made from the config as it is now (its header and mtime)."""
    try:
        with open(cache, "rb") as handle:
            first = handle.readline()
        cache_mtime = os.stat(cache).st_mtime_ns
    except OSError:
        return False
    fields = first.decode("ascii", "replace").split(" ")
    return (
        len(fields) == 4
        and " ".join(fields[:2]) == FORMAT
        and fields[2] == stamp(config_stat)
        and cache_mtime == config_stat.st_mtime_ns
    )


def refresh(environ: Mapping[str, str] = os.environ, *, force: bool = False) -> tuple[Path, Path]:
    """(config file, cache file), the cache rewritten when it does not match the config
    (always with `force`). No config file: no cache to write, and the shells offer nothing.
    A broken or unreadable config gives an empty list: nothing to offer, no question per TAB."""
    config = paths.aws_config_file(environ)
    cache = paths.completion_cache(config, environ)
    try:
        st = config.stat()
    except OSError:
        return config, cache
    if not force and is_fresh(cache, st):
        return config, cache
    from .config import AwsConfig, ConfigError

    try:
        names = AwsConfig.load(config).profile_names()
    except (OSError, ConfigError):
        names = []
    plain, quoted = render(names, st)
    # The quoted file first, then the plain one with the config's mtime (set before it
    # takes its name): a shell never sees the new names with an mtime that calls them stale.
    # A read-only cache directory: completion asks again next time, nothing breaks.
    with contextlib.suppress(OSError):
        paths.write_private_file(quoted_path(cache), quoted)
        paths.write_private_file(cache, plain, times_ns=(st.st_atime_ns, st.st_mtime_ns))
    return config, cache
