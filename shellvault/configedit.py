"""Locked, atomic edits of the AWS config file that keep every byte outside the edit.

    from shellvault import configedit

    with configedit.edit() as cfg:               # lock, then read the file as it is now
        cfg.add_section("profile dev", {"region": "eu-west-1"})    # only if absent
        cfg.update("profile dev", {"mfa_serial": "arn:...", "old_key": None})
        cfg.remove_section("profile gone")
    # leaving the block writes the file (temp file + rename) if anything changed

Every shellvault command that writes the config (`add`, `role add`, `import`, `sso sync`)
goes through `edit`, so two shellvault processes never lose each other's changes: the
read-modify-write runs under an flock (in shellvault's state directory, so `~/.aws` gets no
stray file), and readers see the old file or the new one, never half of it. The file's
mode and a symlink to it are kept; comments, blank lines, key order and line endings
(CRLF stays CRLF) outside the edited lines are untouched. Values are checked with
`config`'s rules first: anything aws-vault would read back differently is refused
(`InvalidValueError`) before the file is touched.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from .config import AwsConfig, config_path
from .config.ini import (
    WS,
    IniFile,
    _dec,
    _Lines,
    _Malformed,
    _read_key_name,
    _read_value,
    header_name,
)
from .config.write import append_section, atomic_write, check_name, check_pair
from .errors import ConfigError

LOCK_WAIT = 30.0  # seconds: an edit takes milliseconds; a holder this slow is stuck


def profile_section(name: str) -> str:
    """The section that holds profile `name` (`[default]` for default, as aws-vault)."""
    return "default" if name == "default" else f"profile {name}"


def sso_session_section(name: str) -> str:
    return f"sso-session {name}"


class _Key(NamedTuple):
    name: str  # lower case, as the parser compares them
    start: int  # first byte of the key's line
    end: int  # just past its last line (multi-line values, nested lines included)


class _Span(NamedTuple):
    name: str
    start: int  # first byte of the header line
    body: int  # just past the header line
    end: int  # first byte of the next header line, or the end of the file
    keys: tuple[_Key, ...]


def _scan(data: bytes, path: Path) -> list[_Span]:
    """Every section occurrence with the byte span of each key: the same reading as
    config's full parse (go-ini rules), kept as offsets so an edit can splice bytes."""
    spans: list[_Span] = []
    src = _Lines(data, 0)
    name: str | None = None
    start = body = 0
    keys: list[_Key] = []
    nested = False

    def close(end: int) -> None:
        if name is not None:
            spans.append(_Span(name, start, body, end, tuple(keys)))

    while not src.eof:
        line, off = src.next()
        if nested and line[:1] in (" ", "\t"):
            if keys:  # a nested line belongs to the key with the empty value above it
                keys[-1] = keys[-1]._replace(end=src.pos)
            continue
        s = line.lstrip(WS)
        if not s or s[0] in "#;":
            continue
        try:
            if s[0] == "[":
                header = header_name(s)
                close(off)
                # (`nested` carries over a header, as in the parser)
                name, start, body, keys = header, off, src.pos, []
                continue
            key, voff = _read_key_name(s)
            if not key:
                raise _Malformed(f"empty key name: {s.rstrip(WS)!r}")
            value = _read_value(s[voff:], src)
        except _Malformed as exc:
            line_no = data.count(b"\n", 0, off) + 1
            raise ConfigError(f"cannot edit {path}: line {line_no}: {exc}", path=path) from None
        nested = value == ""
        if name is not None:
            keys.append(_Key(key.lower(), off, src.pos))
    close(len(data))
    return spans


def _check_section_name(section: str, path: Path) -> None:
    kind, _, rest = section.partition(" ")
    check_name(rest if kind in ("profile", "sso-session") and rest else section, path)


class ConfigEdit:
    """The config file's bytes while `edit` holds the lock; every method edits them."""

    def __init__(self, path: Path, data: bytes) -> None:
        self.path = path  # as the user named it (for messages)
        self.original = data
        self.data = data

    @property
    def changed(self) -> bool:
        return self.data != self.original

    def config(self) -> AwsConfig:
        """The edited file as `AwsConfig` reads it (to resolve profiles before writing)."""
        return AwsConfig(self.path, self.data)

    def _spans(self, section: str | None = None) -> list[_Span]:
        spans = _scan(self.data, self.path)
        return spans if section is None else [s for s in spans if s.name == section]

    @property
    def _nl(self) -> bytes:
        return b"\r\n" if b"\r\n" in self.data else b"\n"

    def _line(self, section: str, key: str, value: str) -> bytes:
        profile = section.partition(" ")[2] if " " in section else section
        return check_pair(key, value, profile, self.path).encode("utf-8", "surrogateescape")

    def _splice(self, start: int, end: int, new: bytes) -> None:
        self.data = self.data[:start] + new + self.data[end:]

    # -- reading ---------------------------------------------------------------------
    def section_names(self) -> list[str]:
        return list(dict.fromkeys(s.name for s in self._spans()))

    def has_section(self, section: str) -> bool:
        return bool(self._spans(section))

    def get(self, section: str) -> dict[str, str] | None:
        """The section's own keys (lower-case names), None if there is no such section."""
        return IniFile(self.path, self.data).section(section)

    # -- writing ---------------------------------------------------------------------
    def add_section(self, section: str, values: Mapping[str, str]) -> bool:
        """Append `[section]` with `values` (empty values skipped) unless it exists.
        True if it was added."""
        _check_section_name(section, self.path)
        lines = [self._line(section, k, v) for k, v in values.items() if v != ""]
        if self.has_section(section):
            return False
        self.data = append_section(self.data, section, [_dec(line) for line in lines])
        return True

    def update(self, section: str, values: Mapping[str, str | None]) -> None:
        """Set keys of `[section]` (a value of None or "" removes the key), creating the
        section if needed. A key set in several places ends up on one line, where its
        last occurrence was (the one that counted); new keys go after the last key of
        the section's last occurrence."""
        _check_section_name(section, self.path)
        lines = {k.lower(): (self._line(section, k, v) if v else None) for k, v in values.items()}
        if not self._spans(section):
            self.add_section(section, {k: v for k, v in values.items() if v})
            return
        for key, line in lines.items():
            spans = self._spans(section)
            found = [k for s in spans for k in s.keys if k.name == key]
            if found:
                nl = self._nl
                for k in reversed(found):  # back to front: earlier offsets stay valid
                    new = line + nl if line is not None and k is found[-1] else b""
                    self._splice(k.start, k.end, new)
                continue
            if line is None:
                continue
            target = spans[-1]
            at = target.keys[-1].end if target.keys else target.body
            prefix = b"" if at == 0 or self.data[at - 1 : at] == b"\n" else self._nl
            self._splice(at, at, prefix + line + self._nl)

    def replace_section(self, section: str, values: Mapping[str, str]) -> None:
        """Make `[section]` hold exactly `values` (its comments and other keys go)."""
        _check_section_name(section, self.path)
        for k, v in values.items():
            if v:
                self._line(section, k, v)  # refuse before changing anything
        current = self.get(section) or {}
        wanted = {k.lower(): v for k, v in values.items() if v}
        self.update(section, {**dict.fromkeys(k for k in current if k not in wanted), **wanted})

    def remove_section_if_empty(self, section: str) -> bool:
        """Delete the `[section]` header line(s) if nothing but blank lines follow (no
        key, no comment); the blank lines stay. True if it was removed."""
        spans = self._spans(section)
        if not spans or any(self.data[s.body:s.end].strip() for s in spans):
            return False
        for span in reversed(spans):
            self._splice(span.start, span.body, b"")
        return True

    def remove_section(self, section: str) -> bool:
        """Delete every `[section]` header and its lines. True if there was one."""
        spans = self._spans(section)
        for span in reversed(spans):
            self._splice(span.start, span.end, b"")
        return bool(spans)


def _lock_path(target: Path) -> Path:
    from .paths import state_dir

    digest = hashlib.sha256(os.fsencode(target)).hexdigest()[:16]
    return state_dir() / "locks" / f"aws-config-{digest}.lock"


@contextmanager
def edit(path: Path | None = None) -> Iterator[ConfigEdit]:
    """Lock the config file (`$AWS_CONFIG_FILE` or ~/.aws/config), read it as it is now,
    hand it over for editing, and write it back atomically if it changed. An exception
    inside the block leaves the file untouched."""
    from .lock import exclusive

    shown = config_path() if path is None else Path(path)
    target = Path(os.path.realpath(shown))  # edit through a symlink, keep the link
    with exclusive(_lock_path(target), f"editing {shown}", timeout=LOCK_WAIT):
        try:
            with open(target, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            data = b""
        except OSError as exc:
            raise ConfigError(f"cannot read {shown}: {exc.strerror or exc}", path=shown) from None
        bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
        editor = ConfigEdit(shown, data[len(bom):])
        yield editor
        if editor.changed:
            if not target.parent.exists():
                from .paths import ensure_private_dir

                ensure_private_dir(target.parent)
            atomic_write(target, bom + editor.data, shown)
