"""The AWS console sign-in (`shellvault login`): a session -> a federation sign-in token ->
a login URL, as https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_enable-console-custom-url.html
describes and aws-vault does.

The sign-in token is a bearer credential for the console (15 minutes). To keep it out of
the browser's argv (visible in `ps` to every user of the machine) the browser is given a
one-time http://127.0.0.1 address that redirects to the sign-in URL once.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import ShellvaultError, UsageError

if TYPE_CHECKING:
    from .config import Profile
    from .creds import Credentials, Session
    from .engine import Engine

# partition -> (federation endpoint, console host)
PARTITIONS: dict[str, tuple[str, str]] = {
    "aws": ("https://signin.aws.amazon.com/federation", "console.aws.amazon.com"),
    "aws-cn": ("https://signin.amazonaws.cn/federation", "console.amazonaws.cn"),
    "aws-us-gov": ("https://signin.amazonaws-us-gov.com/federation",
                   "console.amazonaws-us-gov.com"),
}
ISSUER = "shellvault"
SIGNIN_TIMEOUT = 15.0  # seconds for the federation endpoint to answer
BROWSER_WAIT = 120.0  # seconds for a starting browser to fetch the one-time address
ROLE_CONSOLE_LIMIT = 43200  # SessionDuration: AWS's 12 h maximum for a console session
_PATH_RE = re.compile(r"^[A-Za-z0-9._~!$&'()*+,;=:@%/?#-]*$")


def partition_of(profile: Profile, region: str | None) -> str:
    """The partition of a profile: from its ARNs (role, MFA device), else from the region."""
    for p in reversed(profile.chain()):
        for arn in (p.role_arn, p.mfa_serial):
            if arn and arn.startswith("arn:"):
                name = arn.split(":")[1]
                if name in PARTITIONS:
                    return name
    if region and region.startswith("cn-"):
        return "aws-cn"
    if region and region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def check_path(path: str | None) -> str:
    """--path: a place on the console host (e.g. `s3`, `ec2/home#Instances`), nothing else."""
    if not path:
        return ""
    cleaned = path.strip().lstrip("/")
    if "://" in cleaned or not _PATH_RE.match(cleaned) or cleaned.startswith("/"):
        raise UsageError(f"--path {path!r} is not a console path (e.g. s3, ec2/home)")
    return cleaned


def destination(partition: str, region: str | None, path: str) -> str:
    """The console page to land on (aws-vault's choice of URL for a region and a path)."""
    host = PARTITIONS[partition][1]
    if not region:
        return f"https://{host}/{path}"
    base = f"https://{region}.{host}"
    if not path:
        return f"{base}/console/home?region={region}"
    joiner = "&" if "?" in path.split("#", 1)[0] else "?"
    if "#" in path:
        page, fragment = path.split("#", 1)
        return f"{base}/{page}{joiner}region={region}#{fragment}"
    return f"{base}/{path}{joiner}region={region}"


def federation_endpoint(partition: str, environ: Mapping[str, str] = os.environ) -> str:
    override = environ.get("SHELLVAULT_FEDERATION_URL", "").strip()
    if not override:
        return PARTITIONS[partition][0]
    parts = urllib.parse.urlsplit(override)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise UsageError(f"SHELLVAULT_FEDERATION_URL={override!r} is not an http(s) URL "
                         "without a query")
    return override


def signin_token(creds: Credentials, endpoint: str, session_duration: int | None = None) -> str:
    """getSigninToken: the federation endpoint's token for a temporary session."""
    session = json.dumps({"sessionId": creds.access_key_id, "sessionKey": creds.secret_access_key,
                          "sessionToken": creds.session_token or ""})
    query: dict[str, str] = {"Action": "getSigninToken", "Session": session}
    if session_duration:
        query["SessionDuration"] = str(session_duration)
    request = urllib.request.Request(f"{endpoint}?{urllib.parse.urlencode(query)}",
                                     headers={"User-Agent": "shellvault"})
    where = urllib.parse.urlsplit(endpoint).netloc
    try:
        with urllib.request.urlopen(request, timeout=SIGNIN_TIMEOUT) as response:
            body = response.read(65536)
    except urllib.error.HTTPError as exc:
        raise ShellvaultError(
            f"the AWS sign-in endpoint {where} refused the session (HTTP {exc.code}); "
            "a role whose session is older or longer than the console allows, or a key that "
            "was just rotated, can cause this: run 'shellvault clear' and try again") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ShellvaultError(f"cannot reach the AWS sign-in endpoint {where} ({reason}); "
                              "check your network or SHELLVAULT_FEDERATION_URL") from None
    try:
        token = json.loads(body)["SigninToken"]
    except (ValueError, KeyError, TypeError):
        raise ShellvaultError(f"the AWS sign-in endpoint {where} answered without a "
                              "SigninToken") from None
    if not isinstance(token, str) or not token:
        raise ShellvaultError(f"the AWS sign-in endpoint {where} answered an empty SigninToken")
    return token


def login_url(endpoint: str, landing: str, token: str) -> str:
    query = urllib.parse.urlencode(
        {"Action": "login", "Issuer": ISSUER, "Destination": landing, "SigninToken": token})
    return f"{endpoint}?{query}"


# -- the browser ---------------------------------------------------------------------------


class _OneShot:
    """http://127.0.0.1:PORT/<random> answers one GET with a redirect to the sign-in URL,
    then every request with 404: the browser's argv holds only that spent address."""

    def __init__(self, target: str) -> None:
        from http.server import BaseHTTPRequestHandler, HTTPServer

        self.target = target
        self.served = threading.Event()
        secret_path = "/" + secrets.token_urlsafe(24)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == secret_path and not outer.served.is_set():
                    outer.served.set()
                    self.send_response(302)
                    self.send_header("Location", outer.target)
                    self.send_header("Cache-Control", "no-store")
                    self.send_header("Referrer-Policy", "no-referrer")
                else:
                    self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # nothing about the request belongs on the user's terminal

        class Quiet(HTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a browser that hangs up early: no traceback on the terminal

        self.server = Quiet(("127.0.0.1", 0), Handler)
        self.server.timeout = 0.2
        self.address = f"http://127.0.0.1:{self.server.server_port}{secret_path}"

    def wait(self, timeout: float) -> bool:
        import time

        deadline = time.monotonic() + timeout
        try:
            while not self.served.is_set() and time.monotonic() < deadline:
                self.server.handle_request()
        finally:
            self.server.server_close()
        return self.served.is_set()


def _run_browser(command: str, address: str) -> None:
    """$BROWSER (os.pathsep-separated commands, `%s` for the URL, as `webbrowser` reads it)."""
    problems: list[str] = []
    for entry in (c.strip() for c in command.split(os.pathsep)):
        if not entry:
            continue
        try:
            words = shlex.split(entry)
        except ValueError:
            problems.append(f"cannot parse {entry!r}")
            continue
        argv = ([w.replace("%s", address) for w in words] if "%s" in entry
                else [*words, address])
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    start_new_session=True)
        except OSError as exc:
            problems.append(f"{words[0]}: {exc.strerror or exc.__class__.__name__}")
            continue
        try:
            code = proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            return  # a browser that stays in the foreground: it has the address
        if code == 0:
            return
        problems.append(f"{words[0]} exited with {code}")
    raise ShellvaultError(f"$BROWSER could not open the sign-in page ({'; '.join(problems)}); "
                          "use --stdout to print the URL instead")


def open_in_browser(url: str, environ: Mapping[str, str] = os.environ) -> None:
    one_shot = _OneShot(url)
    browser = environ.get("BROWSER", "").strip()
    try:
        if browser:
            _run_browser(browser, one_shot.address)
        else:
            import webbrowser

            try:
                opened = webbrowser.open(one_shot.address)
            except webbrowser.Error:
                opened = False
            if not opened:
                raise ShellvaultError("no web browser found (set $BROWSER); use --stdout to "
                                      "print the sign-in URL instead")
    except BaseException:
        one_shot.server.server_close()
        raise
    if not one_shot.wait(BROWSER_WAIT):
        raise ShellvaultError(f"the browser did not open the sign-in page within "
                              f"{int(BROWSER_WAIT)}s; use --stdout to print the URL instead")


# -- which session signs in ----------------------------------------------------------------


def federated_name(profile_name: str) -> str:
    """GetFederationToken's Name: 2-32 of [\\w+=,.@-]; it shows in the console's top bar."""
    name = re.sub(r"[^\w+=,.@-]", "-", f"shellvault-{profile_name}")
    return name[:32]


def needs_federation(profile: Profile) -> bool:
    """A chain without a role (nor SSO, nor credential_process) signs in as a federated user:
    the console takes no GetSessionToken session."""
    chain = profile.chain()
    return not any(p.role_arn or p.is_sso for p in chain) and not chain[0].credential_process


FEDERATION_NOTE = (
    "{profile} has no role, so the console session is a federated user of {user} "
    "(GetFederationToken, {duration}): it has the IAM user's permissions but cannot use IAM "
    "or STS (the IAM console, switching roles) and carries no MFA. A profile with role_arn "
    "signs in as that role instead."
)


def federation_session(engine: Engine, profile: Profile, duration: int | None) -> Session:
    """GetFederationToken with the root's stored keys (it takes no session credentials)."""
    from . import sts

    root = profile.root()
    master = engine.vault.get_master(root.name)
    if master is None:
        raise UsageError(f"no access key stored for profile {root.name} in the "
                         f"{engine.vault.store.describe()}; run 'shellvault add {root.name}'")
    return sts.get_federation_token(master, profile_name=root.name, region=profile.region,
                                    name=federated_name(root.name), duration=duration or 3600)
