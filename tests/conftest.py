"""The shellvault test harness: real servers, isolated users.

Fixtures (see each docstring):

* ``moto_server`` (session): a real ``moto_server`` process on 127.0.0.1, with
  ``.url .port .pid .reset() .mark() .sts_calls()``.
* ``world`` (session): the README walkthrough built in that moto (``tests/world.py``).
* ``secret_service``: gnome-keyring's Secret Service on a private D-Bus session,
  started once per session (``secret_service_session``); yields the env vars
  (``DBUS_SESSION_BUS_ADDRESS``) a subprocess needs, default collection unlocked.
* ``sv_home`` (function): an isolated user for running the ``shellvault`` console script.
* ``aws_home`` (function): ``sv_home`` + the world's ``~/.aws/config`` + alice's keys added.
* ``aws_keyring_home`` (function): the same with the keyring backend on the private bus.

Plain helpers: ``require_program(name)`` here; ``lock_default_collection(env)``,
``unlock_default_collection(env, password)`` and friends in ``tests/world.py``.

Every wait has a deadline; every process the harness starts is stopped by its PID.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.world import (
    SECRET_SERVICE_PASSWORD,
    World,
    build_world,
    clear_default_collection,
    lock_default_collection,
    secret_service_connection,
    unlock_default_collection,
)

__all__ = [
    "IN_CI",
    "OUTER_ENVIRON",
    "REPO_ROOT",
    "SECRET_SERVICE_PASSWORD",
    "MotoServer",
    "RecordedCall",
    "SecretService",
    "ShellvaultFailed",
    "SvHome",
    "lock_default_collection",
    "require_program",
    "unlock_default_collection",
    "venv_bin",
]

REPO_ROOT = Path(__file__).resolve().parent.parent

#: The environment pytest was started with, before ``pytest_configure`` scrubbed it.
OUTER_ENVIRON: dict[str, str] = dict(os.environ)

#: True when the suite runs in CI (``CI=true``): missing programs fail instead of skip.
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")

#: Outer variables that must never leak into the suite (in-process or subprocesses).
_SCRUBBED_PREFIXES = ("AWS_", "SHELLVAULT_")
_SCRUBBED_NAMES = ("DBUS_SESSION_BUS_ADDRESS",)


def pytest_configure(config: pytest.Config) -> None:
    """Drop the developer's AWS_*, SHELLVAULT_* and session-bus address from this
    process, so that nothing in-process reaches a real account or a real keyring."""
    for name in list(os.environ):
        if name.startswith(_SCRUBBED_PREFIXES) or name in _SCRUBBED_NAMES:
            del os.environ[name]


# --------------------------------------------------------------------------- programs


def venv_bin() -> Path:
    """The bin directory of the interpreter running pytest (``.venv/bin``)."""
    return Path(sysconfig.get_path("scripts"))


def _search_path() -> str:
    return os.pathsep.join([str(venv_bin()), os.environ.get("PATH", os.defpath)])


def require_program(name: str) -> str:
    """Absolute path of ``name`` (the venv's bin first, then PATH). If it is absent,
    skip the test locally, but fail it when ``CI=true``: CI must have everything
    (``scripts/test`` installs the Debian packages when run as root)."""
    path = shutil.which(name, path=_search_path())
    if path:
        return path
    message = f"{name!r} is not installed (scripts/test installs the test packages as root)"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _wait_until(
    what: str, predicate: Callable[[], bool], timeout: float, proc: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready after {timeout:.0f}s")
        time.sleep(0.05)


def _stop_pid_tree(
    proc: subprocess.Popen[bytes], timeout: float = 10.0, first: Sequence[int] = ()
) -> None:
    """Stop a process we started and its descendants, each by PID.

    ``first`` (e.g. the child whose exit makes ``proc`` wind down by itself, the way
    dbus-run-session stops its bus when its command exits) gets SIGTERM and ``proc``
    a chance to exit cleanly; then any descendant still there and ``proc`` get
    SIGTERM, and whatever is left after ``timeout`` SIGKILL."""
    import psutil

    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        children = []
    for pid in first:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    if first:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
    for child in reversed(children):
        if child.is_running():
            with contextlib.suppress(ProcessLookupError, psutil.Error):
                child.terminate()
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)

    # A zombie counts as stopped: orphans are reaped by PID 1 whenever it gets to it.
    def stopped(p: psutil.Process) -> bool:
        try:
            return bool(p.status() == psutil.STATUS_ZOMBIE)
        except psutil.NoSuchProcess:
            return True

    deadline = time.monotonic() + timeout
    while not all(stopped(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.02)
    for child in children:
        if not stopped(child):
            with contextlib.suppress(ProcessLookupError, psutil.Error):
                child.kill()


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --------------------------------------------------------------------------- moto


@dataclass(frozen=True)
class RecordedCall:
    """One request moto received, as its request recorder saw it."""

    service: str  # "sts", "iam", "s3", ... (from the SigV4 credential scope)
    action: str  # "AssumeRole" (query/JSON protocols) or "GET /bucket" (REST)
    params: Mapping[str, str]  # the form/query parameters (query protocol)
    access_key_id: str  # who signed it ("" when unsigned)
    region: str = ""  # the SigV4 signing region ("" when unsigned)


_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


def _parse_recorded(entry: Mapping[str, Any]) -> RecordedCall:
    headers = {str(k).lower(): str(v) for k, v in dict(entry.get("headers") or {}).items()}
    raw = entry.get("body") or ""
    body = base64.b64decode(raw) if entry.get("body_encoded") else str(raw).encode()
    url = urlsplit(str(entry.get("url", "")))
    params: dict[str, str] = {k: v[0] for k, v in parse_qs(url.query).items()}
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = parse_qs(body.decode("utf-8", "replace"))
        params.update({k: v[0] for k, v in form.items()})
    match = _SCOPE.search(headers.get("authorization", ""))
    key_id, region, service = (match.group(1), match.group(2), match.group(3)) if match else (
        "", "", "")
    sts_host = bool(url.hostname and url.hostname.startswith("sts."))
    if not service and (sts_host or params.get("Version") == "2011-06-15"):
        service = "sts"
    action = params.get("Action", "")
    if not action and "x-amz-target" in headers:
        action = headers["x-amz-target"].rsplit(".", 1)[-1]
    if not action:
        action = f"{entry.get('method', '')} {url.path}"
    return RecordedCall(service=service, action=action, params=params, access_key_id=key_id,
                        region=region)


class MotoServer:
    """A ``moto_server`` process on 127.0.0.1 (one per test session).

    Its request recorder is on from the start (``MOTO_ENABLE_RECORDING``), writing one
    JSON line per request to a file *before* moto handles it, so by the time a client
    has its answer the call is on record. ``mark()`` empties that record and
    ``calls()``/``sts_calls()`` download and parse it: what the server really received.
    The record is global to the server: tests run one at a time, so call ``mark()``
    (``aws_home`` does it for you) right before the part you count.
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.log_path = workdir / "moto_server.log"
        self.recording_path = workdir / "recording.jsonl"
        self.url = ""
        self.port = 0
        self.pid = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self.after_reset: list[Callable[[], None]] = []

    def start(self, timeout: float = 60.0) -> None:
        exe = venv_bin() / "moto_server"
        program = str(exe) if exe.exists() else require_program("moto_server")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
        env.update(
            MOTO_ENABLE_RECORDING="true",
            MOTO_RECORDER_FILEPATH=str(self.recording_path),
            PYTHONUNBUFFERED="1",
        )
        with open(self.log_path, "wb") as log:
            # Port 0: the kernel picks a free port and werkzeug prints it (no race).
            self._proc = subprocess.Popen(
                [program, "-H", "127.0.0.1", "-p", "0"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.workdir,
                start_new_session=True,
            )
        self.pid = self._proc.pid
        running = re.compile(r"Running on http://127\.0\.0\.1:(\d+)")

        def announced() -> bool:
            found = running.search(self.log_path.read_text(errors="replace"))
            if found:
                self.port = int(found.group(1))
                self.url = f"http://127.0.0.1:{self.port}"
            return found is not None

        try:
            _wait_until("moto_server start", announced, timeout, self._proc)
            _wait_until("moto_server answers", self._answers, timeout, self._proc)
        except (RuntimeError, TimeoutError) as exc:
            self.stop()
            raise RuntimeError(f"{exc}\n--- moto_server log ---\n{_tail(self.log_path)}") from exc

    def _answers(self) -> bool:
        try:
            self.mark()
        except (OSError, urllib.error.URLError):
            return False
        return True

    def stop(self) -> None:
        if self._proc is not None:
            _stop_pid_tree(self._proc)
            self._proc = None

    def _request(self, path: str, method: str = "POST", timeout: float = 30.0) -> bytes:
        req = urllib.request.Request(self.url + path, data=b"" if method == "POST" else None)
        req.method = method
        with urllib.request.urlopen(req, timeout=timeout) as response:
            body: bytes = response.read()
            return body

    def reset(self) -> None:
        """Wipe all of moto's state (``POST /moto-api/reset``), then run the
        ``after_reset`` hooks (the ``world`` fixture rebuilds the world in place: alice
        gets a new key pair) and ``mark()``."""
        self._request("/moto-api/reset")
        for hook in self.after_reset:
            hook()
        self.mark()

    def mark(self) -> None:
        """Forget every recorded request: ``calls()`` counts from here."""
        self._request("/moto-api/recorder/reset-recording")

    def calls(self, service: str | None = None) -> list[RecordedCall]:
        """Every request moto received since the last ``mark()``, in order."""
        text = self._request("/moto-api/recorder/download-recording", method="GET").decode()
        calls = [_parse_recorded(json.loads(line)) for line in text.splitlines() if line.strip()]
        return [c for c in calls if service is None or c.service == service]

    def sts_calls(self) -> list[str]:
        """STS Action names (GetSessionToken, AssumeRole, ...) since the last mark."""
        return [c.action for c in self.calls("sts")]


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def world(moto_server: MotoServer) -> World:
    """The README walkthrough in moto (see tests/world.py). ``moto_server.reset()``
    rebuilds it in place."""
    built = build_world(moto_server.url)
    moto_server.after_reset.append(built.rebuild)
    moto_server.mark()
    return built


# --------------------------------------------------------------------------- Secret Service


class SecretService:
    """gnome-keyring's Secret Service on a private D-Bus session bus.

    ``dbus-run-session -- sh -c 'write $DBUS_SESSION_BUS_ADDRESS to a file; exec
    gnome-keyring-daemon --foreground --unlock --components=secrets'`` with the
    password on stdin: the daemon creates the ``login`` collection (the ``default``
    alias) with that password, unlocked. HOME and the XDG dirs point into a tmp dir,
    so no real keyring file is touched, and the bus is new: never the user's own.
    """

    def __init__(self, workdir: Path, password: str = SECRET_SERVICE_PASSWORD) -> None:
        self.workdir = workdir
        self.password = password
        self.log_path = workdir / "secret-service.log"
        self.address_file = workdir / "bus-address"
        self.env: dict[str, str] = {}
        self.pid = 0
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        dbus_run_session = require_program("dbus-run-session")
        require_program("gnome-keyring-daemon")
        home = self.workdir / "home"
        runtime = self.workdir / "run"
        for d in (home, runtime):
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(home),
            "XDG_RUNTIME_DIR": str(runtime),
            "XDG_DATA_HOME": str(home / ".local/share"),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "LANG": "C.UTF-8",
            "SV_ADDRESS_FILE": str(self.address_file),
        }
        script = (
            'printf "%s\\n" "$DBUS_SESSION_BUS_ADDRESS" >"$SV_ADDRESS_FILE.tmp" && '
            'mv "$SV_ADDRESS_FILE.tmp" "$SV_ADDRESS_FILE" && '
            "exec gnome-keyring-daemon --foreground --unlock --components=secrets"
        )
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(
                [dbus_run_session, "--", "sh", "-c", script],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.workdir,
                start_new_session=True,
            )
        self.pid = self._proc.pid
        assert self._proc.stdin is not None
        self._proc.stdin.write(self.password.encode())
        self._proc.stdin.close()
        try:
            _wait_until("D-Bus session", self.address_file.exists, timeout, self._proc)
            self.env = {"DBUS_SESSION_BUS_ADDRESS": self.address_file.read_text().strip()}
            _wait_until("Secret Service", self._ready, timeout, self._proc)
        except (RuntimeError, TimeoutError) as exc:
            self.stop()
            raise RuntimeError(f"{exc}\n--- log ---\n{_tail(self.log_path)}") from exc

    def _ready(self) -> bool:
        """The name is owned (asked without D-Bus activation) and the default
        collection exists and is unlocked."""
        import secretstorage
        from jeepney.wrappers import DBusErrorResponse

        try:
            with secret_service_connection(self.env) as conn:
                if not secretstorage.check_service_availability(conn):
                    return False
                return not secretstorage.get_default_collection(conn).is_locked()
        except (OSError, DBusErrorResponse, secretstorage.SecretStorageException):
            return False

    def stop(self) -> None:
        """SIGTERM gnome-keyring-daemon; dbus-run-session then stops its bus and
        exits; stragglers are stopped by PID."""
        if self._proc is not None:
            _stop_pid_tree(self._proc, first=self._daemon_pids())
            self._proc = None

    def _daemon_pids(self) -> list[int]:
        import psutil

        assert self._proc is not None
        try:
            children = psutil.Process(self._proc.pid).children(recursive=True)
            return [c.pid for c in children if c.name().startswith("gnome-keyring")]
        except psutil.Error:
            return []


@pytest.fixture(scope="session")
def secret_service_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecretService]:
    """The one gnome-keyring Secret Service of the test session (started on first use)."""
    service = SecretService(tmp_path_factory.mktemp("secret-service"))
    service.start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def secret_service(secret_service_session: SecretService) -> Iterator[dict[str, str]]:
    """Env vars (``DBUS_SESSION_BUS_ADDRESS``) of the session's private gnome-keyring
    Secret Service. The daemon lives for the whole session; this handle is per test:
    the default collection is unlocked (``SECRET_SERVICE_PASSWORD``) before and after
    each test, so a test that locks it need not undo that. Items persist between tests
    (``sv_home.use_keyring`` and ``clear_default_collection`` empty the collection)."""
    env = dict(secret_service_session.env)
    unlock_default_collection(env, secret_service_session.password)
    yield env
    unlock_default_collection(env, secret_service_session.password)


# --------------------------------------------------------------------------- isolated users


class ShellvaultFailed(subprocess.CalledProcessError):
    """``SvHome.run(..., check=True)`` on a non-zero exit; shows stdout and stderr."""

    def __str__(self) -> str:
        return f"{super().__str__()}\n--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"


class SvHome:
    """An isolated user: its own HOME, XDG dirs, ``~/.aws`` and shellvault state.

    ``env`` is the complete environment for subprocesses (built from scratch: no
    AWS_*, SHELLVAULT_*, DBUS_*, DISPLAY or LC_* of the outer environment):
    HOME, USER, LOGNAME, SHELL=/bin/bash, TERM=dumb, LANG=C.UTF-8, TMPDIR (if set),
    PATH (the venv's bin first, then the outer PATH), XDG_{CONFIG,DATA,STATE,CACHE}_HOME
    and XDG_RUNTIME_DIR under HOME, AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE,
    AWS_EC2_METADATA_DISABLED=true (no 1 s IMDS probes), SHELLVAULT_BACKEND=file,
    SHELLVAULT_FILE_PASSPHRASE=<random>, SHELLVAULT_MFA_PROMPT=terminal.
    Change ``env`` freely within a test.
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        self.config_path = home / ".aws" / "config"
        self.credentials_path = home / ".aws" / "credentials"
        self.passphrase = secrets.token_urlsafe(24)
        self.world: World | None = None
        xdg = {
            "XDG_CONFIG_HOME": home / ".config",
            "XDG_DATA_HOME": home / ".local" / "share",
            "XDG_STATE_HOME": home / ".local" / "state",
            "XDG_CACHE_HOME": home / ".cache",
            "XDG_RUNTIME_DIR": home / ".run",
        }
        for d in (*xdg.values(), self.config_path.parent):
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
        user = pwd.getpwuid(os.getuid()).pw_name
        self.env: dict[str, str] = {
            "HOME": str(home),
            "USER": user,
            "LOGNAME": user,
            "SHELL": "/bin/bash",
            "TERM": "dumb",
            "LANG": "C.UTF-8",
            "PATH": _search_path(),
            **{k: str(v) for k, v in xdg.items()},
            "AWS_CONFIG_FILE": str(self.config_path),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.credentials_path),
            "AWS_EC2_METADATA_DISABLED": "true",
            "SHELLVAULT_BACKEND": "file",
            "SHELLVAULT_FILE_PASSPHRASE": self.passphrase,
            "SHELLVAULT_MFA_PROMPT": "terminal",
        }
        if os.environ.get("TMPDIR"):
            self.env["TMPDIR"] = os.environ["TMPDIR"]
        if IN_CI:
            self.env["CI"] = "true"

    # -- paths ------------------------------------------------------------------
    @property
    def state_dir(self) -> Path:
        """Where shellvault keeps its state by default (``$XDG_STATE_HOME/shellvault``)."""
        return Path(self.env["XDG_STATE_HOME"]) / "shellvault"

    @property
    def data_dir(self) -> Path:
        return Path(self.env["XDG_DATA_HOME"]) / "shellvault"

    @property
    def shellvault(self) -> str:
        """The installed console script."""
        exe = venv_bin() / "shellvault"
        return str(exe) if exe.exists() else require_program("shellvault")

    def write_config(self, text: str) -> Path:
        """Write ``~/.aws/config`` (``AWS_CONFIG_FILE``)."""
        self.config_path.write_text(text)
        return self.config_path

    # -- running ----------------------------------------------------------------
    def run(
        self,
        *args: str | os.PathLike[str],
        input: str | None = None,
        env: Mapping[str, str | None] | None = None,
        check: bool = False,
        timeout: float = 60.0,
        cwd: str | os.PathLike[str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``shellvault ARGS`` as this user: stdin is ``input`` (else /dev/null),
        no controlling terminal (new session, so /dev/tty cannot be opened), text
        output captured. ``env`` is merged over ``self.env`` (a ``None`` value removes
        a variable) for this one call. ``cwd`` defaults to HOME."""
        return self.run_program(
            [self.shellvault, *args], input=input, env=env, check=check, timeout=timeout, cwd=cwd
        )

    def run_program(
        self,
        argv: Sequence[str | os.PathLike[str]],
        *,
        input: str | None = None,
        env: Mapping[str, str | None] | None = None,
        check: bool = False,
        timeout: float = 60.0,
        cwd: str | os.PathLike[str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Like ``run`` for any program (bash, aws, ...) in this user's environment."""
        full_env = self.merged_env(env)
        argv = [os.fspath(a) for a in argv]
        result = subprocess.run(
            argv,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=full_env,
            cwd=os.fspath(cwd) if cwd is not None else str(self.home),
            timeout=timeout,
            start_new_session=True,
            check=False,
        )
        if check and result.returncode != 0:
            raise ShellvaultFailed(result.returncode, argv, result.stdout, result.stderr)
        return result

    def merged_env(self, env: Mapping[str, str | None] | None = None) -> dict[str, str]:
        merged = dict(self.env)
        for key, value in (env or {}).items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return merged

    # -- backends ---------------------------------------------------------------
    def use_keyring(self, secret_service_env: Mapping[str, str]) -> None:
        """Switch to ``SHELLVAULT_BACKEND=keyring`` on the private bus. The shared
        default collection is unlocked and emptied first (items of earlier tests)."""
        env = dict(secret_service_env)
        clear_default_collection(env)
        self.env.update(env)
        self.env["SHELLVAULT_BACKEND"] = "keyring"
        self.env.pop("SHELLVAULT_FILE_PASSPHRASE", None)

    def add_keys(self, profile: str, access_key_id: str, secret_access_key: str) -> None:
        """``shellvault add PROFILE --env`` with the keys in that one command's env."""
        self.run(
            "add",
            profile,
            "--env",
            env={"AWS_ACCESS_KEY_ID": access_key_id, "AWS_SECRET_ACCESS_KEY": secret_access_key},
            check=True,
        )

    def apply(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Make this process's ``os.environ`` exactly ``env`` (for in-process tests)."""
        for key in list(os.environ):
            if key not in self.env:
                monkeypatch.delenv(key)
        for key, value in self.env.items():
            monkeypatch.setenv(key, value)


@pytest.fixture
def sv_home(tmp_path: Path) -> SvHome:
    """A fresh isolated user (file backend, random passphrase) under ``tmp_path/home``."""
    return SvHome(tmp_path / "home")


def _with_world(home: SvHome, world: World, moto_server: MotoServer) -> SvHome:
    home.world = world
    home.write_config(world.config_text())
    home.env.update(world.env())
    home.add_keys("central", world.access_key_id, world.secret_access_key)
    moto_server.mark()
    return home


@pytest.fixture
def aws_home(sv_home: SvHome, world: World, moto_server: MotoServer) -> SvHome:
    """``sv_home`` + the walkthrough's ``~/.aws/config`` + ``AWS_ENDPOINT_URL`` (moto)
    + alice's keys stored with ``shellvault add central --env`` (file backend).
    ``moto_server`` is marked at the end: ``sts_calls()`` starts empty."""
    return _with_world(sv_home, world, moto_server)


@pytest.fixture
def aws_keyring_home(
    sv_home: SvHome, world: World, moto_server: MotoServer, secret_service: dict[str, str]
) -> SvHome:
    """``aws_home`` with ``SHELLVAULT_BACKEND=keyring`` on the private Secret Service."""
    sv_home.use_keyring(secret_service)
    return _with_world(sv_home, world, moto_server)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"shellvault harness: python {sys.version.split()[0]}, venv {venv_bin()}, CI={IN_CI}"]
