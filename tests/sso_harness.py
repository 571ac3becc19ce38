"""Fixtures for the SSO tests: the stand-in IAM Identity Center server (a real process,
``tests/sso_standin.py``) next to the session's moto server, and a user whose
``~/.aws/config`` has an ``[sso-session]`` and whose ``$BROWSER`` approves
(``tests/sso_browser.py``).

Import the fixtures into a test module: ``from tests.sso_harness import sso_server,
sso_home  # noqa: F401``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT, MotoServer, SvHome, _stop_pid_tree, _wait_until
from tests.world import ACCOUNT_A, ACCOUNT_B, World

START_URL = "https://example-corp.awsapps.com/start"
SSO_REGION = "eu-central-1"
SESSION = "corp"

#: What the stand-in's user may reach: account-a and account-b of the walkthrough's moto
#: world (so the issued credentials list those accounts' buckets), two roles in account-a.
ASSIGNMENTS: list[dict[str, Any]] = [
    {"accountId": ACCOUNT_A, "accountName": "account-a", "emailAddress": "a@example.com",
     "roles": ["Admin", "ReadOnly"]},
    {"accountId": ACCOUNT_B, "accountName": "Account B (prod)", "emailAddress": "b@example.com",
     "roles": ["Admin"]},
]


class SsoServer:
    """The stand-in process; ``stats()``, ``control(what, body)`` talk to its test API."""

    def __init__(self, workdir: Path, moto_url: str) -> None:
        self.workdir = workdir
        self.moto_url = moto_url
        self.log_path = workdir / "sso_standin.log"
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "tests.sso_standin", "--moto", self.moto_url,
                 "--start-url", START_URL, "--region", SSO_REGION,
                 "--accounts", json.dumps(ASSIGNMENTS)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=REPO_ROOT, start_new_session=True,
            )
        pattern = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")

        def announced() -> bool:
            found = pattern.search(self.log_path.read_text(errors="replace"))
            if found:
                self.url = found.group(1)
            return found is not None

        _wait_until("sso stand-in start", announced, timeout, self._proc)

    def stop(self) -> None:
        if self._proc is not None:
            _stop_pid_tree(self._proc)
            self._proc = None

    def control(self, what: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}/_standin/{what}", data=data,
                                         method="POST" if body is not None else "GET")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def stats(self) -> dict[str, int]:
        counts: dict[str, int] = self.control("stats")["counts"]
        return counts

    def tokens(self) -> tuple[list[str], list[str]]:
        """(live access tokens, live refresh tokens) the stand-in has issued."""
        stats = self.control("stats")
        return stats["access_tokens"], stats["refresh_tokens"]

    def reset(self, **settings: Any) -> None:
        self.control("reset", {})
        defaults: dict[str, Any] = {"token_seconds": 28800, "role_seconds": 3600,
                                    "page_size": 20, "device_seconds": 600, "interval": 1,
                                    "slow_down_first": 0, "accounts": ASSIGNMENTS}
        defaults.update(settings)
        self.control("settings", defaults)


@pytest.fixture(scope="session")
def sso_server(tmp_path_factory: pytest.TempPathFactory, moto_server: MotoServer,
               world: World) -> Iterator[SsoServer]:
    server = SsoServer(tmp_path_factory.mktemp("sso"), moto_server.url)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def sso_config(extra: str = "") -> str:
    """A config with comments, the sso-session, two accounts' profiles, a legacy profile
    and a role chained from an SSO profile."""
    text = (
        "# my AWS config\n"
        f"[sso-session {SESSION}]\n"
        f"sso_start_url = {START_URL}\n"
        f"sso_region = {SSO_REGION}\n"
        "sso_registration_scopes = sso:account:access\n"
        "\n"
        "[profile sso-a]\n"
        f"sso_session = {SESSION}\n"
        f"sso_account_id = {ACCOUNT_A}\n"
        "sso_role_name = Admin\n"
        "region = eu-west-1\n"
        "\n"
        "; account B, production\n"
        "[profile sso-b]\n"
        f"sso_session = {SESSION}\n"
        f"sso_account_id = {ACCOUNT_B}\n"
        "sso_role_name = Admin\n"
        "region = us-west-2\n"
        "\n"
        "[profile legacy-a]\n"
        f"sso_start_url = {START_URL}\n"
        f"sso_region = {SSO_REGION}\n"
        f"sso_account_id = {ACCOUNT_A}\n"
        "sso_role_name = ReadOnly\n"
        "\n"
        "[profile chained-b]\n"
        "source_profile = sso-a\n"
        f"role_arn = arn:aws:iam::{ACCOUNT_B}:role/Admin\n"
        "region = us-west-2\n"
    )
    return text + (("\n" + extra.strip("\n") + "\n") if extra else "")


@pytest.fixture
def sso_home(sv_home: SvHome, world: World, moto_server: MotoServer,
             sso_server: SsoServer) -> SvHome:
    """A user with ``sso_config()``, both endpoints set by the standard variables, and
    the approving ``$BROWSER`` logging each tab to ``browser.log`` in HOME."""
    sso_server.reset()
    sv_home.write_config(sso_config())
    sv_home.env.update(world.env())
    sv_home.env.update({
        "AWS_ENDPOINT_URL_SSO": sso_server.url,
        "AWS_ENDPOINT_URL_SSO_OIDC": sso_server.url,
        "BROWSER": f"{sys.executable} {REPO_ROOT / 'tests' / 'sso_browser.py'}",
        "SSO_BROWSER_LOG": str(sv_home.home / "browser.log"),
    })
    moto_server.mark()
    return sv_home


def browser_tabs(home: SvHome) -> list[str]:
    """The URLs the fake browser was asked to open, one per tab."""
    log = home.home / "browser.log"
    return log.read_text().splitlines() if log.exists() else []


def wait_for(what: str, predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)
