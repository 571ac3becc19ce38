"""``~/.aws/config`` read the way aws-vault reads it.

Sources read (public code, not copied): 99designs/aws-vault ``vault/config.go`` (v7,
the ``populateFromConfigFile`` / ``populateFromEnv`` / ``LoadFromProfile`` logic),
``vault/vault.go`` (``AWS_MIN_TTL``), ``USAGE.md``; the ByteNess/aws-vault fork's
``vault/config.go`` (``endpoint_url``, source_profile loop detection); go-ini
``parser.go`` / ``section.go`` with the options aws-vault passes
(``AllowNestedValues: true, InsensitiveKeys: true, InsensitiveSections: false``).

File syntax (go-ini as aws-vault configures it)
  * Lines split on ``\\n`` only; leading whitespace is ignored; a UTF-8 BOM is skipped.
  * ``#`` or ``;`` first on a line: comment.  Inline comments too: an unquoted value is
    cut at its first ``#`` or ``;`` (``a#b`` reads as ``a``), and then one pair of
    surrounding ``'`` or ``"`` is removed.  A value starting with a backtick or ``\"\"\"``
    is raw up to the matching closing quote and may span lines.  A value ending in ``\\``
    continues on the next line (up to a blank line).
  * ``key = value`` or ``key: value`` (first ``=`` or ``:``); keys are case-insensitive.
    A key line with neither, or an empty key name, makes the file invalid.
  * ``[name]``: the name is everything between ``[`` and the *last* ``]`` of the line,
    untrimmed and case-sensitive.  Repeated sections merge, later keys win.
  * After a key with an empty value, lines starting with a space or tab are nested
    values (``s3 =`` blocks) and ignored, until the next key.
  * Dotted sections inherit missing keys: ``[profile a.b]`` falls back to ``[profile a]``.
  * Profiles are ``[default]`` and ``[profile NAME]``; ``[sso-session NAME]`` holds SSO
    settings; anything else (and keys before the first section) is ignored.

Resolution (``AwsConfig.resolve``), per profile in the chain
  1. Environment first (aws-vault fills a setting from the file only when the
     environment left it empty): ``AWS_REGION`` then ``AWS_DEFAULT_REGION``,
     ``AWS_STS_REGIONAL_ENDPOINTS``, ``AWS_ENDPOINT_URL``, ``AWS_MFA_SERIAL`` apply to every
     profile of the chain; ``AWS_ROLE_ARN``, ``AWS_ROLE_SESSION_NAME``, ``AWS_SESSION_TAGS``,
     ``AWS_TRANSITIVE_TAGS``, ``AWS_SOURCE_IDENTITY`` only to the requested profile.
  2. The profile's own section, then its ``include_profile`` chain (depth first, first
     non-empty value wins), and at the end of that chain ``[default]`` (99designs v7; the
     ByteNess fork dropped this fallback).  ``[default]`` supplies every setting aws-vault
     reads, not only ``region``: mfa_serial, role_arn, external_id, region,
     role_session_name, duration_seconds, source_profile, sso_session, sso_start_url,
     sso_region, sso_account_id, sso_role_name, web_identity_token_file/_process,
     sts_regional_endpoints, endpoint_url, session_tags, transitive_session_tags,
     source_identity, credential_process, mfa_process.  An ``include_profile`` in
     ``[default]`` is followed as well.  ``mfa_serial`` does *not* travel along
     ``source_profile`` (aws-vault v5+): each profile of a chain has its own.
  3. ``sso_session = X`` copies ``sso_start_url``/``sso_region`` from ``[sso-session X]``,
     overriding what earlier profiles of the include chain set.
  4. A ``source_profile`` naming the profile itself is dropped: that profile is a root
     whose keys are stored (aws-vault does the same).
  5. ``source_profile`` is resolved the same way, recursively, to any depth.

Deliberate differences from aws-vault: a missing ``source_profile``/``include_profile``/
``sso_session`` target is an error (aws-vault ignores it), except ``default``, which may
always be absent; source_profile loops are errors (99designs recursed forever); past the
implicit ``[default]`` fallback a profile seen before ends the chain quietly (aws-vault
reports a loop, so an ``include_profile`` in ``[default]`` broke every profile); only the
sections a resolution needs are parsed, so a malformed line elsewhere is not reported;
``profile_names`` lists ``default`` whenever a ``[default]`` section exists.

TTLs (``ttls``): session 1h (``AWS_SESSION_TOKEN_TTL``), chained session 8h
(``AWS_CHAINED_SESSION_TOKEN_TTL``), assume role 1h (``AWS_ASSUME_ROLE_TTL``, which
aws-vault lets win over ``duration_seconds``), minimum remaining lifetime 5m
(``AWS_MIN_TTL``).  ``SHELLVAULT_*`` names win over the ``AWS_*`` ones.

The scanner never parses the whole file when it needn't: it finds a section by
searching for its header bytes, checks that the hit really is a header, and reads
lines only until the next header.  Constructs that could hide a header (backtick or
triple-quote values, a header after a line ending in ``\\``, an indented header or
indented first line) make it fall back to one full sequential parse.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "AwsConfig",
    "ConfigError",
    "ConfigParseError",
    "InvalidValueError",
    "MissingReferenceError",
    "Profile",
    "ProfileLoopError",
    "TTLs",
    "UnknownProfileError",
    "config_path",
    "parse_duration",
    "ttls",
]

# ---------------------------------------------------------------------------------------
# Errors


class ConfigError(Exception):
    """A problem with the AWS config file or the environment; the message is one line."""

    exit_code: int = 1

    def __init__(self, message: str, *, path: Path | None = None, profile: str | None = None):
        super().__init__(message)
        self.path = path
        self.profile = profile


class ConfigParseError(ConfigError):
    """The file is not valid ini as aws-vault's parser reads it (message has the line)."""

    def __init__(
        self, message: str, *, path: Path | None = None, profile: str | None = None,
        line: int | None = None,
    ):
        super().__init__(message, path=path, profile=profile)
        self.line = line


class InvalidValueError(ConfigError):
    """A setting (in the file or in an environment variable) has a value we cannot use."""


class UnknownProfileError(ConfigError):
    """The requested profile has no section in the config file."""


class MissingReferenceError(ConfigError):
    """A source_profile, include_profile or sso_session names a section that is absent."""


class ProfileLoopError(ConfigError):
    """source_profile or include_profile references form a loop."""


class _NeedFullParse(Exception):
    """Internal: the fast scanner met a construct only a full sequential parse can place."""


# ---------------------------------------------------------------------------------------
# Low-level ini reading (go-ini semantics)

# Go's unicode.IsSpace: ASCII whitespace, NEL, NBSP and the Unicode White_Space set.
_WS = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# The same characters (without \n) as UTF-8 bytes, for the byte-level header scan.
_WS_BYTES = (
    rb"(?:[\t\x0b\x0c\r ]|\xc2[\x85\xa0]|\xe1\x9a\x80|\xe2\x80[\x80-\x8a\xa8\xa9\xaf]"
    rb"|\xe2\x81\x9f|\xe3\x80\x80)*"
)
_HEADER_SCAN: re.Pattern[bytes] | None = None
_CONT_BEFORE_HEADER: re.Pattern[bytes] | None = None


def _header_scan() -> re.Pattern[bytes]:
    global _HEADER_SCAN
    if _HEADER_SCAN is None:
        _HEADER_SCAN = re.compile(rb"\n(" + _WS_BYTES + rb")\[([^\n]*)")
    return _HEADER_SCAN


_COL0_HEADERS: re.Pattern[bytes] | None = None
_MULTILINE_OPENER: re.Pattern[bytes] | None = None


def _multiline_opener() -> re.Pattern[bytes]:
    global _MULTILINE_OPENER
    if _MULTILINE_OPENER is None:
        _MULTILINE_OPENER = re.compile(rb"[=:]" + _WS_BYTES + rb'(?:`|""")')
    return _MULTILINE_OPENER


def _col0_headers() -> re.Pattern[bytes]:
    global _COL0_HEADERS
    if _COL0_HEADERS is None:
        _COL0_HEADERS = re.compile(rb"\n\[([^\n]*)\]")
    return _COL0_HEADERS


def _cont_before_header() -> re.Pattern[bytes]:
    global _CONT_BEFORE_HEADER
    if _CONT_BEFORE_HEADER is None:
        _CONT_BEFORE_HEADER = re.compile(rb"\\" + _WS_BYTES + rb"\n" + _WS_BYTES + rb"\[")
    return _CONT_BEFORE_HEADER


def _dec(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


class _Malformed(Exception):
    """Internal: a syntax error, turned into ConfigParseError with file and line."""


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
            raise _Malformed(f"missing closing key quote: {s.rstrip(_WS)!r}")
        after = pos + start
        i = _index_any(s, "=:", after)
        if i < 0:
            raise _Malformed(f"key-value delimiter not found: {s.rstrip(_WS)!r}")
        return s[start:pos].strip(_WS), i + 1
    i = _index_any(s, "=:", 0)
    if i < 0:
        raise _Malformed(f"key-value delimiter not found: {s.rstrip(_WS)!r}")
    return s[:i].strip(_WS), i + 1


def _index_any(s: str, chars: str, start: int) -> int:
    best = -1
    for c in chars:
        i = s.find(c, start)
        if i >= 0 and (best < 0 or i < best):
            best = i
    return best


def _surrounded(s: str, q: str) -> bool:
    return len(s) >= 2 and s[0] == q and s[-1] == q and s.find(q, 1) == len(s) - 1


def _read_value(raw: str, src: _Lines) -> str:
    """go-ini ``readValue`` (no python multiline, inline comments on, quotes stripped)."""
    line = raw.lstrip(_WS)
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
                raise _Malformed(f"missing closing quote {quote} for value {line.rstrip(_WS)!r}")
    line = line.strip(_WS)
    if line[-1] == "\\":
        val = line[:-1]
        while True:
            nxt = src.next()[0].strip(_WS)
            if not nxt:
                break
            val += nxt
            if val[-1] != "\\":
                break
            val = val[:-1]
        return val
    i = _index_any(line, "#;", 0)
    if i >= 0:
        line = line[:i].strip(_WS)
    if _surrounded(line, "'") or _surrounded(line, '"'):
        line = line[1:-1]
    return line


# ---------------------------------------------------------------------------------------
# Durations


_DURATION_PART: re.Pattern[str] | None = None
_UNITS = {
    "ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3,
    "s": 1.0, "m": 60.0, "h": 3600.0,
}


def parse_duration(value: str) -> int | None:
    """Seconds in a Go duration (``1h30m``, ``15m``, ``3600s``) or plain seconds (``3600``).

    Returns None when the text is not a duration (negative durations included).
    """
    global _DURATION_PART
    v = value.strip()
    if v.startswith("+"):
        v = v[1:]
    if v.isdigit() and v.isascii():
        return int(v)
    if not v:
        return None
    if _DURATION_PART is None:
        _DURATION_PART = re.compile(r"([0-9]+\.?[0-9]*|\.[0-9]+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
    total = 0.0
    pos = 0
    while pos < len(v):
        m = _DURATION_PART.match(v, pos)
        if m is None:
            return None
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return int(total)


# ---------------------------------------------------------------------------------------
# Profile


class Profile(NamedTuple):
    """One resolved profile; ``source`` is its resolved source_profile (None at the root)."""

    name: str
    region: str | None
    role_arn: str | None
    mfa_serial: str | None
    mfa_process: str | None
    external_id: str | None
    role_session_name: str | None
    duration_seconds: int | None
    session_tags: tuple[tuple[str, str], ...]
    transitive_session_tags: tuple[str, ...]
    source_identity: str | None
    credential_process: str | None
    sso_session: str | None
    sso_start_url: str | None
    sso_region: str | None
    sso_account_id: str | None
    sso_role_name: str | None
    endpoint_url: str | None
    sts_regional_endpoints: str | None
    source_profile_name: str | None
    source: Profile | None
    # The merged file keys (own section, include chain, [default], [sso-session]) with
    # their raw text, for diagnostics; environment overrides are not in it.
    raw: tuple[tuple[str, str], ...] = ()

    def chain(self) -> list[Profile]:
        """Root first, this profile last."""
        out: list[Profile] = []
        p: Profile | None = self
        while p is not None:
            out.append(p)
            p = p.source
        out.reverse()
        return out

    def root(self) -> Profile:
        p = self
        while p.source is not None:
            p = p.source
        return p

    @property
    def is_sso(self) -> bool:
        return bool(self.sso_start_url or self.sso_session)

    def _material(self) -> str:
        parts = (
            self.name, self.role_arn, self.mfa_serial, self.external_id,
            self.role_session_name, self.duration_seconds, self.session_tags,
            self.transitive_session_tags, self.source_identity, self.credential_process,
            self.sso_session, self.sso_start_url, self.sso_region, self.sso_account_id,
            self.sso_role_name, self.endpoint_url, self.sts_regional_endpoints,
            self.source_profile_name,
        )
        return repr(parts)

    def fingerprint(self) -> str:
        """Short stable hash of every setting that changes the credentials this yields.

        Covers, for each profile of the chain: name, role_arn, mfa_serial, external_id,
        role_session_name, duration_seconds, session tags, source_identity,
        credential_process, the sso_* settings, endpoint_url, sts_regional_endpoints and
        source_profile.  Not region (credentials are valid in every region) nor
        mfa_process (how a code is obtained, not what is issued).
        """
        import hashlib

        h = hashlib.sha256(b"shellvault-profile-v1")
        for p in self.chain():
            h.update(b"\x00")
            h.update(p._material().encode("utf-8", "surrogateescape"))
        return h.hexdigest()[:16]


class TTLs(NamedTuple):
    """Durations in seconds."""

    session: int  # GetSessionToken when the root profile is used directly
    chained_session: int  # GetSessionToken whose credentials then assume a role
    assume_role: int  # AssumeRole
    min_ttl: int  # credentials with less than this left are refreshed


_DEFAULT_SESSION_TTL = 3600
_DEFAULT_CHAINED_SESSION_TTL = 8 * 3600
_DEFAULT_ASSUME_ROLE_TTL = 3600
_DEFAULT_MIN_TTL = 300


def _ttl_from_env(environ: Mapping[str, str], names: tuple[str, ...]) -> int | None:
    for var in names:
        raw = environ.get(var, "")
        if raw == "":
            continue
        secs = parse_duration(raw)
        if secs is None:
            raise InvalidValueError(
                f"invalid duration in ${var}: {raw!r} (use e.g. 3600, 3600s, 15m, 1h or 1h30m)"
            )
        return secs
    return None


def ttls(environ: Mapping[str, str], profile: Profile) -> TTLs:
    """aws-vault's session durations with its defaults; SHELLVAULT_* wins over AWS_*.

    For the role, the environment wins over the profile's ``duration_seconds``, as in
    aws-vault (it fills AssumeRoleDuration from AWS_ASSUME_ROLE_TTL before reading the
    file).  A value of 0 means "the default", again as in aws-vault.
    """
    session = _ttl_from_env(environ, ("SHELLVAULT_SESSION_TTL", "AWS_SESSION_TOKEN_TTL"))
    chained = _ttl_from_env(
        environ, ("SHELLVAULT_CHAINED_SESSION_TTL", "AWS_CHAINED_SESSION_TOKEN_TTL")
    )
    role = _ttl_from_env(environ, ("SHELLVAULT_ROLE_TTL", "AWS_ASSUME_ROLE_TTL"))
    if not role:
        role = profile.duration_seconds
    min_ttl = _ttl_from_env(environ, ("SHELLVAULT_MIN_TTL", "AWS_MIN_TTL"))
    return TTLs(
        session=session or _DEFAULT_SESSION_TTL,
        chained_session=chained or _DEFAULT_CHAINED_SESSION_TTL,
        assume_role=role or _DEFAULT_ASSUME_ROLE_TTL,
        min_ttl=_DEFAULT_MIN_TTL if min_ttl is None else min_ttl,
    )


# ---------------------------------------------------------------------------------------
# The config file


def config_path() -> Path:
    """``$AWS_CONFIG_FILE`` if set and non-empty, else ``~/.aws/config``."""
    env = os.environ.get("AWS_CONFIG_FILE", "")
    return Path(os.path.expanduser(env or "~/.aws/config"))


# Keys copied as plain strings, in aws-vault's order.
_STRING_KEYS = (
    "mfa_serial", "role_arn", "external_id", "region", "role_session_name",
    "source_profile",
)
_STRING_KEYS_AFTER_SSO = (
    "sso_start_url", "sso_region", "sso_account_id", "sso_role_name",
    "web_identity_token_file", "web_identity_token_process", "sts_regional_endpoints",
    "endpoint_url", "source_identity", "credential_process", "mfa_process",
)


def _parse_tags(value: str) -> tuple[tuple[str, str], ...] | None:
    tags: dict[str, str] = {}
    for item in value.split(","):
        k, sep, v = item.partition("=")
        if not sep:
            return None
        tags[k.strip()] = v.strip()
    return tuple(tags.items())


def _parse_transitive(value: str) -> tuple[str, ...]:
    return tuple(t for t in (x.strip() for x in value.split(",")) if t)


class _Full:
    """Result of one full sequential parse of the file."""

    __slots__ = ("order", "sections")

    def __init__(self) -> None:
        self.order: list[str] = []
        self.sections: dict[str, dict[str, str]] = {}


class AwsConfig:
    """The AWS config file, read lazily: sections are parsed when first needed."""

    def __init__(self, path: Path, data: bytes) -> None:
        self.path = path
        self._load_bytes(data)

    def _load_bytes(self, data: bytes) -> None:
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        self._data = data
        self._full: _Full | None = None
        self._cache: dict[str, dict[str, str] | None] = {}
        self._effective_cache: dict[str, dict[str, str] | None] = {}
        self._names: list[str] | None = None
        # Only a value opened by ` or """ (right after its key's = or :) can swallow
        # lines that look like headers anywhere in the file; without one, searching for
        # headers is safe.  The memchr-fast `in` tests spare the regex on most files.
        self._multiline = (b"`" in data or (b'"' in data and b'"""' in data)) and (
            _multiline_opener().search(data) is not None
        )

    @classmethod
    def load(cls, path: Path | None = None) -> AwsConfig:
        """Read the file once; a missing file is an empty config."""
        p = config_path() if path is None else Path(path)
        try:
            with open(p, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            data = b""
        except OSError as e:
            raise ConfigError(f"cannot read {p}: {e.strerror or e}", path=p) from None
        return cls(p, data)

    # -- errors ----------------------------------------------------------------------

    def _lineno(self, offset: int) -> int:
        return self._data.count(b"\n", 0, offset) + 1

    def _parse_error(self, msg: str, offset: int, section: str | None) -> ConfigParseError:
        line = self._lineno(offset)
        where = f" in section [{section}]" if section is not None else ""
        prof = _profile_of_section(section) if section is not None else None
        return ConfigParseError(
            f"{self.path}:{line}: {msg}{where}", path=self.path, profile=prof, line=line
        )

    def _suggest(self, name: str) -> str:
        import difflib

        close = difflib.get_close_matches(name, self.profile_names(), n=3, cutoff=0.6)
        if not close:
            return ""
        quoted = [f"'{c}'" for c in close]
        if len(quoted) == 1:
            return f"; did you mean {quoted[0]}?"
        return f"; did you mean {', '.join(quoted[:-1])} or {quoted[-1]}?"

    # -- section access --------------------------------------------------------------

    def _full_parse(self) -> _Full:
        if self._full is not None:
            return self._full
        full = _Full()
        data = self._data
        src = _Lines(data, 0)
        section = "DEFAULT"
        keys = full.sections.setdefault(section, {})
        nested = False
        while not src.eof:
            line, off = src.next()
            if nested and line[:1] in (" ", "\t"):
                continue
            s = line.lstrip(_WS)
            if not s or s[0] in "#;":
                continue
            try:
                if s[0] == "[":
                    close = s.rfind("]")
                    if close < 0:
                        raise _Malformed(f"unclosed section header {s.rstrip(_WS)!r}")
                    section = s[1:close]
                    if not section:
                        raise _Malformed("empty section name []")
                    if section not in full.sections:
                        full.order.append(section)
                    keys = full.sections.setdefault(section, {})
                    continue
                name, voff = _read_key_name(s)
                if not name:
                    raise _Malformed(f"empty key name: {s.rstrip(_WS)!r}")
                value = _read_value(s[voff:], src)
            except _Malformed as e:
                raise self._parse_error(str(e), off, section) from None
            nested = value == ""
            if name != "-":
                keys[name.lower()] = value
        self._full = full
        self._cache.clear()
        self._effective_cache.clear()
        return full

    def _occurrences(self, section: str) -> list[int]:
        """Offsets of the first body line of every ``[section]`` header (fast path)."""
        data = self._data
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
                if _dec(prefix).strip(_WS):
                    continue  # '[' is not the first thing on its line
                if prefix[:1] in (b" ", b"\t"):
                    raise _NeedFullParse  # may be a nested value of an empty key
            if ls > 0:
                pstart = data.rfind(b"\n", 0, ls - 1) + 1
                if _dec(data[pstart : ls - 1]).rstrip(_WS).endswith("\\"):
                    raise _NeedFullParse  # may be a continuation line
            le = data.find(b"\n", p)
            if le < 0:
                le = len(data)
            rest = data[p + 1 : le]
            close = rest.rfind(b"]")
            if close < 0:
                raise self._parse_error(
                    f"unclosed section header {_dec(data[p:le]).rstrip(_WS)!r}", p, None
                )
            if rest[:close] == want:
                found.append(le + 1)

    def _parse_body(self, offset: int, section: str) -> dict[str, str]:
        """Read key lines from ``offset`` up to the next header (fast path)."""
        src = _Lines(self._data, offset)
        keys: dict[str, str] = {}
        nested: bool | None = None  # unknown until the first key of this body
        while not src.eof:
            line, off = src.next()
            if line[:1] in (" ", "\t"):
                if nested is None and line.strip(_WS):
                    raise _NeedFullParse  # depends on the previous section's last key
                if nested:
                    continue
            s = line.lstrip(_WS)
            if not s or s[0] in "#;":
                continue
            if s[0] == "[":
                break
            try:
                name, voff = _read_key_name(s)
                if not name:
                    raise _Malformed(f"empty key name: {s.rstrip(_WS)!r}")
                value = _read_value(s[voff:], src)
            except _Malformed as e:
                raise self._parse_error(str(e), off, section) from None
            nested = value == ""
            if name != "-":
                keys[name.lower()] = value
        return keys

    def _section(self, section: str) -> dict[str, str] | None:
        """Merged keys of every ``[section]`` (own keys only), None if there is none."""
        if section in self._cache:
            return self._cache[section]
        result: dict[str, str] | None
        if self._full is None and not self._multiline:
            try:
                offsets = self._occurrences(section)
                result = None
                for off in offsets:
                    body = self._parse_body(off, section)
                    result = body if result is None else {**result, **body}
            except _NeedFullParse:
                self._full_parse()
                return self._section(section)
        else:
            result = self._full_parse().sections.get(section)
        self._cache[section] = result
        return result

    def _effective(self, section: str) -> dict[str, str] | None:
        """Keys of ``[section]`` plus those its dotted parent supplies (go-ini GetKey)."""
        if section in self._effective_cache:
            return self._effective_cache[section]
        own = self._section(section)
        result = own
        if own is not None:
            parent_name = section
            while True:
                dot = parent_name.rfind(".")
                if dot < 0:
                    break
                parent_name = parent_name[:dot]
                parent = self._effective(parent_name)
                if parent is not None:
                    result = {**parent, **own}
                    break
        self._effective_cache[section] = result
        return result

    # -- public ----------------------------------------------------------------------

    def _section_names(self) -> list[str]:
        """Every section name in file order, first occurrence only."""
        if self._full is None and not self._multiline:
            data = b"\n" + self._data  # so that a header on the first line is found too
            if b"\\" not in data or not _cont_before_header().search(data):
                # Headers in column 0: the regex has the literal prefix "\n[", so it skips
                # through the file at memchr speed; greedy [^\n]*] ends at the line's last ].
                found: list[bytes] = _col0_headers().findall(data)
                # If every '[' of the file is accounted for by those lines, there is no
                # indented header, no unclosed one, and no '[' anywhere else to doubt.
                if data.count(b"[") == len(found) + b"".join(found).count(b"["):
                    return _dec(b"\n".join(dict.fromkeys(found))).split("\n") if found else []
                names = self._careful_section_names(data)
                if names is not None:
                    return names
        return list(self._full_parse().order)

    def _careful_section_names(self, data: bytes) -> list[str] | None:
        names: list[str] = []
        seen: set[str] = set()
        for m in _header_scan().finditer(data):
            indent, rest = m.group(1), m.group(2)
            if indent[:1] in (b" ", b"\t"):
                return None  # may be a nested value: only a full parse can tell
            close = rest.rfind(b"]")
            if close < 0:
                raise self._parse_error(
                    f"unclosed section header {_dec(rest).rstrip(_WS)!r}", m.start(1) - 1, None
                )
            name = _dec(rest[:close])
            if name not in seen:
                seen.add(name)
                names.append(name)
        return names

    def profile_names(self) -> list[str]:
        """Profile names in file order; ``default`` included when ``[default]`` exists."""
        if self._names is None:
            names = [
                "default" if sec == "default" else sec[8:]
                for sec in self._section_names()
                if sec == "default" or sec.startswith("profile ")
            ]
            self._names = list(dict.fromkeys(names))
        return list(self._names)

    def has_profile(self, name: str) -> bool:
        if self._section("profile " + name) is not None:
            return True
        return name == "default" and self._section("default") is not None

    def resolve(self, name: str, environ: Mapping[str, str] | None = None) -> Profile:
        """The profile with its include chain, ``[default]``, env vars and source chain."""
        env: Mapping[str, str] = os.environ if environ is None else environ
        if name != "default" and not self.has_profile(name):
            raise UnknownProfileError(
                f"unknown profile '{name}' in {self.path}{self._suggest(name)}",
                path=self.path, profile=name,
            )
        return self._load_profile(name, env, name, [])

    def _profile_keys(self, name: str) -> dict[str, str] | None:
        return self._effective("default" if name == "default" else "profile " + name)

    def _missing(self, kind: str, target: str, referrer: str) -> MissingReferenceError:
        return MissingReferenceError(
            f"{kind} '{target}' of profile '{referrer}' not found in {self.path}"
            f"{self._suggest(target)}",
            path=self.path, profile=referrer,
        )

    def _load_profile(
        self, name: str, env: Mapping[str, str], active: str, via: list[str]
    ) -> Profile:
        if name in via:
            loop = [*via[via.index(name) :], name]
            raise ProfileLoopError(
                f"source_profile loop in {self.path}: {' -> '.join(loop)}",
                path=self.path, profile=via[0],
            )
        cfg: dict[str, str] = {}
        tags: tuple[tuple[str, str], ...] | None = None
        transitive: tuple[str, ...] | None = None
        duration: int | None = None
        raw: dict[str, str] = {}

        # 1. environment (aws-vault populateFromEnv runs before the file)
        region = env.get("AWS_REGION", "") or env.get("AWS_DEFAULT_REGION", "")
        for key, value in (
            ("region", region),
            ("sts_regional_endpoints", env.get("AWS_STS_REGIONAL_ENDPOINTS", "")),
            ("endpoint_url", env.get("AWS_ENDPOINT_URL", "")),
            ("mfa_serial", env.get("AWS_MFA_SERIAL", "")),
        ):
            if value:
                cfg[key] = value
        if name == active:
            for key, var in (
                ("role_arn", "AWS_ROLE_ARN"),
                ("role_session_name", "AWS_ROLE_SESSION_NAME"),
                ("source_identity", "AWS_SOURCE_IDENTITY"),
            ):
                if env.get(var, ""):
                    cfg[key] = env[var]
            if env.get("AWS_SESSION_TAGS", ""):
                tags = _parse_tags(env["AWS_SESSION_TAGS"])
                if tags is None:
                    raise InvalidValueError(
                        f"invalid $AWS_SESSION_TAGS {env['AWS_SESSION_TAGS']!r} for profile "
                        f"'{name}': expected key1=value1,key2=value2",
                        profile=name,
                    )
            if env.get("AWS_TRANSITIVE_TAGS", ""):
                transitive = _parse_transitive(env["AWS_TRANSITIVE_TAGS"]) or None

        # 2. the profile, its include_profile chain, then [default]
        visited: list[str] = []
        current: str | None = name
        implicit = False
        while current is not None:
            if current in visited:
                if implicit:  # anything reached through the [default] fallback
                    break
                loop = [*visited[visited.index(current) :], current]
                raise ProfileLoopError(
                    f"include_profile loop in {self.path}: {' -> '.join(loop)}",
                    path=self.path, profile=name,
                )
            keys = self._profile_keys(current)
            if keys is None:
                if current != "default":
                    raise self._missing("include_profile", current, visited[-1])
                keys = {}
            visited.append(current)
            for k, v in keys.items():
                if k not in raw or (v and not raw[k]):
                    raw[k] = v
            for key in _STRING_KEYS:
                if key not in cfg and keys.get(key):
                    cfg[key] = keys[key]
            dur_text = keys.get("duration_seconds", "")
            if dur_text:
                if not (dur_text.isdigit() and dur_text.isascii()):
                    raise InvalidValueError(
                        f"invalid duration_seconds {dur_text!r} for profile '{current}' in "
                        f"{self.path}: expected a whole number of seconds",
                        path=self.path, profile=current,
                    )
                if duration is None and int(dur_text) > 0:
                    duration = int(dur_text)
            sso_session = keys.get("sso_session", "")
            if "sso_session" not in cfg and sso_session:
                cfg["sso_session"] = sso_session
                sso = self._effective("sso-session " + sso_session)
                if sso is None:
                    raise self._missing("sso_session", sso_session, current)
                for key in ("sso_start_url", "sso_region", "sso_registration_scopes"):
                    value = sso.get(key, "")
                    raw[key] = value
                    if value:
                        cfg[key] = value
                    else:
                        cfg.pop(key, None)
            for key in _STRING_KEYS_AFTER_SSO:
                if key not in cfg and keys.get(key):
                    cfg[key] = keys[key]
            tag_text = keys.get("session_tags", "")
            if tag_text and tags is None:
                tags = _parse_tags(tag_text)
                if tags is None:
                    raise InvalidValueError(
                        f"invalid session_tags {tag_text!r} for profile '{current}' in "
                        f"{self.path}: expected key1=value1,key2=value2",
                        path=self.path, profile=current,
                    )
            trans_text = keys.get("transitive_session_tags", "")
            if trans_text and transitive is None:
                transitive = _parse_transitive(trans_text) or None
            include = keys.get("include_profile", "")
            if include:
                current = include
            elif current != "default":
                if self._profile_keys("default") is None:
                    break
                current, implicit = "default", True
            else:
                current = None

        # 3. a source_profile naming the profile itself marks a root
        source_name = cfg.get("source_profile")
        if source_name == name:
            source_name = None
        source: Profile | None = None
        if source_name is not None:
            if source_name != "default" and not self.has_profile(source_name):
                raise self._missing("source_profile", source_name, name)
            source = self._load_profile(source_name, env, active, [*via, name])

        def get(key: str) -> str | None:
            return cfg.get(key) or None

        return Profile(
            name=name,
            region=get("region"),
            role_arn=get("role_arn"),
            mfa_serial=get("mfa_serial"),
            mfa_process=get("mfa_process"),
            external_id=get("external_id"),
            role_session_name=get("role_session_name"),
            duration_seconds=duration,
            session_tags=tags or (),
            transitive_session_tags=transitive or (),
            source_identity=get("source_identity"),
            credential_process=get("credential_process"),
            sso_session=get("sso_session"),
            sso_start_url=get("sso_start_url"),
            sso_region=get("sso_region"),
            sso_account_id=get("sso_account_id"),
            sso_role_name=get("sso_role_name"),
            endpoint_url=get("endpoint_url"),
            sts_regional_endpoints=get("sts_regional_endpoints"),
            source_profile_name=source_name,
            source=source,
            raw=tuple(raw.items()),
        )

    # -- writing ---------------------------------------------------------------------

    def add_profile(self, name: str, values: Mapping[str, str]) -> None:
        """Append ``[profile NAME]`` (``[default]`` for default) with ``values`` unless
        the section exists; existing bytes are kept exactly.  Atomic replace; creates
        the file, and its directory with mode 0700, when absent.
        """
        _check_name(name, self.path)
        lines = [_check_pair(k, v, name, self.path) for k, v in values.items() if v != ""]
        target = Path(os.path.realpath(self.path))
        try:
            with open(target, "rb") as f:
                current = f.read()
        except FileNotFoundError:
            current = b""
        except OSError as e:
            msg = f"cannot read {self.path}: {e.strerror or e}"
            raise ConfigError(msg, path=self.path) from None
        self._load_bytes(current)
        section = "default" if name == "default" else "profile " + name
        if self._section(section) is not None:
            return
        nl = b"\r\n" if b"\r\n" in current else b"\n"
        out = bytearray(current)
        if out and not out.endswith(b"\n"):
            out += nl
        if out and not out.endswith(nl + nl) and out != nl:
            out += nl
        out += b"[" + section.encode("utf-8", "surrogateescape") + b"]" + nl
        for line in lines:
            out += line.encode("utf-8", "surrogateescape") + nl
        _atomic_write(target, bytes(out), self.path)
        self._load_bytes(bytes(out))


def _profile_of_section(section: str) -> str | None:
    if section == "default":
        return "default"
    if section.startswith("profile "):
        return section[8:]
    return None


def _check_name(name: str, path: Path) -> None:
    if not name or any(c in name for c in "\n\r") or name != name.strip(_WS):
        raise InvalidValueError(
            f"invalid profile name {name!r} for {path}: it must be non-empty, on one line, "
            "without leading or trailing spaces",
            path=path, profile=name,
        )


def _check_pair(key: str, value: str, profile: str, path: Path) -> str:
    bad_key = (
        not key
        or key != key.strip(_WS)
        or any(c in key for c in "=:\n\r[]#;\"`")
        or key == "-"
    )
    v = value
    bad_value = (
        any(c in v for c in "\n\r#;`")
        or v != v.strip(_WS)
        or v.endswith("\\")
        or _surrounded(v, "'")
        or _surrounded(v, '"')
        or v.startswith('"""')
    )
    if bad_key or bad_value:
        raise InvalidValueError(
            f"cannot write {key}={value!r} to profile '{profile}' in {path}: aws-vault would "
            "read it back differently",
            path=path, profile=profile,
        )
    return f"{key} = {value}"


def _atomic_write(target: Path, data: bytes, shown: Path) -> None:
    import contextlib
    import tempfile

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
