"""shellvault/dbus.py: the stdlib-only D-Bus reader of the Secret Service.

Against the real gnome-keyring of the ``secret_service`` fixture: what `keyring` and
`secretstorage` write is read back byte-exact, misses, locked items, the default
collection only. Against fake buses (a socket that never answers, a scripted bus built
with jeepney): timeouts, refused authentication, interleaved signals, big-endian
replies, errors. And the marshaller: hypothesis round trips, byte-identical to jeepney's.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import secretstorage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jeepney.low_level import Endianness, Header, Message, MessageType, Parser, parse_signature
from jeepney.wrappers import DBusAddress, new_error, new_method_call, new_method_return, new_signal

from shellvault import dbus
from shellvault.errors import VaultError
from shellvault.secretservice import KEYRING_APPID, SERVICE, SecretServiceStore, VaultLocked
from tests.conftest import REPO_ROOT, require_program
from tests.world import (
    clear_default_collection,
    lock_default_collection,
    secret_service_connection,
    unlock_default_collection,
)

# --------------------------------------------------------------------------- helpers


def _address(env: dict[str, str]) -> str:
    return env["DBUS_SESSION_BUS_ADDRESS"]


def _write(env: dict[str, str], name: str, secret: bytes, collection: str | None = None) -> None:
    """Store an item the way keyring's SecretService backend does (its attributes)."""
    attributes = {"application": KEYRING_APPID, "service": SERVICE, "username": name}
    with secret_service_connection(env) as conn:
        if collection is None:
            target = secretstorage.get_default_collection(conn)
        else:
            target = secretstorage.Collection(conn, collection)
        target.create_item(f"test {name}", attributes, secret, replace=True)


@pytest.fixture
def keyring_env(
    secret_service: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """The private Secret Service, its default collection emptied and unlocked, and this
    process's DBUS_SESSION_BUS_ADDRESS pointing at it (for SecretServiceStore)."""
    clear_default_collection(secret_service)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", _address(secret_service))
    yield secret_service
    unlock_default_collection(secret_service)


@pytest.fixture
def reader(keyring_env: dict[str, str]) -> Iterator[dbus.SecretService]:
    service = dbus.SecretService.connect(_address(keyring_env))
    yield service
    service.close()


@contextlib.contextmanager
def locked(env: dict[str, str]) -> Iterator[None]:
    lock_default_collection(env)
    try:
        yield
    finally:
        unlock_default_collection(env)


def _attrs(name: str) -> dict[str, str]:
    return {"service": SERVICE, "username": name}


# ------------------------------------------------------------------------ the real Secret Service

SECRETS = [
    pytest.param(b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", id="ascii"),
    pytest.param("pässwörd ✓ 鍵 🔑\n\ttabs and 'quotes\"".encode(), id="non-ascii"),
    pytest.param(b"", id="empty"),
    pytest.param(os.urandom(3 * 1024 * 1024 + 7), id="3MiB-binary"),
]


@pytest.mark.parametrize("secret", SECRETS)
def test_reads_what_secretstorage_wrote_byte_exact(
    keyring_env: dict[str, str], reader: dbus.SecretService, secret: bytes
) -> None:
    _write(keyring_env, "item", secret)
    assert reader.get_secret(_attrs("item")) == secret
    assert reader.get_secret(_attrs("item")) == secret  # the session is reused


def test_reads_what_the_keyring_package_wrote(
    keyring_env: dict[str, str], reader: dbus.SecretService
) -> None:
    import keyring.backends.SecretService

    backend: Any = keyring.backends.SecretService.Keyring
    value = "session JSON ✓ " + "x" * 5000
    backend().set_password(SERVICE, "session:abc", value)
    assert reader.get_secret(_attrs("session:abc")) == value.encode()
    store = SecretServiceStore()
    assert store.get("session:abc") == value


def test_store_round_trip_set_by_secretstorage_read_by_dbus(keyring_env: dict[str, str]) -> None:
    store = SecretServiceStore()
    assert SecretServiceStore.usable() is None
    assert store.get("master:central") is None
    store.set("master:central", '{"key": "ä"}')
    assert store.get("master:central") == '{"key": "ä"}'
    store.set("master:central", "replaced")
    assert store.get("master:central") == "replaced"
    assert store.names() == ["master:central"]
    assert store.delete("master:central")
    assert store.get("master:central") is None


def test_missing_item_is_none(keyring_env: dict[str, str], reader: dbus.SecretService) -> None:
    _write(keyring_env, "present", b"x")
    assert reader.get_secret(_attrs("absent")) is None
    assert reader.get_secret({"service": "not-shellvault", "username": "present"}) is None


def test_only_the_default_collection_is_read(
    keyring_env: dict[str, str], reader: dbus.SecretService
) -> None:
    """keyring and secretstorage read the default collection only; so do we. gnome-keyring's
    in-memory "session" collection holds an item with the same attributes."""
    _write(keyring_env, "elsewhere", b"not ours", "/org/freedesktop/secrets/collection/session")
    assert reader.get_secret(_attrs("elsewhere")) is None
    _write(keyring_env, "elsewhere", b"ours")
    assert reader.get_secret(_attrs("elsewhere")) == b"ours"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(secret=st.binary(max_size=2048))
def test_any_bytes_round_trip_through_gnome_keyring(
    keyring_env: dict[str, str], reader: dbus.SecretService, secret: bytes
) -> None:
    _write(keyring_env, "fuzz", secret)
    assert reader.get_secret(_attrs("fuzz")) == secret


def test_locked_collection_is_reported_as_locked(
    keyring_env: dict[str, str], reader: dbus.SecretService
) -> None:
    _write(keyring_env, "item", b"secret")
    assert reader.get_secret(_attrs("item")) == b"secret"
    with locked(keyring_env):
        with pytest.raises(dbus.Locked):
            reader.get_secret(_attrs("item"))
        with pytest.raises(dbus.Locked):  # a miss in a locked collection is "locked" too
            reader.get_secret(_attrs("absent"))
        with pytest.raises(VaultLocked) as caught:
            SecretServiceStore().get("item")
        message = str(caught.value)
        assert "locked" in message and "SHELLVAULT_BACKEND=file" in message
        assert "\n" not in message
    assert reader.get_secret(_attrs("item")) == b"secret"  # the same connection, unlocked


def test_usable_and_get_share_one_connection(keyring_env: dict[str, str]) -> None:
    from shellvault import secretservice

    assert SecretServiceStore.usable() is None
    first = secretservice._secret_service()
    SecretServiceStore().get("anything")
    assert secretservice._secret_service() is first
    assert not first.connection.closed


def test_hot_path_imports_nothing_heavy(keyring_env: dict[str, str]) -> None:
    """In a fresh interpreter: usable() + get() on the real Secret Service import neither
    secretstorage nor jeepney, cryptography, typing, socket or enum."""
    _write(keyring_env, "hot", b"value")
    code = (
        "import sys\n"
        "at_start = set(sys.modules)\n"
        "from shellvault.secretservice import SecretServiceStore\n"
        "assert SecretServiceStore.usable() is None\n"
        "print(SecretServiceStore().get('hot'))\n"
        "heavy = ('secretstorage', 'jeepney', 'cryptography', 'typing', 'socket', 'enum',\n"
        "         'keyring', 'selectors', 'collections', 'functools', 're')\n"
        "print(sorted(m for m in heavy if m in set(sys.modules) - at_start))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
        env={"PATH": os.environ.get("PATH", ""), "DBUS_SESSION_BUS_ADDRESS": _address(keyring_env)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["value", "[]"]


# --------------------------------------------------------------------------- no bus, wrong bus


@pytest.mark.parametrize(
    "address",
    [
        "unix:path=/nonexistent/shellvault-test-bus",
        "unix:abstract=shellvault-test-no-such-bus",
        "tcp:host=127.0.0.1,port=1",
        "unix:path=/nonexistent/a;unix:abstract=shellvault-test-b",
        "garbage",
    ],
)
def test_bogus_bus_address_is_unavailable_fast(address: str) -> None:
    # Fast: refused on the spot (no address, no socket, refused), never by sitting out a
    # deadline ("no answer"); pytest's timeout bounds a hang.
    with pytest.raises(dbus.Unavailable) as caught:
        dbus.SecretService.connect(address)
    text = str(caught.value)
    assert text.startswith(("cannot connect to the D-Bus session bus at ",
                            "no unix: address in DBUS_SESSION_BUS_ADDRESS")), text
    assert "no answer" not in text and "\n" not in text


def test_store_on_a_bogus_bus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
    reason = SecretServiceStore.usable()
    assert reason is not None and "/nonexistent/bus" in reason
    with pytest.raises(VaultError) as caught:
        SecretServiceStore().get("x")
    assert not isinstance(caught.value, VaultLocked)
    assert "not available" in str(caught.value)


def test_default_address_is_the_runtime_dir_bus(
    keyring_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No DBUS_SESSION_BUS_ADDRESS: $XDG_RUNTIME_DIR/bus (here a link to the test bus)."""
    address = _address(keyring_env)
    if not address.startswith("unix:path="):
        pytest.skip(f"the test bus is not a path socket: {address}")
    (tmp_path / "bus").symlink_to(address[len("unix:path=") :].split(",")[0])
    _write(keyring_env, "via-default", b"found")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert SecretServiceStore.usable() is None
    assert SecretServiceStore().get("via-default") == "found"


def test_no_bus_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if os.path.exists(f"/run/user/{os.getuid()}/bus"):
        pytest.skip("this machine has a session bus at /run/user/$UID/bus")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert SecretServiceStore.usable() == "no D-Bus session bus"
    with pytest.raises(dbus.Unavailable):
        dbus.Connection()


def test_second_address_is_tried(secret_service: dict[str, str]) -> None:
    address = "unix:path=/nonexistent/bus;" + _address(secret_service)
    with dbus.SecretService.connect(address).connection as conn:
        assert conn.call(dbus.BUS, dbus.BUS_PATH, dbus.BUS, "GetId") != ()


@pytest.fixture
def empty_bus(tmp_path: Path) -> Iterator[str]:
    """A dbus-daemon of our own with no service files: no Secret Service, not even
    an activatable one."""
    program = require_program("dbus-daemon")
    config = tmp_path / "bus.conf"
    config.write_text(
        '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"\n'
        ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
        "<busconfig><type>session</type>"
        f"<listen>unix:path={tmp_path}/bus</listen><auth>EXTERNAL</auth>"
        '<policy context="default"><allow send_destination="*"/><allow own="*"/>'
        '<allow receive_sender="*"/></policy>'
        "</busconfig>\n"
    )
    proc = subprocess.Popen(
        [program, f"--config-file={config}", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        address = proc.stdout.readline().decode().strip()
        assert address.startswith("unix:"), address
        yield address
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_bus_without_a_secret_service(empty_bus: str, monkeypatch: pytest.MonkeyPatch) -> None:
    reader = dbus.SecretService.connect(empty_bus)
    assert reader.available() is False
    with pytest.raises(dbus.Unavailable) as caught:
        reader.get_secret(_attrs("x"))
    assert "ServiceUnknown" in str(caught.value)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", empty_bus)
    assert SecretServiceStore.usable() == "no Secret Service daemon on the session bus"
    with pytest.raises(VaultError, match="not available"):
        SecretServiceStore().get("x")


def test_abstract_address(empty_bus: str, tmp_path: Path) -> None:
    """Relay an abstract socket to the test bus: ``unix:abstract=`` really connects."""
    name = f"shellvault-test-{os.getpid()}-{time.monotonic_ns()}"
    relay = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    relay.bind("\0" + name)
    relay.listen(1)
    target = empty_bus.split("path=", 1)[1].split(",")[0]

    def pump(a: socket.socket, b: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := a.recv(65536):
                b.sendall(chunk)
        with contextlib.suppress(OSError):
            b.shutdown(socket.SHUT_WR)

    def serve() -> None:
        client, _ = relay.accept()
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.connect(target)
        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
        pump(client, upstream)

    threading.Thread(target=serve, daemon=True).start()
    try:
        with dbus.Connection(f"unix:abstract={name}") as conn:
            owned = conn.call(dbus.BUS, dbus.BUS_PATH, dbus.BUS, "NameHasOwner", "s", (dbus.BUS,))
            assert owned == (True,)
    finally:
        relay.close()


# --------------------------------------------------------------------------- fake buses


class FakeBus:
    """A scripted bus on a Unix socket: SASL, then each method call is answered by
    ``respond(message) -> [messages]`` (jeepney Messages, sent in order); ``None``
    hangs up."""

    def __init__(
        self,
        path: Path,
        respond: Callable[[Message], list[Message] | None] | None = None,
        auth_reply: bytes = b"OK 0123456789abcdef0123456789abcdef\r\n",
        silent: bool = False,
    ) -> None:
        self.address = f"unix:path={path}"
        self.respond = respond
        self.auth_reply = auth_reply
        self.silent = silent
        self.received: list[Message] = []
        self.auth_line = b""
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        self._server.listen(1)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            conn, _ = self._server.accept()
            with conn:
                if self.silent:
                    conn.recv(4096)
                    time.sleep(5)
                    return
                data = b""
                while b"\r\n" not in data:
                    data += conn.recv(4096)
                self.auth_line, _, data = data.partition(b"\r\n")
                conn.sendall(self.auth_reply)
                if not self.auth_reply.startswith(b"OK"):
                    return
                while b"BEGIN\r\n" not in data:
                    data += conn.recv(4096)
                data = data.split(b"BEGIN\r\n", 1)[1]
                parser = Parser()
                serial = 1000
                while True:
                    for message in parser.feed(data):
                        self.received.append(message)
                        answers = self.respond(message) if self.respond else []
                        if answers is None:
                            return
                        for out in answers:
                            serial += 1
                            conn.sendall(out.serialise(serial=serial))
                    data = conn.recv(65536)
                    if not data:
                        return

    def close(self) -> None:
        self._server.close()


def _big_endian_return(parent: Message, signature: str, body: tuple[Any, ...]) -> Message:
    message = new_method_return(parent, signature, body)
    header = message.header
    big = Header(Endianness.big, MessageType.method_return, header.flags, 1, 0, 0, header.fields)
    return Message(big, body)


def test_replies_are_matched_by_serial_skipping_signals(tmp_path: Path) -> None:
    def respond(message: Message) -> list[Message]:
        member = message.header.fields[3]  # MEMBER
        if member == "Hello":
            return [new_method_return(message, "s", (":1.42",))]
        signal = new_signal(DBusAddress("/x", interface="x.y"), "Noise", "as", (["a", "b"],))
        if member == "NameHasOwner":
            return [signal, _big_endian_return(message, "b", (True,)), signal]
        if member == "Fail":
            return [new_error(message, "org.example.Error.Nope", "s", ("it failed\non two lines",))]
        return [new_method_return(message, "a{sv}", ({"k": ("ay", b"\x00\xff")},))]

    bus = FakeBus(tmp_path / "bus", respond)
    with dbus.Connection(bus.address) as conn:
        first = conn.send("a.b", "/", "a.b", "Echo")
        second = conn.send(dbus.BUS, dbus.BUS_PATH, dbus.BUS, "NameHasOwner", "s", ("x",))
        assert conn.reply(second) == (True,)  # big endian, after a signal
        assert conn.reply(first) == ({"k": ("ay", b"\x00\xff")},)  # answered earlier
        with pytest.raises(dbus.MethodError) as caught:
            conn.call("a.b", "/", "a.b", "Fail")
        assert caught.value.name == "org.example.Error.Nope"
        assert caught.value.message == "it failed\non two lines"
        assert "\n" not in str(caught.value)
        with pytest.raises(dbus.MethodError):  # call_many drains every reply, raises the error
            conn.call_many([("a.b", "/", "a.b", m, "", ()) for m in ("Fail", "Echo")])
        assert conn.call("a.b", "/", "a.b", "Echo") == ({"k": ("ay", b"\x00\xff")},)
    assert bus.auth_line == b"\0AUTH EXTERNAL " + str(os.getuid()).encode().hex().encode()
    assert [m.header.fields[3] for m in bus.received][:1] == ["Hello"]
    bus.close()


def test_a_bus_that_never_answers_times_out(tmp_path: Path) -> None:
    bus = FakeBus(tmp_path / "bus", silent=True)
    with pytest.raises(dbus.Unavailable, match="no answer"):  # the deadline ended it
        dbus.Connection(bus.address, timeout=0.3)
    bus.close()


def test_a_service_that_never_answers_times_out(tmp_path: Path) -> None:
    bus = FakeBus(tmp_path / "bus", lambda message: [])
    reader = dbus.SecretService.connect(bus.address, timeout=0.3)
    with pytest.raises(dbus.Unavailable, match="no answer"):  # the deadline ended it
        reader.get_secret(_attrs("x"))
    bus.close()


def test_refused_authentication_is_unavailable(tmp_path: Path) -> None:
    bus = FakeBus(tmp_path / "bus", auth_reply=b"REJECTED EXTERNAL\r\n")
    with pytest.raises(dbus.Unavailable, match="refused"):
        dbus.Connection(bus.address, timeout=2)
    bus.close()


def test_bus_hanging_up_is_disconnected(tmp_path: Path) -> None:
    def respond(message: Message) -> list[Message] | None:
        return None  # hang up

    bus = FakeBus(tmp_path / "bus", respond)
    with dbus.Connection(bus.address, timeout=2) as conn, pytest.raises(dbus.Disconnected):
        conn.call("a.b", "/", "a.b", "Anything")
    bus.close()


def test_secret_service_reply_of_the_wrong_shape_is_a_protocol_error(tmp_path: Path) -> None:
    def respond(message: Message) -> list[Message]:
        member = message.header.fields[3]
        if member == "OpenSession":
            return [new_method_return(message, "vo", (("s", ""), "/s/1"))]
        if member == "ReadAlias":
            return [new_method_return(message, "o", ("/c",))]
        if member == "SearchItems":
            return [new_method_return(message, "s", ("not two arrays",))]
        return []

    bus = FakeBus(tmp_path / "bus", respond)
    with pytest.raises(dbus.ProtocolError):
        dbus.SecretService.connect(bus.address, timeout=2).get_secret(_attrs("x"))
    bus.close()


# --------------------------------------------------------------------------- addresses


def test_bus_addresses() -> None:
    env = {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/tmp/a%20b,guid=0f;tcp:host=x;unix:abstract=z%2c"}
    assert dbus.bus_addresses(env) == [
        ("unix:path=/tmp/a%20b,guid=0f", "/tmp/a b"),
        ("unix:abstract=z%2c", b"\0z,"),
    ]
    uid = os.getuid()
    assert dbus.bus_addresses({}) == [(f"unix:path=/run/user/{uid}/bus", f"/run/user/{uid}/bus")]
    assert dbus.bus_addresses({"XDG_RUNTIME_DIR": "/rt"}) == [
        ("unix:path=/rt/bus", "/rt/bus"),
        (f"unix:path=/run/user/{uid}/bus", f"/run/user/{uid}/bus"),
    ]
    assert dbus.bus_addresses({"DBUS_SESSION_BUS_ADDRESS": "launchd:env=X"}) == []


# --------------------------------------------------------------------------- the marshaller

BASIC = "ybnqiuxtdsog"
_PATH_PART = st.text("abcXYZ019_", min_size=1, max_size=6)
_PATHS = st.lists(_PATH_PART, max_size=4).map(lambda parts: "/" + "/".join(parts))
_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\0"), max_size=20)


def _type(depth: int = 0) -> st.SearchStrategy[str]:
    basic = st.sampled_from(BASIC + "v")
    if depth >= 3:
        return st.sampled_from(BASIC)
    inner = st.deferred(lambda: _type(depth + 1))
    return st.one_of(
        basic,
        basic,
        inner.map(lambda t: "a" + t),
        st.lists(inner, min_size=1, max_size=4).map(lambda ts: "(" + "".join(ts) + ")"),
        st.tuples(st.sampled_from(BASIC), inner).map(lambda kv: "a{" + kv[0] + kv[1] + "}"),
    )


SIGNATURES = st.lists(_type(), max_size=4).map("".join).filter(lambda s: len(s) <= 255)

_FIXED_RANGES = {
    "y": (0, 2**8 - 1),
    "n": (-(2**15), 2**15 - 1),
    "q": (0, 2**16 - 1),
    "i": (-(2**31), 2**31 - 1),
    "u": (0, 2**32 - 1),
    "x": (-(2**63), 2**63 - 1),
    "t": (0, 2**64 - 1),
}


def _value(t: str, depth: int = 0) -> st.SearchStrategy[Any]:
    c = t[0]
    if c in _FIXED_RANGES:
        low, high = _FIXED_RANGES[c]
        return st.integers(low, high)
    if c == "b":
        return st.booleans()
    if c == "d":
        return st.floats(allow_nan=False)
    if c == "s":
        return _TEXT
    if c == "o":
        return _PATHS
    if c == "g":
        return st.lists(_type(2), max_size=3).map("".join)
    if c == "v":
        if depth >= 2:
            return st.tuples(st.just("s"), _TEXT)
        return _type(2).flatmap(lambda inner: st.tuples(st.just(inner), _value(inner, depth + 1)))
    if c == "(":
        return st.tuples(*(_value(f, depth) for f in dbus.split_signature(t[1:-1])))
    if t == "ay":
        return st.binary(max_size=40)
    if t.startswith("a{"):
        return st.dictionaries(_value(t[2], depth), _value(t[3:-1], depth), max_size=3)
    return st.lists(_value(t[1:], depth), max_size=3)


def _values(signature: str) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.tuples(*(_value(t) for t in dbus.split_signature(signature)))


SIGNED = SIGNATURES.flatmap(lambda sig: st.tuples(st.just(sig), _values(sig)))


def _jeepney(signature: str, values: tuple[Any, ...], endian: Endianness) -> bytes:
    out = b""
    for t, value in zip(dbus.split_signature(signature), values, strict=True):
        out += parse_signature(list(t)).serialise(value, len(out), endian)
    return out


def _same(a: Any, b: Any) -> bool:
    """Equality that tells -0.0 from 0.0 (both are valid doubles on the wire)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, (list, tuple)) and type(a) is type(b):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b) and type(a) is type(b)


@settings(max_examples=400, deadline=None)
@given(SIGNED)
def test_marshal_round_trips(signed: tuple[str, tuple[Any, ...]]) -> None:
    signature, values = signed
    for endian in ("<", ">"):
        data = dbus.marshal(signature, values, endian)
        assert _same(dbus.unmarshal(signature, data, endian), values)


@settings(max_examples=400, deadline=None)
@given(SIGNED)
def test_marshal_is_byte_identical_to_jeepney(signed: tuple[str, tuple[Any, ...]]) -> None:
    """An independent implementation of the alignment rules agrees on every byte, and
    parses our bytes back to the same values."""
    signature, values = signed
    data = dbus.marshal(signature, values)
    assert data == _jeepney(signature, values, Endianness.little)
    assert dbus.marshal(signature, values, ">") == _jeepney(signature, values, Endianness.big)
    if signature:
        parsed = parse_signature(list(f"({signature})")).parse_data(data, 0, Endianness.little)
        assert _same(parsed[0], values) and parsed[1] == len(data)


@settings(max_examples=300, deadline=None)
@given(SIGNED, st.data())
def test_unmarshal_of_damaged_data_raises_only_protocol_error(
    signed: tuple[str, tuple[Any, ...]], data: st.DataObject
) -> None:
    signature, values = signed
    raw = bytearray(dbus.marshal(signature, values))
    if raw and data.draw(st.booleans()):
        del raw[data.draw(st.integers(0, len(raw) - 1)) :]  # truncated
    elif raw:
        for _ in range(data.draw(st.integers(1, 4))):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    with contextlib.suppress(dbus.ProtocolError):
        dbus.unmarshal(signature, bytes(raw))


@given(st.binary(max_size=64), st.sampled_from(["a(yv)", "a{o(oayays)}", "vo", "aoao", "v"]))
def test_unmarshal_of_random_bytes_raises_only_protocol_error(data: bytes, signature: str) -> None:
    with contextlib.suppress(dbus.ProtocolError):
        dbus.unmarshal(signature, data)


@pytest.mark.parametrize(
    "signature", ["a", "(", "()", "(i", "a{vs}", "a{s}", "a{sss}", "{ss}", "z", "a" * 33 + "i"]
)
def test_bad_signatures(signature: str) -> None:
    with pytest.raises(dbus.ProtocolError):
        dbus.split_signature(signature)


def test_split_signature() -> None:
    assert dbus.split_signature("sa{sv}(ii)aay") == ("s", "a{sv}", "(ii)", "aay")
    assert dbus.split_signature("") == ()
    assert dbus.split_signature("a" * 32 + "i") == ("a" * 32 + "i",)


@pytest.mark.parametrize(
    ("member", "signature", "args"),
    [
        ("Hello", "", ()),
        ("OpenSession", "sv", ("plain", ("s", ""))),
        ("SearchItems", "a{ss}", ({"service": "shellvault", "username": "session:ä"},)),
        ("GetSecrets", "aoo", (["/org/freedesktop/secrets/collection/login/1"], "/s/s1")),
        ("Get", "ss", ("org.freedesktop.Secret.Collection", "Locked")),
    ],
)
def test_method_call_messages_match_jeepney(
    member: str, signature: str, args: tuple[Any, ...]
) -> None:
    ours = dbus.method_call(
        7,
        "org.freedesktop.secrets",
        "/org/freedesktop/secrets",
        "org.freedesktop.Secret.Service",
        member,
        signature,
        args,
    )
    address = DBusAddress(
        "/org/freedesktop/secrets",
        bus_name="org.freedesktop.secrets",
        interface="org.freedesktop.Secret.Service",
    )
    theirs = new_method_call(address, member, signature or None, args).serialise(serial=7)
    assert ours == theirs


@pytest.mark.parametrize(
    ("signature", "values", "error"),
    [
        ("s", ("a\0b",), ValueError),
        ("o", ("not/a/path",), ValueError),
        ("o", ("/trailing/",), ValueError),
        ("y", (256,), ValueError),
        ("u", (-1,), ValueError),
        ("i", ("1",), TypeError),
        ("ay", ([1, 2],), TypeError),
        ("v", (("ss", ("a", "b")),), ValueError),
        ("(ii)", ((1,),), TypeError),
        ("ss", ("only one",), ValueError),
    ],
)
def test_marshal_refuses_bad_values(
    signature: str, values: tuple[Any, ...], error: type[Exception]
) -> None:
    with pytest.raises(error):
        dbus.marshal(signature, values)
