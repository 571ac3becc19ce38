"""`shellvault exec --server PROFILE -- CMD`: the local ECS-format credential endpoint, with
real children (boto3, the AWS CLI, sh) against a real moto server process."""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pexpect
import pytest

from shellvault.creds import Credentials, Session
from shellvault.server import CredentialServer, ServedSession
from tests.conftest import require_program
from tests.world import client

# The child: boto3 and the AWS CLI through the endpoint, across a refresh of the session.
CHILD = textwrap.dedent('''
    import json, os, subprocess, sys, time, urllib.request, urllib.error
    import boto3

    out = {"env_keys": sorted(k for k in os.environ if k.startswith("AWS_"))}
    url = os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    token = os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]

    def fetch(auth):
        request = urllib.request.Request(url, headers={"Authorization": auth} if auth else {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read()), time.time()
        except urllib.error.HTTPError as exc:
            return exc.code, None, time.time()

    def aws(*args):
        done = subprocess.run(["aws", *args, "--output", "json"], capture_output=True,
                              text=True, timeout=120)
        return done.returncode, done.stdout, done.stderr

    s3 = boto3.client("s3")
    out["boto3_before"] = sorted(b["Name"] for b in s3.list_buckets()["Buckets"])
    out["boto3_key_before"] = boto3.Session().get_credentials().get_frozen_credentials().access_key
    out["cli_before"] = aws("sts", "get-caller-identity")
    first = fetch(token)
    deadline = time.time() + 120
    while True:  # until the server hands out a new session (the window forces one)
        second = fetch(token)
        if second[1]["AccessKeyId"] != first[1]["AccessKeyId"] or time.time() > deadline:
            break
        time.sleep(0.5)
    out["served"] = [first, second]
    out["boto3_after"] = sorted(b["Name"] for b in s3.list_buckets()["Buckets"])
    out["boto3_key_after"] = s3._request_signer._credentials.get_frozen_credentials().access_key
    out["cli_after"] = aws("s3api", "list-buckets")
    out["no_token"] = fetch(None)[0]
    out["wrong_token"] = fetch("x" + token)[0]
    json.dump(out, open(sys.argv[1], "w"))
''')


@pytest.fixture
def home(aws_home: Any, world: Any) -> Any:
    require_program("aws")
    # The MFA session is cached once; every refresh after that is silent.
    aws_home.run("auth", "--mfa-token", world.mfa_code(), "central", check=True)
    return aws_home


def _valid(moto_url: str, served: dict[str, Any]) -> str:
    sts = client(moto_url, "sts", credentials=(served["AccessKeyId"], served["SecretAccessKey"],
                                                served["Token"]))
    return str(sts.get_caller_identity()["Arn"])


def _epoch(rfc3339: str) -> float:
    import calendar
    import time

    return calendar.timegm(time.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ"))


def test_boto3_and_the_aws_cli_keep_working_across_a_forced_refresh(
        home: Any, world: Any, moto_server: Any, tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    result = tmp_path / "result.json"
    moto_server.mark()
    # 15-minute role sessions and a window just under that: within seconds a session
    # has less than the window left and the next request must get a new one.
    done = home.run("exec", "--server", "--duration", "15m", "--refresh-window", "890s",
                    "account-a", "--", sys.executable, str(script), str(result), timeout=240)
    assert done.returncode == 0, done.stderr
    out = json.loads(result.read_text())
    assert "AWS_ACCESS_KEY_ID" not in out["env_keys"]
    assert "AWS_SECRET_ACCESS_KEY" not in out["env_keys"]
    assert {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN"} \
        <= set(out["env_keys"])
    assert out["boto3_before"] == out["boto3_after"] == [world.account_a_bucket]
    code, stdout, stderr = out["cli_before"]
    assert code == 0, stderr
    assert json.loads(stdout)["Account"] == world.account_a
    code, stdout, stderr = out["cli_after"]
    assert code == 0, stderr
    assert [b["Name"] for b in json.loads(stdout)["Buckets"]] == [world.account_a_bucket]

    (s1, first, t1), (s2, second, t2) = out["served"]
    assert s1 == s2 == 200
    assert first["AccessKeyId"] != second["AccessKeyId"]
    for served, at in ((first, t1), (second, t2)):
        assert _valid(moto_server.url, served).startswith(
            f"arn:aws:sts::{world.account_a}:assumed-role/Admin/")
        # Never less than the window left when served (Expiration is whole seconds).
        assert _epoch(served["Expiration"]) - at >= 890 - 1
    # boto3 went back to the server and picked up a newer session itself.
    assert out["boto3_key_after"] != out["boto3_key_before"]
    # Refreshes were silent (no MFA code): AssumeRole only, from the cached MFA session.
    calls = moto_server.sts_calls()
    assert "GetSessionToken" not in calls
    assert calls.count("AssumeRole") >= 2
    assert out["no_token"] == 401
    assert out["wrong_token"] == 403


def test_exit_code_passes_through_and_the_server_is_gone_after(home: Any,
                                                                tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    done = home.run("exec", "--server", "account-a", "--", "sh", "-c",
                    f'echo "$AWS_CONTAINER_CREDENTIALS_FULL_URI" > {seen}; '
                    f'shellvault list --json >> {seen}; exit 7')
    assert done.returncode == 7, done.stderr
    assert done.stdout == ""
    url, listing = seen.read_text().split("\n", 1)
    assert url.startswith("http://127.0.0.1:")
    rows = {row["profile"]: row for row in json.loads(listing)}
    assert [s["url"] for s in rows["account-a"]["servers"]] == [url]
    assert rows["account-b"]["servers"] == []
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=5)
    after = home.run("list", "--json", check=True)
    assert all(row["servers"] == [] for row in json.loads(after.stdout))


def _spawn(home: Any, *args: str) -> pexpect.spawn:
    return pexpect.spawn(home.shellvault, list(args), env=home.env, encoding="utf-8",
                         timeout=60, cwd=str(home.home))


def test_ctrl_c_reaches_cmd_not_the_server(home: Any) -> None:
    # CMD traps SIGINT and keeps using the server afterwards: the server must still be up.
    child = _spawn(home, "exec", "--server", "account-a", "--", "sh", "-c",
                   'trap \'echo got-int; aws sts get-caller-identity --query Account '
                   '--output text; exit 42\' INT; echo ready; '
                   'while :; do sleep 0.1; done')
    child.expect("ready")
    child.sendintr()
    child.expect("got-int")
    child.expect(r"(\d{12})")
    account = child.match.group(1)
    child.expect(pexpect.EOF)
    child.close()
    assert account == "222222222222"
    assert child.exitstatus == 42


def test_death_by_sigint_passes_through(home: Any) -> None:
    child = _spawn(home, "exec", "--server", "account-a", "--", "sh", "-c",
                   "echo ready; exec sleep 60")
    child.expect("ready")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus is None
    assert child.signalstatus == signal.SIGINT


def test_a_signal_to_the_server_is_forwarded(home: Any, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    child = _spawn(home, "exec", "--server", "account-a", "--", "sh", "-c",
                   f"trap 'echo got-term; exit 3' TERM; echo $$ > {pid_file}; echo ready; "
                   "while :; do sleep 0.1; done")
    child.expect("ready")
    os.kill(child.pid, signal.SIGTERM)  # the server (shellvault) itself, not CMD
    child.expect("got-term")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 3


@pytest.mark.parametrize("args, message, code", [
    (["--refresh-window", "5s"], "--refresh-window", 2),
    (["--region", "moon-1"], "not a region name", 2),
    (["--duration", "15m"], "less than the server's refresh window", 1),
])
def test_bad_input_is_one_line_and_cmd_never_runs(home: Any, tmp_path: Path, moto_server: Any,
                                                  args: list[str], message: str,
                                                  code: int) -> None:
    marker = tmp_path / "ran"
    index = home.state_dir / "index.json"
    before = index.read_text()
    if code == 2:
        moto_server.mark()
    done = home.run("exec", "--server", *args, "account-a", "--", "touch", str(marker))
    assert done.returncode == code
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert not marker.exists()
    if code == 2:
        assert index.read_text() == before
        assert moto_server.sts_calls() == []


def test_refresh_window_needs_server(home: Any) -> None:
    done = home.run("exec", "--refresh-window", "15m", "account-a", "--", "true")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "--server" in done.stderr


def _session(seconds: int) -> Session:
    import time

    return Session(Credentials("ASIAEXAMPLEEXAMPLE01", "secret" * 6, "token",
                               int(time.time()) + seconds))


def test_only_loopback_with_the_token_is_served() -> None:
    served = ServedSession(lambda interactive, min_ttl: _session(3600), 900, "p")
    served.first(_session(3600))
    server = CredentialServer(served)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.answer("10.1.2.3", server.token)[0] == 403
        assert server.answer("127.0.0.1", None)[0] == 401
        assert server.answer("127.0.0.1", "wrong")[0] == 403
        status, body = server.answer("127.0.0.1", server.token)
        assert status == 200
        assert json.loads(body)["AccessKeyId"] == "ASIAEXAMPLEEXAMPLE01"
    finally:
        server.httpd.server_close()


def _answer_once_the_clock_moved(issue: Any) -> tuple[int, bytes]:
    """One request to a server whose session (1000 s) has 899 s left: under its 900 s
    window, so the answer needs `issue`."""
    served = ServedSession(issue, 900, "p")
    served.first(_session(1000))
    served._session = _session(899)  # the clock moved on
    server = CredentialServer(served)
    try:
        return server.answer("127.0.0.1", server.token)
    finally:
        server.httpd.server_close()


def test_a_session_under_the_window_is_never_served() -> None:
    issued: list[int] = []

    def issue(interactive: bool, min_ttl: int) -> Session:
        issued.append(min_ttl)
        return _session(1000)

    status, body = _answer_once_the_clock_moved(issue)
    assert status == 200
    assert issued == [900]
    assert _epoch(json.loads(body)["Expiration"]) >= _session(1000).credentials.expires - 1


# The child of the MFA tests: one line per change of what the server answers.
WATCHER = textwrap.dedent('''
    import json, os, sys, time, urllib.request, urllib.error
    url = os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    token = os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
    first, last, failed = None, None, False
    deadline = time.time() + 150
    while time.time() < deadline:
        request = urllib.request.Request(url, headers={"Authorization": token})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                seen = "200 " + json.loads(response.read())["AccessKeyId"]
        except urllib.error.HTTPError as exc:
            seen, failed = f"{exc.code} -", True
        if seen != last:
            print("served", seen, flush=True)
            last = seen
        first = first or seen
        if seen.startswith("200") and seen != first and (failed or sys.argv[1] == "any"):
            print("watcher done", flush=True)
            sys.exit(0)
        time.sleep(0.3)
    sys.exit(9)
''')

# MFA sessions of 15 minutes that count as stale 5 seconds after they are made: the
# server's next refresh of the role needs a new MFA code.
SHORT_MFA = {"SHELLVAULT_CHAINED_SESSION_TTL": "15m", "SHELLVAULT_MIN_TTL": "895"}
MFA_PROMPT = r"MFA code for \S+: "


def _serve_watched(home: Any, tmp_path: Path, mode: str) -> pexpect.spawn:
    script = tmp_path / "watcher.py"
    script.write_text(WATCHER)
    home.env.update(SHORT_MFA)
    return _spawn(home, "exec", "--server", "--duration", "15m", "--refresh-window", "890s",
                  "account-a", "--", sys.executable, str(script), mode)


def test_a_refresh_that_needs_a_code_asks_on_the_terminal(aws_home: Any, world: Any,
                                                           tmp_path: Path) -> None:
    child = _serve_watched(aws_home, tmp_path, "any")
    child.expect(MFA_PROMPT)  # the first session, before CMD starts
    child.sendline(world.mfa_code())
    child.expect(r"served 200 (\S+)")
    child.expect(MFA_PROMPT)  # the server's refresh, while CMD runs
    child.sendline(world.mfa_code())
    child.expect("watcher done")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_a_refused_prompt_is_not_repeated_and_auth_elsewhere_unblocks(
        aws_home: Any, world: Any, tmp_path: Path) -> None:
    child = _serve_watched(aws_home, tmp_path, "after-failure")
    child.expect(MFA_PROMPT)
    child.sendline(world.mfa_code())
    child.expect(MFA_PROMPT)
    child.sendcontrol("d")  # no answer: the server must not ask again
    child.expect("run 'shellvault auth account-a' in another terminal")
    child.expect(r"served 503")
    # Another terminal signs in; the server picks the session up from the vault.
    aws_home.run("auth", "--mfa-token", world.mfa_code(), "account-a", check=True)
    index = child.expect(["watcher done", MFA_PROMPT])
    assert index == 0, "the server asked for a code again"
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_an_unexpected_refresh_error_is_a_503_and_one_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    def issue(interactive: bool, min_ttl: int) -> Session:
        raise OSError(28, "No space left on device")

    status, body = _answer_once_the_clock_moved(issue)
    assert status == 503
    assert "OSError" in json.loads(body)["message"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "OSError" in err and "Traceback" not in err
