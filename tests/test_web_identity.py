"""Web identity profiles (``role_arn`` + ``web_identity_token_file`` or
``web_identity_token_process``) end to end: the installed CLI against the moto server,
whose recorder shows the AssumeRoleWithWebIdentity requests that really arrived."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.test_engine_e2e import env_dict

ROLE_A = "arn:aws:iam::222222222222:role/Admin"
ROLE_B = "arn:aws:iam::333333333333:role/Admin"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.dG9rZW4tZnJvbS1hLWZpbGU"


def _add_config(home: Any, text: str) -> None:
    home.config_path.write_text(home.config_path.read_text() + "\n" + text)


def _token_file_profile(home: Any, tmp_path: Path, token: str = TOKEN) -> Path:
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    _add_config(home, f"[profile ci]\nrole_arn = {ROLE_A}\n"
                      f"web_identity_token_file = {token_file}\nregion = eu-west-1\n")
    return token_file


def _creds(values: dict[str, str | None]) -> tuple[str, str, str | None]:
    return (str(values["AWS_ACCESS_KEY_ID"]), str(values["AWS_SECRET_ACCESS_KEY"]),
            values["AWS_SESSION_TOKEN"])


def test_token_file_root_is_assumed_unsigned_then_cached(aws_home: Any, moto_server: Any,
                                                         world: Any, tmp_path: Path) -> None:
    _token_file_profile(aws_home, tmp_path)
    moto_server.mark()
    first = aws_home.run("env", "--shell", "bash", "--no-input", "ci")
    assert first.returncode == 0, first.stderr
    calls = moto_server.calls("sts")
    assert [c.action for c in calls] == ["AssumeRoleWithWebIdentity"]
    params = calls[0].params
    assert params["RoleArn"] == ROLE_A
    assert params["WebIdentityToken"] == TOKEN  # the file's text, without its newline
    assert params["RoleSessionName"] == "shellvault-ci"
    assert params["DurationSeconds"] == "3600"
    assert calls[0].access_key_id == ""  # unsigned: the token is the credential
    values = env_dict(first.stdout)
    assert values["SHELLVAULT_ACCOUNT"] == "222222222222"
    assert values["AWS_REGION"] == "eu-west-1"
    assert world.bucket_names(_creds(values)) == [world.account_a_bucket]

    moto_server.mark()
    again = aws_home.run("env", "--shell", "bash", "--no-input", "ci")
    assert again.returncode == 0, again.stderr
    assert moto_server.sts_calls() == []  # from the vault
    assert env_dict(again.stdout)["AWS_ACCESS_KEY_ID"] == values["AWS_ACCESS_KEY_ID"]


def test_a_role_chained_from_it_is_capped_at_an_hour(aws_home: Any, moto_server: Any,
                                                      world: Any, tmp_path: Path) -> None:
    _token_file_profile(aws_home, tmp_path)
    _add_config(aws_home, f"[profile ci-b]\nsource_profile = ci\nrole_arn = {ROLE_B}\n"
                          "duration_seconds = 7200\n")
    moto_server.mark()
    done = aws_home.run("env", "--shell", "bash", "--no-input", "ci-b")
    assert done.returncode == 0, done.stderr
    calls = moto_server.calls("sts")
    assert [c.action for c in calls] == ["AssumeRoleWithWebIdentity", "AssumeRole"]
    assert calls[1].params["RoleArn"] == ROLE_B
    assert calls[1].params["DurationSeconds"] == "3600"  # role chaining: AWS's 1 h cap
    assert calls[1].access_key_id not in ("", world.access_key_id)  # the web identity's
    values = env_dict(done.stdout)
    assert values["SHELLVAULT_ACCOUNT"] == "333333333333"
    assert world.bucket_names(_creds(values)) == [world.account_b_bucket]
    moto_server.mark()
    direct = aws_home.run("env", "--shell", "bash", "--no-input", "ci")
    assert direct.returncode == 0 and moto_server.sts_calls() == []  # the first hop is cached


def test_token_process_and_the_duration_flag(aws_home: Any, moto_server: Any,
                                             tmp_path: Path) -> None:
    script = tmp_path / "oidc-token"
    script.write_text(f"#!/bin/sh\necho 'signing in...' >&2\nprintf '%s\\n' '{TOKEN}'\n")
    script.chmod(0o755)
    _add_config(aws_home, f"[profile gh]\nrole_arn = {ROLE_A}\n"
                          f"web_identity_token_process = {script} --audience sts\n"
                          "role_session_name = github-actions\n")
    moto_server.mark()
    done = aws_home.run("env", "--shell", "bash", "--no-input", "--duration", "2h", "gh")
    assert done.returncode == 0, done.stderr
    calls = moto_server.calls("sts")
    assert [c.action for c in calls] == ["AssumeRoleWithWebIdentity"]
    assert calls[0].params["WebIdentityToken"] == TOKEN
    assert calls[0].params["RoleSessionName"] == "github-actions"
    assert calls[0].params["DurationSeconds"] == "7200"
    assert "signing in..." in done.stderr  # the command's stderr is the user's


def test_exec_and_the_credential_server_serve_it(aws_home: Any, world: Any,
                                                 tmp_path: Path) -> None:
    _token_file_profile(aws_home, tmp_path)
    out = tmp_path / "served.json"
    child = (
        "import json, os, sys, urllib.request\n"
        "req = urllib.request.Request(os.environ['AWS_CONTAINER_CREDENTIALS_FULL_URI'],"
        " headers={'Authorization': os.environ['AWS_CONTAINER_AUTHORIZATION_TOKEN']})\n"
        "json.dump(json.load(urllib.request.urlopen(req, timeout=10)), open(sys.argv[1], 'w'))\n"
    )
    served = aws_home.run("exec", "--server", "ci", "--", sys.executable, "-c", child, str(out))
    assert served.returncode == 0, served.stderr
    creds = json.loads(out.read_text())
    assert world.bucket_names((creds["AccessKeyId"], creds["SecretAccessKey"],
                               creds["Token"])) == [world.account_a_bucket]
    plain = aws_home.run("exec", "ci", "--", "sh", "-c", "echo $SHELLVAULT_ACCOUNT")
    assert plain.returncode == 0 and plain.stdout.strip() == "222222222222", plain.stderr
    with_role = aws_home.run_program(
        ["bash", "--norc", "-c", 'eval "$(shellvault init bash)"; '
                                 "with-role ci sh -c 'echo role:$SHELLVAULT_ACCOUNT'"])
    assert "role:222222222222" in with_role.stdout, with_role.stderr


def test_a_missing_or_failing_token_source_is_one_line(aws_home: Any, moto_server: Any,
                                                       tmp_path: Path) -> None:
    missing = tmp_path / "no-such-token"
    failing = tmp_path / "failing"
    failing.write_text(f"#!/bin/sh\nprintf '{TOKEN}'\nexit 3\n")
    failing.chmod(0o755)
    _add_config(aws_home, f"[profile gone]\nrole_arn = {ROLE_A}\n"
                          f"web_identity_token_file = {missing}\n"
                          f"[profile broken]\nrole_arn = {ROLE_A}\n"
                          f"web_identity_token_process = {failing}\n"
                          f"[profile silent]\nrole_arn = {ROLE_A}\n"
                          "web_identity_token_process = true\n")
    moto_server.mark()
    for profile, words in (("gone", str(missing)), ("broken", "exited with code 3"),
                           ("silent", "printed no token")):
        done = aws_home.run("env", "--shell", "bash", "--no-input", profile)
        assert done.returncode == 1 and done.stdout == "", done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and words in done.stderr
        assert TOKEN not in done.stderr and "Traceback" not in done.stderr
    assert moto_server.sts_calls() == []


def test_the_token_is_not_written_anywhere(aws_home: Any, tmp_path: Path) -> None:
    token_file = _token_file_profile(aws_home, tmp_path)
    aws_home.run("env", "--shell", "bash", "--no-input", "ci", check=True)
    found = subprocess.run(["grep", "-rlF", TOKEN, str(aws_home.home)], capture_output=True,
                           text=True, timeout=30)
    assert found.stdout.split() == [], found.stdout  # the token file is outside HOME
    assert token_file.read_text().strip() == TOKEN


def test_doctor_asks_no_key_for_it(aws_home: Any, tmp_path: Path) -> None:
    _token_file_profile(aws_home, tmp_path)
    done = aws_home.run("doctor", "--json")
    checks = {c["check"] for c in json.loads(done.stdout)}
    assert "key central" in checks  # the world's user still needs hers
    assert "key ci" not in checks, done.stdout
