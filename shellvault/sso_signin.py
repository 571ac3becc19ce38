"""Signing in to IAM Identity Center in the browser.

Which flow, as the AWS CLI (v2.22+) chooses: an ``[sso-session]`` uses the
authorization-code flow with PKCE (a one-shot listener on ``127.0.0.1`` receives the
browser's redirect); the legacy form (``sso_start_url`` on the profile) and
``--use-device-code`` use the device flow (a user code, CreateToken polling).

The page is opened with ``$BROWSER`` (``:``-separated commands, ``%s`` for the URL, as
Python's webbrowser reads it), else ``open`` on macOS or ``xdg-open`` under X/Wayland;
the URL (and the device flow's code) is always printed on stderr too, and is the only
thing done with ``--no-browser``. A browser is started detached, its output discarded,
so a terminal browser cannot take over a shell that is evaluating our output.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from typing import NamedTuple

from . import sso
from .sso import Registration, SignInExpired, SsoError, SsoTarget, Token
from .tty import notice

CALLBACK_PATH = "/oauth/callback"
REDIRECT_URI = "http://127.0.0.1" + CALLBACK_PATH  # registered without a port (RFC 8252)
AUTH_CODE_LIMIT = 600.0  # the AWS CLI waits 10 minutes for the browser's redirect
REGISTRATION_MARGIN = 86400  # re-register a client whose secret expires within a day


class SignInOptions(NamedTuple):
    no_browser: bool = False
    device_code: bool = False


def browser_commands(url: str, environ: Mapping[str, str]) -> list[list[str]]:
    """The commands that may show `url`, best first."""
    spec = environ.get("BROWSER", "").strip()
    out: list[list[str]] = []
    if spec:
        for part in spec.split(os.pathsep):
            try:
                words = shlex.split(part)
            except ValueError:
                continue
            if not words:
                continue
            if any("%s" in w for w in words):
                out.append([w.replace("%s", url) for w in words])
            else:
                out.append([*words, url])
        return out
    if sys.platform == "darwin":
        return [["open", url]]
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return [["xdg-open", url]]
    return out


# Secrets of our own that a browser has no business inheriting.
_KEEP_FROM_BROWSER = ("SHELLVAULT_FILE_PASSPHRASE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                      "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def open_browser(url: str, environ: Mapping[str, str]) -> bool:
    env = {k: v for k, v in environ.items() if k not in _KEEP_FROM_BROWSER}
    for argv in browser_commands(url, environ):
        if not shutil.which(argv[0], path=environ.get("PATH")):
            continue
        try:
            subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True, env=env)
        except OSError:
            continue
        return True
    return False


def _show(target: SsoTarget, url: str, code: str | None, options: SignInOptions,
          environ: Mapping[str, str]) -> None:
    what = f"IAM Identity Center ({target.label})"
    opened = not options.no_browser and open_browser(url, environ)
    if opened:
        notice(f"signing in to {what} in your browser; if no page opened, visit:")
    else:
        notice(f"to sign in to {what}, open this page in a browser:")
    # The URL on a line of its own, so that a terminal can select or open it whole.
    sys.stderr.write(f"  {url}\n")
    if code:
        notice(f"and check that it shows the code {code}")
    sys.stderr.flush()


def _reusable(previous: Token | None, pkce: bool) -> Registration | None:
    if previous is None:
        return None
    r = previous.registration
    if r.expires - time.time() < REGISTRATION_MARGIN:
        return None
    if ("authorization_code" in r.grant_types) != pkce:
        return None
    return r


def sign_in(target: SsoTarget, previous: Token | None, options: SignInOptions,
            environ: Mapping[str, str] = os.environ) -> Token:
    """A new token, after the user approves in the browser."""
    if target.legacy or options.device_code:
        return _device_flow(target, previous, options, environ)
    return _auth_code_flow(target, previous, options, environ)


def _device_flow(target: SsoTarget, previous: Token | None, options: SignInOptions,
                 environ: Mapping[str, str]) -> Token:
    registration = _reusable(previous, pkce=False) or sso.register_client(target)
    device = sso.start_device_authorization(target, registration)
    _show(target, device.verification_uri_complete, device.user_code, options, environ)
    token = sso.poll_device_token(target, registration, device)
    notice(f"signed in to IAM Identity Center ({target.label})")
    return token


def _pkce_pair() -> tuple[str, str]:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    verifier = "".join(secrets.choice(alphabet) for _ in range(64))
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _auth_code_flow(target: SsoTarget, previous: Token | None, options: SignInOptions,
                    environ: Mapping[str, str]) -> Token:
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from urllib.parse import parse_qs, urlsplit

    registration = _reusable(previous, pkce=True) or sso.register_client(
        target, redirect_uri=REDIRECT_URI)
    result: dict[str, str] = {}

    class Callback(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path != CALLBACK_PATH or result:
                self.send_error(404)
                return
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            result.update(query or {"error": "empty"})
            text = ("Signed in: you can close this tab and return to your shell."
                    if "code" in query else "Sign-in failed: return to your shell.")
            body = f"<html><body><p>shellvault: {text}</p></body></html>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = HTTPServer(("127.0.0.1", 0), Callback)  # loopback only, a port of the kernel's
    try:
        server.timeout = 1.0
        redirect = f"http://127.0.0.1:{server.server_address[1]}{CALLBACK_PATH}"
        verifier, challenge = _pkce_pair()
        state = str(uuid.uuid4())
        url = sso.authorize_url(target, registration, redirect_uri=redirect, state=state,
                                challenge=challenge)
        _show(target, url, None, options, environ)
        deadline = time.monotonic() + AUTH_CODE_LIMIT
        while not result:
            if time.monotonic() > deadline:
                raise SignInExpired(f"no answer from the browser for {target.label} within "
                                    f"{int(AUTH_CODE_LIMIT / 60)} minutes; run the command again"
                                    " (or use --use-device-code to sign in on another device)")
            server.handle_request()
    finally:
        server.server_close()
    if "code" not in result:
        raise SsoError(f"the sign-in to {target.label} did not succeed in the browser "
                       f"({result.get('error', 'no code')})")
    if result.get("state") != state:
        raise SsoError(f"the browser's answer for {target.label} does not belong to this "
                       "sign-in (state mismatch); nothing was changed")
    token = sso.token_from_code(target, registration, code=result["code"], redirect_uri=redirect,
                                verifier=verifier)
    notice(f"signed in to IAM Identity Center ({target.label})")
    return token
