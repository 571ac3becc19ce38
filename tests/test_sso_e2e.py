"""IAM Identity Center profiles end to end: the installed `shellvault` against the stand-in
IAM Identity Center (``tests/sso_standin.py``, a real process) whose role credentials moto
accepts, with a `$BROWSER` that approves (``tests/sso_browser.py``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from tests.conftest import MotoServer, SvHome
from tests.sso_harness import (
    SESSION,
    SsoServer,
    browser_tabs,
    sso_config,
    sso_home,
    sso_server,
    wait_for,
)
from tests.test_engine_e2e import env_dict
from tests.world import ACCOUNT_A, ACCOUNT_B, World

__all__ = ["sso_home", "sso_server"]

ENDED = ("shellvault: the IAM Identity Center session corp has ended: run "
         "'shellvault sso login {}'\n")


def _env(home: SvHome, profile: str, *extra: str) -> dict[str, str | None]:
    done = home.run("env", "--shell", "bash", *extra, profile)
    assert done.returncode == 0, done.stderr
    return env_dict(done.stdout)


def _creds(values: dict[str, str | None]) -> tuple[str, str, str | None]:
    return (str(values["AWS_ACCESS_KEY_ID"]), str(values["AWS_SECRET_ACCESS_KEY"]),
            values["AWS_SESSION_TOKEN"])


def test_one_browser_approval_serves_two_accounts_and_every_command(
        sso_home: SvHome, sso_server: SsoServer, moto_server: MotoServer, world: World,
        tmp_path: Path) -> None:
    a = _env(sso_home, "sso-a")
    b = _env(sso_home, "sso-b")
    assert world.bucket_names(_creds(a)) == [world.account_a_bucket]
    assert world.bucket_names(_creds(b)) == [world.account_b_bucket]
    assert (a["SHELLVAULT_ACCOUNT"], b["SHELLVAULT_ACCOUNT"]) == (ACCOUNT_A, ACCOUNT_B)
    assert (a["AWS_REGION"], a["SHELLVAULT_PROFILE"]) == ("eu-west-1", "sso-a")
    stats = sso_server.stats()
    assert stats["approvals"] == 1 and stats["RegisterClient"] == 1
    assert len(browser_tabs(sso_home)) == 1
    assert stats[f"GetRoleCredentials:{ACCOUNT_A}:Admin"] == 1
    assert stats[f"GetRoleCredentials:{ACCOUNT_B}:Admin"] == 1

    # Served from the vault, without boto3: no portal call.
    done = sso_home.run_program(["python", "-X", "importtime", "-m", "shellvault", "env",
                                 "--shell", "bash", "sso-a"])
    assert done.returncode == 0, done.stderr
    assert env_dict(done.stdout)["AWS_ACCESS_KEY_ID"] == a["AWS_ACCESS_KEY_ID"]
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    assert "shellvault" in imported
    assert not any(name.split(".")[0] in ("boto3", "botocore") for name in imported)
    assert sso_server.stats()["GetRoleCredentials"] == 2

    # A role assumed from an SSO profile, with the SSO profile's cached credentials.
    moto_server.mark()
    chained = _env(sso_home, "chained-b")
    assert chained["SHELLVAULT_ACCOUNT"] == ACCOUNT_B
    assert world.bucket_names(_creds(chained)) == [world.account_b_bucket]
    assert [c.access_key_id for c in moto_server.calls("sts") if c.action == "AssumeRole"] == [
        a["AWS_ACCESS_KEY_ID"]]

    exported = json.loads(sso_home.run("export", "sso-b", check=True).stdout)
    assert exported["Version"] == 1 and exported["AccessKeyId"] == b["AWS_ACCESS_KEY_ID"]
    done = sso_home.run("exec", "sso-b", "--", "sh", "-c",
                        'printf "%s %s" "$SHELLVAULT_PROFILE" "$AWS_ACCESS_KEY_ID"')
    assert done.stdout == f"sso-b {exported['AccessKeyId']}", done.stderr
    fetch = ("import json, os, urllib.request as u; r = u.Request(os.environ["
             "'AWS_CONTAINER_CREDENTIALS_FULL_URI'], headers={'Authorization': os.environ["
             "'AWS_CONTAINER_AUTHORIZATION_TOKEN']}); "
             "print(json.load(u.urlopen(r, timeout=20))['AccessKeyId'])")
    served = sso_home.run("exec", "--server", "sso-b", "--", "python", "-c", fetch)
    assert served.stdout.strip() == exported["AccessKeyId"], served.stderr
    assert sso_server.stats()["approvals"] == 1

    # No token of the sign-in anywhere on disk in the clear (nor an AWS CLI cache).
    access, refresh = sso_server.tokens()
    assert access and refresh
    found = [str(p) for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink()
             and any(t.encode() in p.read_bytes() for t in [*access, *refresh])]
    assert found == []
    assert not (sso_home.home / ".aws" / "sso").exists()


def test_ten_concurrent_cold_envs_cause_one_authorization(sso_home: SvHome,
                                                         sso_server: SsoServer) -> None:
    procs = [
        subprocess.Popen([sso_home.shellvault, "env", "--shell", "bash",
                          "sso-a" if i % 2 else "sso-b"],
                         env=sso_home.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, text=True, start_new_session=True)
        for i in range(10)
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0] * 10, [e for _, e in outputs]
    stats = sso_server.stats()
    assert stats["approvals"] == 1
    assert stats["RegisterClient"] == 1
    assert stats["CreateToken:authorization_code"] == 1
    assert len(browser_tabs(sso_home)) == 1
    keys = {env_dict(out)["AWS_ACCESS_KEY_ID"] for out, _ in outputs}
    assert len(keys) == 2  # one session per profile, shared by its five shells


def test_no_input_does_not_wait_behind_a_browser_sign_in(sso_home: SvHome,
                                                         sso_server: SsoServer) -> None:
    sso_server.control("settings", {"token_seconds": 600})  # due for a refresh: needs the lock
    sso_home.run("sso", "login", SESSION, check=True)
    sso_server.control("end-sessions", {})  # so the refresh fails and a sign-in begins
    # A role chained from sso-a: this process holds chained-b's lock while it signs in.
    holder = subprocess.Popen(
        [sso_home.shellvault, "env", "chained-b"], env={**sso_home.env,
                                                        "SSO_BROWSER_MODE": "ignore"},
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        wait_for("the second browser tab", lambda: len(browser_tabs(sso_home)) == 2)
        done = sso_home.run("env", "--no-input", "sso-a")
        assert (done.returncode, done.stdout) == (5, ""), done.stderr
        assert done.stderr == ("shellvault: a browser sign-in to IAM Identity Center (corp) is "
                               "in progress in another shell; finish it or run 'shellvault sso "
                               "login sso-a'\n")
        chained = sso_home.run("env", "--no-input", "chained-b")
        assert (chained.returncode, chained.stdout) == (3, "")
        assert "waiting for an answer" in chained.stderr and chained.stderr.count("\n") == 1
        assert holder.poll() is None  # both answered while the sign-in waits for the browser
        os.kill(holder.pid, signal.SIGINT)  # Ctrl-C at the waiting sign-in
        assert holder.wait(timeout=30) == 130
    finally:
        if holder.poll() is None:
            os.killpg(holder.pid, signal.SIGTERM)
            holder.wait(timeout=10)


def test_bad_profile_settings_are_one_line(sso_home: SvHome) -> None:
    sso_home.write_config(sso_config("[profile half]\nsso_session = corp\n"
                                     "sso_account_id = 123456789012\n"))
    done = sso_home.run("env", "half")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("shellvault: profile half uses IAM Identity Center but has no "
                           "sso_role_name (shellvault sso sync writes them)\n")
    done = sso_home.run("sso", "login", "nothing")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    down = sso_home.run("sso", "login", "corp", env={"AWS_ENDPOINT_URL_SSO_OIDC":
                                                     "http://127.0.0.1:9"})
    assert (down.returncode, down.stdout) == (1, "")
    assert down.stderr == ("shellvault: cannot reach IAM Identity Center at "
                           "http://127.0.0.1:9; check your network, proxy, sso_region or "
                           "AWS_ENDPOINT_URL_SSO_OIDC; nothing was changed\n")


def _sync_expected(before: str) -> str:
    return before + (
        "\n"
        "[profile account-a-Admin]\n"
        "sso_session = corp\n"
        f"sso_account_id = {ACCOUNT_A}\n"
        "sso_role_name = Admin\n"
        "region = eu-central-1\n"
        "\n"
        "[profile account-a-ReadOnly]\n"
        "sso_session = corp\n"
        f"sso_account_id = {ACCOUNT_A}\n"
        "sso_role_name = ReadOnly\n"
        "region = eu-central-1\n"
        "\n"
        "[profile Account-B-prod-Admin]\n"
        "sso_session = corp\n"
        f"sso_account_id = {ACCOUNT_B}\n"
        "sso_role_name = Admin\n"
        "region = eu-central-1\n"
    )


def test_ended_session_login_and_logout(sso_home: SvHome, sso_server: SsoServer) -> None:
    _env(sso_home, "sso-a")
    sso_server.control("end-sessions", {})  # signed out elsewhere / session ended
    sso_home.run("clear", check=True)
    done = sso_home.run("env", "--no-input", "sso-a")
    assert (done.returncode, done.stdout, done.stderr) == (5, "", ENDED.format("sso-a"))
    assert len(browser_tabs(sso_home)) == 1  # no browser without being asked

    done = sso_home.run("sso", "login", "sso-b")  # a profile names its session
    assert done.returncode == 0 and done.stdout == "", done.stderr
    assert "IAM Identity Center (corp) ready" in done.stderr
    assert len(browser_tabs(sso_home)) == 2
    assert sso_home.run("env", "--no-input", "--shell", "bash", "sso-a").returncode == 0
    assert len(sso_server.tokens()[0]) == 1

    out = sso_home.run("sso", "logout")
    assert out.returncode == 0, out.stderr
    assert "signed out of IAM Identity Center (corp); removed 1 cached session(s)" in out.stderr
    assert sso_server.stats()["Logout"] == 1 and sso_server.tokens() == ([], [])
    again = sso_home.run("env", "--no-input", "sso-a")
    assert (again.returncode, again.stdout) == (5, "")
    assert again.stderr == ("shellvault: the IAM Identity Center session corp is not signed "
                            "in: run 'shellvault sso login sso-a'\n")


def test_legacy_profile_device_flow_and_its_end(sso_home: SvHome, sso_server: SsoServer,
                                                world: World) -> None:
    sso_server.control("settings", {"token_seconds": 61})  # usable for about a second
    values = _env(sso_home, "legacy-a")
    assert world.bucket_names(_creds(values)) == [world.account_a_bucket]
    (tab,) = browser_tabs(sso_home)
    assert "/device?user_code=" in tab
    assert sso_server.stats()[f"GetRoleCredentials:{ACCOUNT_A}:ReadOnly"] == 1
    # No refresh token in the legacy form: once the token ends, only a sign-in helps.
    wait_for("the legacy token to end", lambda: sso_home.run(
        "env", "--no-input", "--min-ttl", "99999", "legacy-a").returncode == 5)
    done = sso_home.run("env", "--no-input", "--min-ttl", "99999", "legacy-a")
    assert done.stderr == ("shellvault: the IAM Identity Center session "
                           "https://example-corp.awsapps.com/start has ended: run "
                           "'shellvault sso login legacy-a'\n")
    assert done.stdout == ""
