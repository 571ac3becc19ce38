"""`shellvault exec --server PROFILE -- CMD`: a credential endpoint for commands that run
longer than one session (a `terraform apply` past its role session's hour).

CMD gets AWS_CONTAINER_CREDENTIALS_FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN instead of
keys, so every SDK and the AWS CLI ask this endpoint (the ECS container-credentials format)
whenever they want credentials, and get a session that was refreshed in time:

* it listens on 127.0.0.1 only, on a random port, and answers only requests that carry the
  random bearer token (none: 401; wrong one or not from loopback: 403);
* a response never carries a session with less than the refresh window left; requests are
  answered from memory, and a background thread refreshes ahead of the window through the
  engine (under the same per-session lock as every other shellvault), silently while the
  MFA session lasts, asking for a new code on the terminal when one is needed, once;
* it stops when CMD exits and passes on CMD's exit status, including death by a signal;
  Ctrl-C reaches CMD (the terminal sends it to the whole foreground group) and not this
  process, which keeps serving until CMD is gone.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .creds import Session, rfc3339
from .errors import InputNeeded, Interrupted, MfaRejected, ShellvaultError, next_step
from .paths import state_dir, write_private_file
from .tty import notice

DEFAULT_WINDOW = 900  # botocore asks again when a session has under 15 minutes left
BUSY_WAIT = 1.5  # seconds a request waits for a refresh in progress (SDKs give up at ~2 s)
RETRY_AFTER = 30  # seconds between non-interactive retries after a failed refresh
FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)
FROM_TERMINAL = (signal.SIGINT, signal.SIGQUIT)  # the terminal sends these to CMD already

# Issue a session for the profile with at least `min_ttl` seconds left (the engine reuses
# the vault's cached one when it has); `interactive` says whether an MFA code may be asked.
Issuer = Callable[[bool, int], Session]


class RefreshFailed(ShellvaultError):
    pass


class ServedSession:
    """The session being served, refreshed ahead of the window."""

    def __init__(self, issue: Issuer, window: int, profile: str) -> None:
        self._issue = issue
        self.window = window
        self.profile = profile
        self._session: Session | None = None
        self._lock = threading.Lock()
        self._may_ask = True  # one prompt per needed code; reset by a successful refresh
        self._last_problem = ""

    def first(self, session: Session) -> None:
        self._check_length(session)
        self._session = session

    def _check_length(self, session: Session) -> None:
        left = session.credentials.seconds_left()
        if left < self.window:
            raise ShellvaultError(
                f"a new session of {self.profile} lasts {int(left)}s, less than the server's "
                f"refresh window ({self.window}s): use a longer --duration or a shorter "
                "--refresh-window")

    def _usable(self, session: Session | None) -> bool:
        return session is not None and session.credentials.seconds_left() >= self.window

    def current(self) -> Session:
        """What a request gets: the session in memory, or one refreshed now."""
        session = self._session
        if self._usable(session):
            assert session is not None
            return session
        if not self._lock.acquire(timeout=BUSY_WAIT):
            raise RefreshFailed("a refresh is in progress (an MFA code may be awaited on the "
                                "terminal); try again")
        try:
            return self._refresh_locked()
        finally:
            self._lock.release()

    def refresh_ahead(self, lead: float) -> None:
        """The background refresh: renew once fewer than window + lead seconds are left."""
        with self._lock:
            session = self._session
            if session is not None and session.credentials.seconds_left() >= self.window + lead:
                return
            with contextlib.suppress(RefreshFailed):
                self._refresh_locked(self.window + int(lead))

    def _refresh_locked(self, min_ttl: int | None = None) -> Session:
        session = self._session
        if min_ttl is None and self._usable(session):
            assert session is not None
            return session
        try:
            fresh = self._issue(self._may_ask, min_ttl or self.window)
            self._check_length(fresh)
        except Exception as exc:  # a thread of a server: one line, never a traceback
            asked = self._may_ask
            if isinstance(exc, (InputNeeded, Interrupted, MfaRejected)):
                self._may_ask = False  # asked once; `shellvault auth` elsewhere unblocks it
            problem = (str(exc) if isinstance(exc, ShellvaultError)
                       else f"{exc.__class__.__name__}; SHELLVAULT_DEBUG=1 shows more")
            if os.environ.get("SHELLVAULT_DEBUG") and not isinstance(exc, ShellvaultError):
                import traceback

                traceback.print_exc()
            if problem != self._last_problem or asked:
                # What unblocks it, by the error's class: a locked file store needs
                # `unlock`, an ended SSO sign-in `sso login`, anything else a fresh session.
                step = next_step(exc, self.profile)
                if step is None and not isinstance(exc, Interrupted):
                    step = f"run 'shellvault auth {self.profile}'"
                # After a refused prompt the next (quiet) attempt names what is missing.
                then = (f"; {step} in another terminal, the server picks the new session up"
                        if step else "")
                notice(f"exec --server {self.profile}: could not refresh the credentials "
                       f"({problem}){then}")
                self._last_problem = problem
            if self._usable(session):
                assert session is not None
                return session
            raise RefreshFailed(problem) from None
        if not self._may_ask or self._last_problem:
            notice(f"exec --server {self.profile}: credentials refreshed")
        self._may_ask = True
        self._last_problem = ""
        self._session = fresh
        return fresh

    @property
    def session(self) -> Session | None:
        return self._session

    def next_check(self, lead: float) -> float:
        """Seconds until the background thread should look again."""
        session = self._session
        if session is None or session.credentials.expires is None:
            return RETRY_AFTER
        if self._last_problem:
            return RETRY_AFTER
        return max(1.0, session.credentials.seconds_left() - self.window - lead)


def ecs_json(session: Session) -> bytes:
    c = session.credentials
    # Keys without an end (a credential_process may return long-term keys) are served as
    # good for an hour, so SDKs still come back for them.
    expires = c.expires if c.expires is not None else int(time.time()) + 3600
    body: dict[str, Any] = {
        "AccessKeyId": c.access_key_id,
        "SecretAccessKey": c.secret_access_key,
        "Token": c.session_token or "",
        "Expiration": rfc3339(expires),
    }
    if session.arn:
        body["RoleArn"] = session.arn
    return json.dumps(body).encode()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-answer is its business; CMD owns the terminal


class CredentialServer:
    """The HTTP endpoint (a thread of this process) and the background refresher."""

    def __init__(self, credentials: ServedSession, token: str | None = None) -> None:
        self.credentials = credentials
        self.token = token or secrets.token_urlsafe(32)
        self._stop = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: an SDK's pool reuses the connection
            # One write per response, sent at once: headers and body in separate small
            # writes meet Nagle + delayed ACK, 40 ms per request on a kept-alive connection.
            wbufsize = -1
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                status, body = outer.answer(self.client_address[0],
                                            self.headers.get("Authorization"))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                if status == 503:
                    self.send_header("Retry-After", "1")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # CMD owns the terminal; nothing about requests belongs there

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/"
        self._threads: list[threading.Thread] = []

    def answer(self, peer: str, authorization: str | None) -> tuple[int, bytes]:
        if not peer.startswith("127."):
            return 403, b'{"message":"only loopback clients are served"}'
        if not authorization:
            return 401, b'{"message":"missing the authorization token"}'
        if not hmac.compare_digest(authorization.encode(), self.token.encode()):
            return 403, b'{"message":"wrong authorization token"}'
        try:
            session = self.credentials.current()
        except RefreshFailed as exc:
            return 503, json.dumps({"message": f"shellvault: {exc}"}).encode()
        return 200, ecs_json(session)

    def start(self) -> None:
        for target in (self.httpd.serve_forever, self._refresher):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)

    def _refresher(self) -> None:
        while not self._stop.is_set():
            session = self.credentials.session
            lead = 60.0
            if session is not None and session.credentials.expires is not None:
                # Short sessions with a long window leave little slack: refresh in its middle.
                slack = session.credentials.seconds_left() - self.credentials.window
                lead = min(60.0, max(1.0, slack / 2))
            if self._stop.wait(self.credentials.next_check(lead)):
                return
            self.credentials.refresh_ahead(lead)

    def stop(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


# -- who runs a server ---------------------------------------------------------------------


def _registry(environ: Mapping[str, str] = os.environ) -> Path:
    return state_dir(environ) / "servers"


def register(profile: str, url: str, environ: Mapping[str, str] = os.environ) -> Path:
    """A note (no token, no secret) that `list` reads: which profile, which pid, where."""
    path = _registry(environ) / f"{os.getpid()}.json"
    write_private_file(path, json.dumps({"profile": profile, "pid": os.getpid(), "url": url,
                                         "started": int(time.time())}).encode())
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running(environ: Mapping[str, str] = os.environ) -> list[dict[str, Any]]:
    """Servers whose process is alive; notes of dead ones are removed."""
    found: list[dict[str, Any]] = []
    try:
        paths = sorted(_registry(environ).glob("*.json"))
    except OSError:
        return found
    for path in paths:
        try:
            note = json.loads(path.read_text())
            pid = int(note["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if _alive(pid):
            found.append(note)
        else:
            path.unlink(missing_ok=True)
    return found


# -- running CMD ---------------------------------------------------------------------------


def child_environ(base: Mapping[str, str], contract: Mapping[str, str | None],
                  server: CredentialServer) -> dict[str, str]:
    """CMD's environment: the contract without keys, plus the endpoint and its token."""
    environ = dict(base)
    for name, value in contract.items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_SECURITY_TOKEN", "AWS_CREDENTIAL_EXPIRATION", "SHELLVAULT_EXPIRES",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE"):
        environ.pop(name, None)
    environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = server.url
    environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = server.token
    environ["SHELLVAULT_SERVER"] = server.url
    return environ


def run(argv: list[str], environ: dict[str, str], server: CredentialServer,
        profile: str) -> int:
    """Serve while CMD runs; CMD's exit code, or its death by signal re-raised here."""
    child: subprocess.Popen[bytes] | None = None
    pending: list[int] = []  # arrived before Popen returned (CMD may already be running)

    def forward(signum: int, _frame: Any) -> None:
        if child is None:
            pending.append(signum)
        elif child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signum)

    def ignore(_signum: int, _frame: Any) -> None:
        pass  # a handler, not SIG_IGN: CMD must not inherit an ignored Ctrl-C

    previous = {s: signal.signal(s, forward) for s in FORWARDED}
    previous.update({s: signal.signal(s, ignore) for s in FROM_TERMINAL})
    server.start()
    note = register(profile, server.url)
    try:
        sys.stdout.flush()
        try:
            child = subprocess.Popen(argv, env=environ)
            for signum in pending:
                forward(signum, None)
        except FileNotFoundError:
            sys.stderr.write(f"shellvault: command not found: {argv[0]}\n")
            return 127
        except PermissionError:
            sys.stderr.write(f"shellvault: permission denied: {argv[0]}\n")
            return 126
        code = child.wait()
    finally:
        server.stop()
        note.unlink(missing_ok=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if code < 0:
        # Die of the same signal, so the caller's shell sees what CMD saw.
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        return 128 - code
    return code
