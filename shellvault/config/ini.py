"""The ini syntax of ``~/.aws/config`` as go-ini reads it with aws-vault's options.

aws-vault passes ``AllowNestedValues: true, InsensitiveKeys: true, InsensitiveSections:
false``.  Read from go-ini's ``parser.go`` (``parse``, ``readKeyName``, ``readValue``):

  * Lines split on ``\\n`` only; leading whitespace is ignored; a UTF-8 BOM is skipped.
  * ``#`` or ``;`` first on a line: comment.  Inline comments too: an unquoted value is
    cut at its first ``#`` or ``;`` (``a#b`` reads as ``a``), and then one pair of
    surrounding ``'`` or ``"`` is removed.  A value starting with a backtick or ``\"\"\"``
    is raw up to the matching closing quote and may span lines.  A value ending in ``\\``
    continues on the next line (up to a blank line).
  * ``key = value`` or ``key: value`` (first ``=`` or ``:``); keys are case-insensitive.
    A key line with neither, or an empty key name, makes the file invalid.
  * A header is a line whose first non-space character is ``[``; the section name is
    everything between that ``[`` and the *last* ``]`` of the line, untrimmed and
    case-sensitive (``[profile a]b]`` is ``profile a]b``, ``[profile  x ]`` is
    ``profile  x ``).  No ``]`` is an error, ``[]`` too.  Repeated sections merge,
    later keys win.  (`header_name` is that rule, the one place it is written.)
  * After a key with an empty value, lines starting with a space or tab are nested
    values (``s3 =`` blocks) and ignored, until the next key; a header does not end
    that state (go-ini resets it only at the next key).
  * Dotted sections inherit missing keys: ``[profile a.b]`` falls back to ``[profile a]``.

`IniFile` never parses the whole file when it needn't: it finds a section by searching
for its header bytes, checks that the hit really is a header, and reads lines only until
the next header.  Constructs that could hide a header (backtick or triple-quote values,
a header after a line ending in ``\\``, an indented header or indented first line) make
it fall back to one full sequential parse.  Both paths read key lines with `_read_keys`.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import QUOTED_MAX, ConfigParseError, quoted

__all__ = ["WS", "IniFile", "header_name", "profile_names", "profile_of_section", "surrounded"]

# Go's unicode.IsSpace: ASCII whitespace, NEL, NBSP and the Unicode White_Space set.
WS = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# The same characters (without \n) as UTF-8 bytes, for the byte-level header scan.
_WS_BYTES = (
    rb"(?:[\t\x0b\x0c\r ]|\xc2[\x85\xa0]|\xe1\x9a\x80|\xe2\x80[\x80-\x8a\xa8\xa9\xaf]"
    rb"|\xe2\x81\x9f|\xe3\x80\x80)*"
)
# The section the keys before the first header belong to (go-ini's DefaultSection).
_TOP = "DEFAULT"
_BOM = b"\xef\xbb\xbf"


class _Patterns:
    """Byte patterns, compiled on first use: most runs search for one header only."""

    _cache: dict[str, re.Pattern[bytes]] = {}  # noqa: RUF012 - a process-wide cache

    @classmethod
    def get(cls, name: str) -> re.Pattern[bytes]:
        pattern = cls._cache.get(name)
        if pattern is None:
            source = {
                # any header line: its indentation and what follows the '['
                "header": rb"\n(" + _WS_BYTES + rb")\[([^\n]*)",
                # a header in column 0, up to the line's last ']'
                "col0_header": rb"\n\[([^\n]*)\]",
                # a value opened by ` or \"\"\" right after its key's = or :
                "multiline_opener": rb"[=:]" + _WS_BYTES + rb'(?:`|""")',
                # a line ending in '\' followed by a header
                "continued_header": rb"\\" + _WS_BYTES + rb"\n" + _WS_BYTES + rb"\[",
            }[name]
            pattern = cls._cache[name] = re.compile(source)
        return pattern


def _dec(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


class _Malformed(Exception):
    """Internal: a syntax error, turned into ConfigParseError with file and line."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


class _NeedFullParse(Exception):
    """Internal: the fast scanner met a construct only a full sequential parse can place."""


# ---------------------------------------------------------------------------------------
# Headers: the one definition


def header_name(line: str) -> str:
    """The section name of a header line (``line`` starts at its ``[``), by go-ini's rule:
    everything up to the line's last ``]``, untrimmed.  Raises `_Malformed` without one."""
    close = line.rfind("]")
    if close < 0:
        raise _Malformed(f"unclosed section header {quoted(line.rstrip(WS))}")
    name = line[1:close]
    if not name:
        raise _Malformed("empty section name []")
    return name


def profile_of_section(section: str) -> str | None:
    """The profile a section holds: ``[default]`` and ``[profile NAME]`` (aws-vault strips
    exactly ``profile `` and nothing else); None for any other section."""
    if section == "default":
        return "default"
    if section.startswith("profile "):
        return section[len("profile ") :]
    return None


def profile_names(data: bytes, path: Path | None = None) -> list[str]:
    """The profile names of a config file's bytes, in file order, as aws-vault sees them:
    ``default`` when ``[default]`` exists, ``NAME`` for each ``[profile NAME]`` (names
    untrimmed; ``[profile a]b]`` is ``a]b``).  The definition completion must agree with.
    Raises `ConfigParseError` for a file go-ini would reject where the names are."""
    return IniFile(path or Path("config"), data).profile_names()


# ---------------------------------------------------------------------------------------
# Key lines


class _Lines:
    """Hands out '\\n'-terminated lines of the buffer from an offset, decoding lazily.

    Mirrors go-ini's ``readUntil('\\n')``: at the end of the data it returns the rest
    (possibly "") and sets ``eof``.
    """

    __slots__ = ("data", "eof", "pos")

    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos
        self.eof = False

    def next(self) -> tuple[str, int]:
        start = self.pos
        nl = self.data.find(b"\n", start)
        if nl < 0:
            self.pos = len(self.data)
            self.eof = True
            return _dec(self.data[start:]), start
        self.pos = nl + 1
        return _dec(self.data[start : nl + 1]), start


def _index_any(s: str, chars: str, start: int) -> int:
    best = -1
    for c in chars:
        i = s.find(c, start)
        if i >= 0 and (best < 0 or i < best):
            best = i
    return best


def surrounded(s: str, q: str) -> bool:
    """Whether ``s`` is one pair of ``q`` around text without ``q`` (go-ini strips it)."""
    return len(s) >= 2 and s[0] == q and s[-1] == q and s.find(q, 1) == len(s) - 1


def _read_key_name(s: str) -> tuple[str, int]:
    """go-ini ``readKeyName`` with delimiters ``=:``; returns (name, value offset)."""
    quote = ""
    if s[0] == '"':
        quote = '"""' if len(s) > 6 and s[:3] == '"""' else '"'
    elif s[0] == "`":
        quote = "`"
    if quote:
        start = len(quote)
        pos = s.find(quote, start)
        if pos < 0:
            raise _Malformed(f"missing closing key quote: {quoted(s.rstrip(WS))}")
        i = _index_any(s, "=:", pos + start)
        if i < 0:
            raise _Malformed(f"key-value delimiter not found: {quoted(s.rstrip(WS))}")
        return s[start:pos].strip(WS), i + 1
    i = _index_any(s, "=:", 0)
    if i < 0:
        raise _Malformed(f"key-value delimiter not found: {quoted(s.rstrip(WS))}")
    return s[:i].strip(WS), i + 1


def _read_value(raw: str, src: _Lines) -> str:
    """go-ini ``readValue`` (no python multiline, inline comments on, quotes stripped)."""
    line = raw.lstrip(WS)
    if not line:
        return ""
    quote = ""
    if len(line) > 3 and line[:3] == '"""':
        quote = '"""'
    elif line[0] == "`":
        quote = "`"
    if quote:
        start = len(quote)
        pos = line.rfind(quote, start)
        if pos >= 0:
            return line[start:pos]
        val = line[start:]
        while True:
            nxt, _ = src.next()
            p = nxt.rfind(quote)
            if p >= 0:
                return val + nxt[:p]
            val += nxt
            if src.eof:
                raise _Malformed(
                    f"missing closing quote {quote} for value {quoted(line.rstrip(WS))}"
                )
    line = line.strip(WS)
    if line[-1] == "\\":
        val = line[:-1]
        while True:
            nxt = src.next()[0].strip(WS)
            if not nxt:
                break
            val += nxt
            if val[-1] != "\\":
                break
            val = val[:-1]
        return val
    i = _index_any(line, "#;", 0)
    if i >= 0:
        line = line[:i].strip(WS)
    if surrounded(line, "'") or surrounded(line, '"'):
        line = line[1:-1]
    return line


def _read_keys(
    src: _Lines, keys: dict[str, str], nested: bool | None,
    sub: dict[str, list[str]] | None = None,
) -> tuple[str, int, bool | None] | None:
    """Read key lines into ``keys`` up to the next header: (header line from its ``[``,
    the line's offset, the nested-value state) or None at the end of the data.

    ``nested`` is whether the last key's value was empty (so indented lines are nested
    values); None means unknown (a section read on its own), and then an indented line
    before the first key raises `_NeedFullParse`.  Nested lines, trimmed, go to
    ``sub[key]`` when ``sub`` is given (aws-vault ignores them; botocore reads ``[services]``
    from them).  Syntax errors are `_Malformed` with the offset of their line.
    """
    last: str | None = None
    while not src.eof:
        line, off = src.next()
        if line[:1] in (" ", "\t"):
            if nested is None and line.strip(WS):
                raise _NeedFullParse  # depends on the previous section's last key
            if nested:
                text = line.strip(WS)
                if sub is not None and last is not None and text:
                    sub.setdefault(last, []).append(text)
                continue
        s = line.lstrip(WS)
        if not s or s[0] in "#;":
            continue
        if s[0] == "[":
            return s, off, nested
        try:
            name, voff = _read_key_name(s)
            if not name:
                raise _Malformed(f"empty key name: {quoted(s.rstrip(WS))}")
            value = _read_value(s[voff:], src)
        except _Malformed as e:
            e.offset = off
            raise
        nested = value == ""
        if name != "-":  # go-ini's auto-numbered "-" keys; aws-vault reads none of them
            last = name.lower()
            keys[last] = value
            if sub is not None:
                sub.pop(last, None)  # a key set again starts its nested lines afresh
    return None


# ---------------------------------------------------------------------------------------
# The file


class _Full:
    """Result of one full sequential parse of the file."""

    __slots__ = ("nested", "order", "sections")

    def __init__(self) -> None:
        self.order: list[str] = []
        self.sections: dict[str, dict[str, str]] = {}
        self.nested: dict[str, dict[str, list[str]]] = {}


class IniFile:
    """One config file's bytes, its sections parsed when first asked for."""

    def __init__(self, path: Path, data: bytes) -> None:
        self.path = path
        if data.startswith(_BOM):
            data = data[len(_BOM) :]
        self.data = data
        self._full: _Full | None = None
        self._cache: dict[str, dict[str, str] | None] = {}
        self._effective_cache: dict[str, dict[str, str] | None] = {}
        self._names: list[str] | None = None
        # Only a value opened by ` or """ (right after its key's = or :) can swallow
        # lines that look like headers anywhere in the file; without one, searching for
        # headers is safe.  The memchr-fast `in` tests spare the regex on most files.
        self._multiline = (b"`" in data or (b'"' in data and b'"""' in data)) and (
            _Patterns.get("multiline_opener").search(data) is not None
        )

    @property
    def parsed_fully(self) -> bool:
        """Whether the whole file went through the sequential parser (for the tests)."""
        return self._full is not None

    # -- errors ----------------------------------------------------------------------

    def _parse_error(self, msg: str, offset: int, section: str | None) -> ConfigParseError:
        line = self.data.count(b"\n", 0, offset) + 1
        where = f" in section [{section[:QUOTED_MAX]}]" if section is not None else ""
        prof = profile_of_section(section) if section is not None else None
        return ConfigParseError(
            f"{self.path}:{line}: {msg}{where}", path=self.path, profile=prof, line=line
        )

    def _malformed(self, e: _Malformed, section: str | None) -> ConfigParseError:
        return self._parse_error(str(e), e.offset or 0, section)

    # -- the two readers -------------------------------------------------------------

    def full_parse(self) -> _Full:
        """Every section, reading the file from the top like go-ini."""
        if self._full is not None:
            return self._full
        full = _Full()
        src = _Lines(self.data, 0)
        section = _TOP
        keys = full.sections.setdefault(section, {})
        sub = full.nested.setdefault(section, {})
        nested: bool | None = False
        while True:
            try:
                header = _read_keys(src, keys, nested, sub)
                if header is None:
                    break
                line, off, nested = header
                try:
                    section = header_name(line)
                except _Malformed as e:
                    e.offset = off
                    raise
            except _Malformed as e:
                raise self._malformed(e, section) from None
            if section not in full.sections:
                full.order.append(section)
            keys = full.sections.setdefault(section, {})
            sub = full.nested.setdefault(section, {})
        self._full = full
        self._cache.clear()
        self._effective_cache.clear()
        return full

    def _occurrences(self, section: str) -> list[int]:
        """Offsets of the first body line of every ``[section]`` header (fast path)."""
        data = self.data
        want = section.encode("utf-8", "surrogateescape")
        needle = b"[" + want
        found: list[int] = []
        start = 0
        while True:
            p = data.find(needle, start)
            if p < 0:
                return found
            start = p + 1
            ls = data.rfind(b"\n", 0, p) + 1
            if ls < p:
                prefix = data[ls:p]
                if _dec(prefix).strip(WS):
                    continue  # '[' is not the first thing on its line
                if prefix[:1] in (b" ", b"\t"):
                    raise _NeedFullParse  # may be a nested value of an empty key
            if ls > 0:
                pstart = data.rfind(b"\n", 0, ls - 1) + 1
                if _dec(data[pstart : ls - 1]).rstrip(WS).endswith("\\"):
                    raise _NeedFullParse  # may be a continuation line
            le = data.find(b"\n", p)
            if le < 0:
                le = len(data)
            rest = data[p + 1 : le]
            close = rest.rfind(b"]")
            if close < 0:
                raise self._parse_error(
                    f"unclosed section header {quoted(_dec(data[p:le]).rstrip(WS))}", p, None
                )
            if rest[:close] == want:
                found.append(le + 1)

    def _body(
        self, offset: int, section: str, sub: dict[str, list[str]] | None = None
    ) -> dict[str, str]:
        """The keys from ``offset`` up to the next header (fast path)."""
        keys: dict[str, str] = {}
        try:
            _read_keys(_Lines(self.data, offset), keys, None, sub)
        except _Malformed as e:
            raise self._malformed(e, section) from None
        return keys

    # -- sections --------------------------------------------------------------------

    def section(self, section: str) -> dict[str, str] | None:
        """Merged keys of every ``[section]`` (own keys only), None if there is none."""
        if section in self._cache:
            return self._cache[section]
        result: dict[str, str] | None
        if self._full is None and not self._multiline:
            try:
                result = None
                for off in self._occurrences(section):
                    body = self._body(off, section)
                    result = body if result is None else {**result, **body}
            except _NeedFullParse:
                self.full_parse()
                return self.section(section)
        else:
            result = self.full_parse().sections.get(section)
        self._cache[section] = result
        return result

    def nested(self, section: str) -> dict[str, list[str]]:
        """The nested lines of ``[section]``'s keys (``sts =`` then ``  endpoint_url = x``
        gives ``{"sts": ["endpoint_url = x"]}``), merged over repeated sections."""
        if self._full is None and not self._multiline:
            try:
                merged: dict[str, list[str]] = {}
                for off in self._occurrences(section):
                    sub: dict[str, list[str]] = {}
                    keys = self._body(off, section, sub)
                    for key in keys:
                        merged.pop(key, None)  # later keys win, nested lines with them
                    merged.update(sub)
                return merged
            except _NeedFullParse:
                pass
        return dict(self.full_parse().nested.get(section, {}))

    def effective(self, section: str) -> dict[str, str] | None:
        """Keys of ``[section]`` plus those its dotted parents supply (go-ini GetKey:
        ``[profile a.b.c]`` falls back to ``[profile a.b]``, then ``[profile a]``)."""
        if section in self._effective_cache:
            return self._effective_cache[section]
        own = self.section(section)
        result = own
        if own is not None:
            # Nearest parent section first; a loop, not recursion: names may have many dots.
            parents: list[dict[str, str]] = []
            name = section
            while "." in name:
                name = name[: name.rfind(".")]
                keys = self.section(name)
                if keys is not None:
                    parents.append(keys)
            if parents:
                merged: dict[str, str] = {}
                for keys in reversed(parents):
                    merged.update(keys)
                result = {**merged, **own}
        self._effective_cache[section] = result
        return result

    def section_names(self) -> list[str]:
        """Every section name in file order, first occurrence only."""
        if self._full is None and not self._multiline:
            data = b"\n" + self.data  # so that a header on the first line is found too
            if b"\\" not in data or not _Patterns.get("continued_header").search(data):
                # Headers in column 0: the regex has the literal prefix "\n[", so it skips
                # through the file at memchr speed; greedy [^\n]*] ends at the line's last ].
                found: list[bytes] = _Patterns.get("col0_header").findall(data)
                # If every '[' of the file is accounted for by those lines, there is no
                # indented header, no unclosed one, and no '[' anywhere else to doubt.
                if data.count(b"[") == len(found) + b"".join(found).count(b"["):
                    return _dec(b"\n".join(dict.fromkeys(found))).split("\n") if found else []
                names = self._careful_section_names(data)
                if names is not None:
                    return names
        return list(self.full_parse().order)

    def _careful_section_names(self, data: bytes) -> list[str] | None:
        names: list[str] = []
        seen: set[str] = set()
        for m in _Patterns.get("header").finditer(data):
            indent, rest = m.group(1), m.group(2)
            if indent[:1] in (b" ", b"\t"):
                return None  # may be a nested value: only a full parse can tell
            close = rest.rfind(b"]")
            if close < 0:
                raise self._parse_error(
                    f"unclosed section header {quoted(_dec(rest).rstrip(WS))}", m.start(1) - 1, None
                )
            name = _dec(rest[:close])
            if name not in seen:
                seen.add(name)
                names.append(name)
        return names

    def profile_names(self) -> list[str]:
        """Profile names in file order; ``default`` included when ``[default]`` exists."""
        if self._names is None:
            names = (profile_of_section(sec) for sec in self.section_names())
            self._names = list(dict.fromkeys(n for n in names if n is not None))
        return list(self._names)

    def profile_keys(self, name: str) -> dict[str, str] | None:
        """The effective keys of profile ``name``'s section, None without one."""
        return self.effective("default" if name == "default" else "profile " + name)

    def has_profile(self, name: str) -> bool:
        if self.section("profile " + name) is not None:
            return True
        return name == "default" and self.section("default") is not None
