"""A minimal D-Bus client: just enough to read a secret from the Secret Service.

Why it exists: `shellvault env` runs on every shell switch, direnv load and SDK
`credential_process` call, and reading one item through `secretstorage` cost ~52 ms
of an ~85 ms run (importing it pulls jeepney, typing, enum and cryptography: ~30 ms;
`Item.get_secret()` opens a new Diffie-Hellman session per item: ~18 ms). This module
imports only `os`, `struct`, `time` and the C socket module, opens one connection,
one "plain" session, and reads an item in two round trips to the daemon.

Only the read path lives here. Writing, deleting and listing stay on `secretstorage`
(cold paths that need the collection API and its prompts); see `secretservice.py`.

What is supported: `unix:path=` and `unix:abstract=` addresses (a `;`-separated list is
tried in order; `$DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus`, else
`/run/user/$UID/bus`), SASL `EXTERNAL`, little-endian marshalling of every D-Bus type
except Unix file descriptors (the reader accepts either byte order), method calls and
their replies; signals and calls to us are read and dropped. Every socket operation
has a deadline (`TIMEOUT`, 5 s), so a hung daemon cannot hang a shell.

Security: why a "plain" session
-------------------------------
The Secret Service offers `dh-ietf1024-sha256-aes128-cbc-pkcs7` to encrypt secrets on
their way over the bus. It protects nothing shellvault has: the session bus is a Unix
socket that only our own user may connect to (the bus checks the peer's uid), and any
process of that user that could watch the bus can just as well ask the Secret Service
for the same unlocked item itself (the Secret Service API has no per-application access
control), read our memory, or read the `AWS_*` variables we print from the environment
of the shell that evaluates them. libsecret itself falls back to "plain" when the
daemon offers nothing else. The one thing the encryption would hide is the value in a
bus capture the user makes on purpose (`dbus-monitor`, `busctl capture`): do not share
such captures.

Measured cost of doing the DH exchange instead (Python 3.11, this machine): two 1024-bit
modular exponentiations in pure Python ~2.5 ms + ~3 ms, plus AES-CBC, which the standard
library lacks: importing `cryptography`'s cipher module ~10-25 ms (or a pure-Python AES).
That would give back most of what this module saves, for no protection, so we use "plain".
"""

from __future__ import annotations

import os
import struct
import time

try:  # the C module: `socket` adds ~5 ms of enum, selectors and IntEnum conversions
    import _socket as _net
except ImportError:  # pragma: no cover - interpreters without CPython's _socket
    import socket as _net  # type: ignore[no-redef]

TYPE_CHECKING = False  # mypy takes this name as True; typing is never imported at run time
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import TypeVar

    _T = TypeVar("_T")

__all__ = [
    "TIMEOUT",
    "Connection",
    "DBusError",
    "Disconnected",
    "Locked",
    "MethodError",
    "ProtocolError",
    "SecretService",
    "Unavailable",
    "bus_addresses",
    "marshal",
    "split_signature",
    "unmarshal",
]

TIMEOUT = 5.0  # seconds, for connecting and for each call
MAX_MESSAGE = 1 << 27  # 128 MiB, the specification's limit
MAX_ARRAY = 1 << 26  # 64 MiB

BUS = "org.freedesktop.DBus"
BUS_PATH = "/org/freedesktop/DBus"
PROPERTIES = "org.freedesktop.DBus.Properties"
SECRETS = "org.freedesktop.secrets"
SECRETS_PATH = "/org/freedesktop/secrets"
SECRET_SERVICE = "org.freedesktop.Secret.Service"
SECRET_COLLECTION = "org.freedesktop.Secret.Collection"
IS_LOCKED = "org.freedesktop.Secret.Error.IsLocked"

#: Error names that mean "the Secret Service is not there (any more)".
_GONE = (
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
    "org.freedesktop.DBus.Error.NoReply",
    "org.freedesktop.DBus.Error.TimedOut",
    "org.freedesktop.DBus.Error.Disconnected",
    "org.freedesktop.DBus.Error.Spawn.",
)


# --------------------------------------------------------------------------- errors


class DBusError(Exception):
    """Anything that went wrong talking to the bus (the message is one line)."""


class Unavailable(DBusError):
    """No session bus, it refused us, it timed out, or no Secret Service is on it."""


class NoAnswer(Unavailable):
    """A call got no reply before the deadline (a hung or stopped daemon)."""


class Disconnected(Unavailable):
    """An established connection broke (EOF, reset): a new one may work."""


class Locked(DBusError):
    """The item (or the default collection) is locked: unlock it first."""


class ProtocolError(DBusError):
    """Malformed data: a bad signature, a truncated or inconsistent message."""


class MethodError(DBusError):
    """The peer answered a call with an error message."""

    def __init__(self, name: str, message: str = "") -> None:
        line = " ".join(message.split())[:300]  # the peer's text, kept to one line
        super().__init__(f"{name}: {line}" if line else name)
        self.name = name
        self.message = message


# --------------------------------------------------------------------------- marshalling
#
# Values: y n q i u x t h -> int, b -> bool, d -> float, s o g -> str, ay -> bytes,
# other arrays -> list, a{kv} -> dict, structs -> tuple, v -> (signature, value).
# Alignment is counted from the start of the data given, which must therefore start at
# an offset that is a multiple of 8 in its message (true of a message and of its body).

_FIXED = {
    "y": "B",
    "b": "I",
    "n": "h",
    "q": "H",
    "i": "i",
    "u": "I",
    "x": "q",
    "t": "Q",
    "d": "d",
    "h": "I",
}
_SIZE = {"y": 1, "b": 4, "n": 2, "q": 2, "i": 4, "u": 4, "x": 8, "t": 8, "d": 8, "h": 4}
_ALIGN = {**_SIZE, "s": 4, "o": 4, "g": 1, "v": 1, "a": 4, "(": 8, "{": 8}
_BASIC = "ybnqiuxtdhsog"
_split_cache: dict[str, tuple[str, ...]] = {}


def split_signature(signature: str) -> tuple[str, ...]:
    """The complete types of a signature: ``"sa{sv}(ii)"`` -> ``("s", "a{sv}", "(ii)")``.
    Raises ProtocolError if it is not a valid D-Bus signature."""
    found = _split_cache.get(signature)
    if found is not None:
        return found
    if len(signature) > 255:
        raise ProtocolError("a D-Bus signature is at most 255 characters")
    types: list[str] = []
    i = 0
    while i < len(signature):
        end = _type_end(signature, i, 0, 0)
        types.append(signature[i:end])
        i = end
    found = tuple(types)
    if len(_split_cache) < 512:
        _split_cache[signature] = found
    return found


def _type_end(sig: str, i: int, arrays: int, structs: int) -> int:
    """The index just after the complete type that starts at ``sig[i]``."""
    if i >= len(sig):
        raise ProtocolError(f"incomplete D-Bus signature {sig!r}")
    c = sig[i]
    if c in _SIZE or c in "sogv":
        return i + 1
    if c == "a":
        if arrays >= 32:
            raise ProtocolError(f"arrays nested too deeply in {sig!r}")
        if sig[i + 1 : i + 2] == "{":
            if structs >= 32 or i + 2 >= len(sig) or sig[i + 2] not in _BASIC:
                raise ProtocolError(f"bad dict entry in D-Bus signature {sig!r}")
            end = _type_end(sig, i + 3, arrays + 1, structs + 1)
            if sig[end : end + 1] != "}":
                raise ProtocolError(f"bad dict entry in D-Bus signature {sig!r}")
            return end + 1
        return _type_end(sig, i + 1, arrays + 1, structs)
    if c == "(":
        if structs >= 32:
            raise ProtocolError(f"structs nested too deeply in {sig!r}")
        j = i + 1
        if sig[j : j + 1] == ")":
            raise ProtocolError(f"empty struct in D-Bus signature {sig!r}")
        while sig[j : j + 1] != ")":
            j = _type_end(sig, j, arrays, structs + 1)
        return j + 1
    raise ProtocolError(f"bad D-Bus signature {sig!r}")


def marshal(signature: str, values: Sequence[object], endian: str = "<") -> bytes:
    """Serialise ``values`` (one per complete type of ``signature``); ``endian`` is
    ``"<"`` (little, what we send) or ``">"``."""
    types = split_signature(signature)
    if len(types) != len(values):
        raise ValueError(f"{len(values)} values for signature {signature!r}")
    buf = bytearray()
    for t, value in zip(types, values, strict=True):
        _put(buf, t, value, endian)
    return bytes(buf)


def _pad(buf: bytearray, alignment: int) -> None:
    buf += b"\0" * (-len(buf) % alignment)


def _put_text(buf: bytearray, value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"D-Bus {what} must be str, not {type(value).__name__}")
    raw = value.encode()
    if b"\0" in raw:
        raise ValueError(f"a D-Bus {what} cannot contain NUL")
    return raw


def _valid_path(path: str) -> bool:
    if path == "/":
        return True
    if not path.startswith("/") or path.endswith("/"):
        return False
    return all(
        part and part.isascii() and part.replace("_", "a").isalnum() for part in path[1:].split("/")
    )


def _put(buf: bytearray, t: str, value: object, e: str) -> None:
    c = t[0]
    _pad(buf, _ALIGN[c])
    if c in _FIXED:
        if c == "b":
            value = 1 if value else 0
        elif c == "d":
            if not isinstance(value, (int, float)):
                raise TypeError(f"D-Bus double must be a number, not {type(value).__name__}")
        elif not isinstance(value, int):
            raise TypeError(f"D-Bus {c!r} must be int, not {type(value).__name__}")
        try:
            buf += struct.pack(e + _FIXED[c], value)
        except struct.error as exc:
            raise ValueError(f"{value!r} does not fit D-Bus type {c!r}: {exc}") from None
    elif c == "s" or c == "o":
        raw = _put_text(buf, value, "string" if c == "s" else "object path")
        if c == "o" and not _valid_path(raw.decode()):
            raise ValueError(f"{value!r} is not a D-Bus object path")
        buf += struct.pack(e + "I", len(raw))
        buf += raw
        buf.append(0)
    elif c == "g":
        raw = _put_text(buf, value, "signature")
        split_signature(raw.decode())
        buf.append(len(raw))
        buf += raw
        buf.append(0)
    elif c == "v":
        if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str)):
            raise TypeError("a D-Bus variant is a (signature, value) tuple")
        inner, data = value
        if len(split_signature(inner)) != 1:
            raise ValueError(f"a variant holds one complete type, not {inner!r}")
        _put(buf, "g", inner, e)
        _put(buf, inner, data, e)
    elif c == "(":
        fields = split_signature(t[1:-1])
        if not isinstance(value, (tuple, list)) or len(value) != len(fields):
            raise TypeError(f"D-Bus struct {t} needs a tuple of {len(fields)} values")
        for field, item in zip(fields, value, strict=True):
            _put(buf, field, item, e)
    else:  # "a"
        elem = t[1:]
        at = len(buf)
        buf += b"\0\0\0\0"
        _pad(buf, _ALIGN[elem[0]])  # present even when the array is empty
        start = len(buf)
        if elem == "y":
            if not isinstance(value, (bytes, bytearray, memoryview)):
                raise TypeError("D-Bus byte arrays are bytes")
            buf += value
        elif elem[0] == "{":
            if not isinstance(value, dict):
                raise TypeError(f"D-Bus {t} needs a dict")
            key_type, value_type = elem[1], elem[2:-1]
            for key, item in value.items():
                _pad(buf, 8)
                _put(buf, key_type, key, e)
                _put(buf, value_type, item, e)
        else:
            if not isinstance(value, (list, tuple)):
                raise TypeError(f"D-Bus {t} needs a list")
            for item in value:
                _put(buf, elem, item, e)
        size = len(buf) - start
        if size > MAX_ARRAY:
            raise ValueError("a D-Bus array is at most 64 MiB")
        struct.pack_into(e + "I", buf, at, size)


def unmarshal(signature: str, data: bytes, endian: str = "<") -> tuple[object, ...]:
    """Parse all of ``data`` as ``signature``'s values. Raises ProtocolError on malformed
    data, including bytes left over."""
    values, end = _get_all(signature, data, 0, endian)
    if end != len(data):
        raise ProtocolError(f"{len(data) - end} bytes left over after {signature!r}")
    return values


def _get_all(signature: str, data: bytes, pos: int, e: str) -> tuple[tuple[object, ...], int]:
    values = []
    for t in split_signature(signature):
        value, pos = _get(data, pos, t, e, 0)
        values.append(value)
    return tuple(values), pos


def _text(data: bytes, pos: int, size: int) -> str:
    end = pos + size
    if end >= len(data) or data[end] != 0:
        raise ProtocolError("a D-Bus string is truncated or not NUL-terminated")
    raw = data[pos:end]
    if b"\0" in raw:
        raise ProtocolError("a D-Bus string contains NUL")
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise ProtocolError("a D-Bus string is not UTF-8") from None


def _get(data: bytes, pos: int, t: str, e: str, depth: int) -> tuple[object, int]:
    c = t[0]
    pos += -pos % _ALIGN[c]
    if pos > len(data):
        raise ProtocolError("D-Bus data is truncated")
    try:
        if c in _FIXED:
            (value,) = struct.unpack_from(e + _FIXED[c], data, pos)
            if c == "b":
                if value > 1:
                    raise ProtocolError(f"D-Bus boolean {value} is not 0 or 1")
                value = value == 1
            return value, pos + _SIZE[c]
        if c == "s" or c == "o":
            (size,) = struct.unpack_from(e + "I", data, pos)
            return _text(data, pos + 4, size), pos + 5 + size
        if c == "g":
            size = data[pos]
            sig = _text(data, pos + 1, size)
            split_signature(sig)
            return sig, pos + 2 + size
        if c == "v":
            if depth >= 64:
                raise ProtocolError("D-Bus variants nested too deeply")
            size = data[pos]
            inner = _text(data, pos + 1, size)
            if len(split_signature(inner)) != 1:
                raise ProtocolError(f"a variant holds one complete type, not {inner!r}")
            value, pos = _get(data, pos + 2 + size, inner, e, depth + 1)
            return (inner, value), pos
        if c == "(":
            fields = []
            for field in split_signature(t[1:-1]):
                value, pos = _get(data, pos, field, e, depth)
                fields.append(value)
            return tuple(fields), pos
        # "a"
        (size,) = struct.unpack_from(e + "I", data, pos)
        if size > MAX_ARRAY:
            raise ProtocolError("a D-Bus array is longer than 64 MiB")
        elem = t[1:]
        pos += 4
        pos += -pos % _ALIGN[elem[0]]
        end = pos + size
        if end > len(data):
            raise ProtocolError("a D-Bus array is truncated")
        if elem == "y":
            return bytes(data[pos:end]), end
        if elem[0] == "{":
            key_type, value_type = elem[1], elem[2:-1]
            mapping: dict[object, object] = {}
            while pos < end:
                pos += -pos % 8
                key, pos = _get(data, pos, key_type, e, depth)
                mapping[key], pos = _get(data, pos, value_type, e, depth)
            items: object = mapping
        else:
            elements = []
            while pos < end:
                value, pos = _get(data, pos, elem, e, depth)
                elements.append(value)
            items = elements
        if pos != end:
            raise ProtocolError("a D-Bus array's elements overrun its length")
        return items, end
    except (struct.error, IndexError):
        raise ProtocolError("D-Bus data is truncated") from None


# --------------------------------------------------------------------------- messages

_METHOD_CALL, _METHOD_RETURN, _ERROR, _SIGNAL = 1, 2, 3, 4
_PATH, _INTERFACE, _MEMBER, _ERROR_NAME, _REPLY_SERIAL = 1, 2, 3, 4, 5
_DESTINATION, _SIGNATURE = 6, 8


def method_call(
    serial: int,
    destination: str,
    path: str,
    interface: str,
    member: str,
    signature: str = "",
    args: Sequence[object] = (),
) -> bytes:
    """One complete METHOD_CALL message, little endian."""
    body = marshal(signature, args)
    fields: list[tuple[int, tuple[str, str]]] = [
        (_PATH, ("o", path)),
        (_INTERFACE, ("s", interface)),
        (_MEMBER, ("s", member)),
        (_DESTINATION, ("s", destination)),
    ]
    if signature:
        fields.append((_SIGNATURE, ("g", signature)))
    header = marshal("yyyyuua(yv)", (ord("l"), _METHOD_CALL, 0, 1, len(body), serial, fields))
    return header + b"\0" * (-len(header) % 8) + body


def bus_addresses(environ: Mapping[str, str] = os.environ) -> list[tuple[str, str | bytes]]:
    """The session bus's ``(address as written, what to connect to)`` pairs, in order.

    ``$DBUS_SESSION_BUS_ADDRESS`` (``unix:path=`` and ``unix:abstract=`` entries; other
    transports are skipped), else ``$XDG_RUNTIME_DIR/bus`` and ``/run/user/$UID/bus``."""
    value = environ.get("DBUS_SESSION_BUS_ADDRESS", "").strip()
    if not value:
        paths = [f"/run/user/{os.getuid()}/bus"]
        runtime = environ.get("XDG_RUNTIME_DIR")
        if runtime and os.path.join(runtime, "bus") != paths[0]:
            paths.insert(0, os.path.join(runtime, "bus"))
        return [(f"unix:path={p}", p) for p in paths]
    found: list[tuple[str, str | bytes]] = []
    for address in value.split(";"):
        transport, _, rest = address.partition(":")
        if transport != "unix":
            continue
        keys: dict[str, bytes] = {}
        for pair in rest.split(","):
            key, sep, raw = pair.partition("=")
            if sep:
                keys[key] = _unescape(raw)
        if "path" in keys:
            found.append((address, os.fsdecode(keys["path"])))
        elif "abstract" in keys:
            found.append((address, b"\0" + keys["abstract"]))
    return found


def _unescape(value: str) -> bytes:
    """D-Bus address values escape bytes as ``%hh``."""
    raw = value.encode()
    if b"%" not in raw:
        return raw
    out = bytearray()
    i = 0
    while i < len(raw):
        pair = raw[i + 1 : i + 3]
        if raw[i] == 0x25 and len(pair) == 2 and all(c in b"0123456789abcdefABCDEF" for c in pair):
            out.append(int(pair, 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return bytes(out)


# --------------------------------------------------------------------------- connection


class Connection:
    """A connection to the session bus (or to ``address``), authenticated and greeted
    with ``Hello``. Not thread-safe; after a fork, open a new one."""

    def __init__(self, address: str | None = None, timeout: float = TIMEOUT) -> None:
        self.timeout = timeout
        self._sock: _net.socket | None = None
        self._buf = bytearray()
        self._serial = 0
        self._waiting: set[int] = set()
        self._replies: dict[int, tuple[str | None, tuple[object, ...]]] = {}
        environ = os.environ if address is None else {"DBUS_SESSION_BUS_ADDRESS": address}
        candidates = bus_addresses(environ)
        if not candidates:
            raise Unavailable("no unix: address in DBUS_SESSION_BUS_ADDRESS")
        deadline = time.monotonic() + timeout
        problem = ""
        for shown, target in candidates:
            self._buf = bytearray()
            try:
                self._sock = self._authenticate(target, deadline)
                break
            except Unavailable as exc:
                problem = f"{shown.split(',')[0]}: {exc}"
        else:
            raise Unavailable(f"cannot connect to the D-Bus session bus at {problem}")
        # Pipelined: the bus handles BEGIN, Hello and whatever follows in order; the
        # reply to Hello (our unique name) is read and dropped with the first call.
        self._begin = True
        self.send(BUS, BUS_PATH, BUS, "Hello")
        self._waiting.discard(self._serial)

    def _authenticate(self, target: str | bytes, deadline: float) -> _net.socket:
        sock = _net.socket(_net.AF_UNIX, _net.SOCK_STREAM)
        self._sock = sock
        try:
            self._settimeout(deadline)
            sock.connect(target)
            uid = str(os.getuid()).encode().hex().encode()
            sock.sendall(b"\0AUTH EXTERNAL " + uid + b"\r\n")
            line = self._read_line(deadline)
        except OSError as exc:
            sock.close()
            raise Unavailable(_why(exc)) from None
        except DBusError as exc:
            sock.close()
            raise Unavailable(str(exc)) from None
        if not line.startswith(b"OK "):
            sock.close()
            raise Unavailable("the bus refused EXTERNAL authentication")
        return sock

    def _settimeout(self, deadline: float) -> None:
        assert self._sock is not None
        left = deadline - time.monotonic()
        if left <= 0:
            raise NoAnswer(f"no answer from the D-Bus session bus in {self.timeout:g} s")
        self._sock.settimeout(left)

    def _fill(self, deadline: float) -> None:
        """Read more bytes into the buffer (at least one) before ``deadline``."""
        if self._sock is None:
            raise Disconnected("the D-Bus connection is closed")
        self._settimeout(deadline)
        try:
            chunk = self._sock.recv(65536)
        except TimeoutError:
            raise NoAnswer(
                f"no answer from the D-Bus session bus in {self.timeout:g} s"
            ) from None
        except OSError as exc:
            self.close()
            raise Disconnected(_why(exc)) from None
        if not chunk:
            self.close()
            raise Disconnected("the D-Bus session bus closed the connection")
        self._buf += chunk

    def _read_line(self, deadline: float) -> bytes:
        while b"\r\n" not in self._buf:
            if len(self._buf) > 16384:
                raise ProtocolError("the bus sent an overlong authentication line")
            self._fill(deadline)
        line, _, rest = bytes(self._buf).partition(b"\r\n")
        self._buf = bytearray(rest)
        return line

    def _read_exact(self, size: int, deadline: float) -> bytes:
        while len(self._buf) < size:
            self._fill(deadline)
        data = bytes(self._buf[:size])
        del self._buf[:size]
        return data

    def send(
        self,
        destination: str,
        path: str,
        interface: str,
        member: str,
        signature: str = "",
        args: Sequence[object] = (),
    ) -> int:
        """Send a method call without waiting; returns its serial for ``reply``."""
        if self._sock is None:
            raise Disconnected("the D-Bus connection is closed")
        self._serial += 1
        message = method_call(self._serial, destination, path, interface, member, signature, args)
        if self._begin:
            message = b"BEGIN\r\n" + message
            self._begin = False
        try:
            self._settimeout(time.monotonic() + self.timeout)
            self._sock.sendall(message)
        except TimeoutError:
            self.close()
            raise Unavailable(
                f"the D-Bus session bus took no data for {self.timeout:g} s"
            ) from None
        except OSError as exc:
            self.close()
            raise Disconnected(_why(exc)) from None
        self._waiting.add(self._serial)
        return self._serial

    def reply(self, serial: int) -> tuple[object, ...]:
        """The body of the reply to ``serial``; MethodError if it is an error."""
        deadline = time.monotonic() + self.timeout
        while serial not in self._replies:
            if serial not in self._waiting:
                raise ValueError(f"no call with serial {serial} is waiting for a reply")
            self._read_message(deadline)
        self._waiting.discard(serial)
        error, body = self._replies.pop(serial)
        if error is not None:
            text = body[0] if body and isinstance(body[0], str) else ""
            raise MethodError(error, text)
        return body

    def call(
        self,
        destination: str,
        path: str,
        interface: str,
        member: str,
        signature: str = "",
        args: Sequence[object] = (),
    ) -> tuple[object, ...]:
        """Call a method and wait for its reply's body."""
        return self.reply(self.send(destination, path, interface, member, signature, args))

    def call_many(
        self, calls: Sequence[tuple[str, str, str, str, str, Sequence[object]]]
    ) -> list[tuple[object, ...]]:
        """Send all calls at once, then collect their replies in order (one round trip).
        Every reply is read even if one is an error; the first error is raised."""
        serials = [self.send(*c) for c in calls]
        bodies: list[tuple[object, ...]] = []
        failed: MethodError | None = None
        for serial in serials:
            try:
                bodies.append(self.reply(serial))
            except MethodError as exc:
                failed = failed or exc
                bodies.append(())
        if failed is not None:
            raise failed
        return bodies

    def _read_message(self, deadline: float) -> None:
        head = self._read_exact(16, deadline)
        if head[0:1] == b"l":
            e = "<"
        elif head[0:1] == b"B":
            e = ">"
        else:
            self.close()
            raise ProtocolError(f"bad D-Bus byte order mark {head[0:1]!r}")
        kind = head[1]
        body_size, _serial, fields_size = struct.unpack_from(e + "III", head, 4)
        body_start = 16 + fields_size + (-(16 + fields_size) % 8)
        if head[3] != 1 or body_start + body_size > MAX_MESSAGE:
            self.close()
            raise ProtocolError("unsupported or oversized D-Bus message")
        data = head + self._read_exact(body_start + body_size - 16, deadline)
        if kind not in (_METHOD_RETURN, _ERROR):
            return  # signals (NameAcquired...) and calls to us are not our business
        try:  # parsed in place: alignment counts from the start of the message
            raw_fields, end = _get(data, 12, "a(yv)", e, 0)
            if end != 16 + fields_size:
                raise ProtocolError("bad D-Bus header fields")
        except ProtocolError:
            self.close()
            raise
        fields: dict[object, object] = {}
        for field in raw_fields if isinstance(raw_fields, list) else ():
            if isinstance(field, tuple) and isinstance(field[1], tuple):
                fields[field[0]] = field[1][1]
        replying_to = fields.get(_REPLY_SERIAL)
        if not isinstance(replying_to, int) or replying_to not in self._waiting:
            return
        signature = fields.get(_SIGNATURE, "")
        body = unmarshal(signature if isinstance(signature, str) else "", data[body_start:], e)
        error: str | None = None
        if kind == _ERROR:
            name = fields.get(_ERROR_NAME)
            error = name if isinstance(name, str) else "(unnamed D-Bus error)"
        self._replies[replying_to] = (error, body)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    @property
    def closed(self) -> bool:
        return self._sock is None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _why(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return exc.strerror or exc.__class__.__name__


# --------------------------------------------------------------------------- Secret Service


class SecretService:
    """Reads items of the Secret Service's default collection over one connection and
    one "plain" session (see the module docstring for why plain)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._session: str | None = None
        self._default: str | None = None

    @classmethod
    def connect(cls, address: str | None = None, timeout: float = TIMEOUT) -> SecretService:
        return cls(Connection(address, timeout))

    def close(self) -> None:
        self.connection.close()

    def available(self) -> bool:
        """True if the Secret Service runs on the bus or the bus can start it."""
        (owned,) = self.connection.call(BUS, BUS_PATH, BUS, "NameHasOwner", "s", (SECRETS,))
        if owned is True:
            return True
        (names,) = self.connection.call(BUS, BUS_PATH, BUS, "ListActivatableNames")
        return isinstance(names, list) and SECRETS in names

    def get_secret(self, attributes: Mapping[str, str]) -> bytes | None:
        """The secret of the first item of the default collection whose attributes
        include ``attributes``; None if there is none. Raises Locked if the matching
        item (or, when nothing matches, the default collection) is locked, Unavailable if
        no Secret Service answers, and other DBusErrors for anything else."""
        try:
            return self._get_secret(dict(attributes))
        except MethodError as exc:
            if exc.name == IS_LOCKED:
                raise Locked("the item is locked") from None
            if exc.name.startswith(_GONE):
                raise Unavailable(f"no Secret Service on the session bus ({exc.name})") from None
            raise

    def _get_secret(self, attributes: dict[str, str]) -> bytes | None:
        calls: list[tuple[str, str, str, str, str, Sequence[object]]] = []
        if self._session is None:
            calls.append(
                (SECRETS, SECRETS_PATH, SECRET_SERVICE, "OpenSession", "sv", ("plain", ("s", "")))
            )
        if self._default is None:
            calls.append((SECRETS, SECRETS_PATH, SECRET_SERVICE, "ReadAlias", "s", ("default",)))
        calls.append((SECRETS, SECRETS_PATH, SECRET_SERVICE, "SearchItems", "a{ss}", (attributes,)))
        replies = self.connection.call_many(calls)
        if self._session is None:
            session = _arg(replies.pop(0), 1, str)
            self._session = session
        if self._default is None:
            self._default = _arg(replies.pop(0), 0, str)
        unlocked = _arg(replies[0], 0, list)
        locked = _arg(replies[0], 1, list)
        default = self._default
        mine = [p for p in unlocked if isinstance(p, str) and p.startswith(default + "/")]
        if mine:
            item = mine[0]
            (found,) = self.connection.call(
                SECRETS, SECRETS_PATH, SECRET_SERVICE, "GetSecrets", "aoo", ([item], self._session)
            )
            if not isinstance(found, dict):
                raise ProtocolError("GetSecrets did not answer a{o(oayays)}")
            secret = found.get(item)
            if secret is not None:
                return _arg(secret, 2, bytes)
            # Locked or deleted (another process's `clear`) in between: the Secret
            # Service skips both, so ask the collection which it was.
        elif any(isinstance(p, str) and p.startswith(default + "/") for p in locked):
            raise Locked("the item is locked")
        if default == "/":
            return None  # no default collection: nothing was ever stored
        # A miss: say "locked" rather than "absent" if the collection is locked (a
        # Secret Service may hide a locked collection's items from searches).
        (flag,) = self.connection.call(
            SECRETS, default, PROPERTIES, "Get", "ss", (SECRET_COLLECTION, "Locked")
        )
        if flag == ("b", True):
            raise Locked("the default collection is locked")
        return None


def _arg(body: object, index: int, kind: type[_T]) -> _T:
    """``body[index]``, checked to be a ``kind`` (the peer's reply is not trusted)."""
    if isinstance(body, tuple) and index < len(body) and isinstance(body[index], kind):
        value: _T = body[index]
        return value
    raise ProtocolError(f"unexpected reply from the Secret Service: {body!r:.100}")
