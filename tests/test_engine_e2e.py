"""The credential engine end to end: the installed CLI against a real moto server process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pexpect

from tests.world import ACCOUNTS, BUCKETS

CODE = "123456"


def env_dict(output: str) -> dict[str, str | None]:
    """The assignments of `env --shell bash` output, evaluated by a real bash."""
    script = output + '\nenv -0'
    done = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, timeout=20,
                          env={"PATH": "/usr/bin:/bin", "AWS_PROFILE": "stale"})
    assert done.returncode == 0, done.stderr
    pairs = [item.split(b"=", 1) for item in done.stdout.split(b"\0") if b"=" in item]
    return {k.decode(): v.decode() for k, v in pairs}


def run_with_tty(home: Any, args: list[str], answer: str | None = CODE,
                 send_ctrl_c: bool = False) -> tuple[int, str]:
    """Run shellvault with a pseudo-terminal as its /dev/tty; answer the MFA prompt."""
    stdout_file = Path(home.home) / f"stdout-{time.monotonic_ns()}"
    cmd = " ".join(subprocess.list2cmdline([a]) for a in ["shellvault", *args])
    child = pexpect.spawn("bash", ["--norc", "--noprofile", "-c", f"{cmd} > {stdout_file}"],
                          env=home.env, encoding="utf-8", timeout=60)
    prompts = 0
    while True:
        index = child.expect([r"MFA code for \S+: ", pexpect.EOF])
        if index == 1:
            break
        prompts += 1
        if send_ctrl_c:
            child.sendcontrol("c")
        else:
            assert answer is not None
            child.sendline(answer)
    child.close()
    code = child.exitstatus if child.exitstatus is not None else 128 + (child.signalstatus or 0)
    run_with_tty.prompts = prompts  # type: ignore[attr-defined]
    run_with_tty.transcript = child.before  # type: ignore[attr-defined]
    return code, stdout_file.read_text()


def test_first_role_asks_once_second_role_reuses_the_mfa_session(aws_home: Any,
                                                                 moto_server: Any) -> None:
    moto_server.mark()
    code, out = run_with_tty(aws_home, ["env", "--shell", "bash", "account-a"])
    assert code == 0
    assert run_with_tty.prompts == 1  # type: ignore[attr-defined]
    assert moto_server.sts_calls() == ["GetSessionToken", "AssumeRole"]
    values = env_dict(out)
    assert values["SHELLVAULT_PROFILE"] == "account-a"
    assert values["SHELLVAULT_ACCOUNT"] == ACCOUNTS["account-a"]
    assert values["AWS_ACCESS_KEY_ID"] and values["AWS_SESSION_TOKEN"]
    assert int(values["SHELLVAULT_EXPIRES"] or 0) > time.time() + 3000
    assert values["AWS_CREDENTIAL_EXPIRATION"].endswith("Z")  # type: ignore[union-attr]
    assert "AWS_PROFILE" not in values

    # account-b: no terminal at all, so a prompt would fail the command.
    moto_server.mark()
    second = aws_home.run("env", "--shell", "bash", "account-b")
    assert second.returncode == 0, second.stderr
    assert moto_server.sts_calls() == ["AssumeRole"]
    assert env_dict(second.stdout)["SHELLVAULT_ACCOUNT"] == ACCOUNTS["account-b"]

    # Both cached now: no STS call at all.
    moto_server.mark()
    third = aws_home.run("env", "--shell", "bash", "account-a")
    assert third.returncode == 0, third.stderr
    assert moto_server.sts_calls() == []
    assert env_dict(third.stdout)["AWS_ACCESS_KEY_ID"] == values["AWS_ACCESS_KEY_ID"]


def test_the_aws_cli_sees_only_that_accounts_buckets(aws_home: Any) -> None:
    aws_home.run("auth", "account-a", "--mfa-token", CODE, check=True)
    for profile in ("account-a", "account-b"):
        out = aws_home.run("env", "--shell", "bash", profile, check=True).stdout
        environ = {k: v for k, v in env_dict(out).items() if v is not None}
        environ["AWS_ENDPOINT_URL"] = aws_home.env["AWS_ENDPOINT_URL"]
        environ["AWS_CONFIG_FILE"] = "/dev/null"
        environ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
        aws = shutil.which("aws", path=str(Path(sys.executable).parent)) or "aws"
        listed = subprocess.run([aws, "s3api", "list-buckets", "--query", "Buckets[].Name",
                                 "--output", "json"], capture_output=True, text=True,
                                env=environ, timeout=60)
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout) == [BUCKETS[profile]]


def test_no_input_without_a_session_exits_3_with_the_command_to_run(aws_home: Any,
                                                                     moto_server: Any) -> None:
    moto_server.mark()
    done = aws_home.run("env", "--no-input", "account-a")
    assert done.returncode == 3
    assert done.stdout == ""
    assert "shellvault auth account-a" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert moto_server.sts_calls() == []


def test_no_terminal_and_no_code_fails_fast(aws_home: Any) -> None:
    done = aws_home.run("env", "account-a")
    assert done.returncode == 3 and done.stdout == ""
    assert "no terminal" in done.stderr


def test_a_code_that_is_not_six_digits_is_refused_before_any_call(aws_home: Any,
                                                                   moto_server: Any) -> None:
    moto_server.mark()
    done = aws_home.run("env", "account-a", "--mfa-token", "12345")
    assert done.returncode != 0 and done.stdout == ""
    assert "six digits" in done.stderr
    assert moto_server.sts_calls() == []
    assert aws_home.run("list", "--json", check=True).stdout.count('"kind"') == 0


def test_ctrl_c_at_the_mfa_prompt_exits_130_and_changes_nothing(aws_home: Any) -> None:
    index = aws_home.state_dir / "index.json"
    before = index.read_bytes()
    code, out = run_with_tty(aws_home, ["env", "account-a"], send_ctrl_c=True)
    assert code == 130
    assert out == ""
    assert index.read_bytes() == before


def test_sts_unreachable_names_the_endpoint(aws_home: Any) -> None:
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    done = aws_home.run("env", "account-a", "--mfa-token", CODE, env=env)
    assert done.returncode == 1 and done.stdout == ""
    assert "cannot reach STS at http://127.0.0.1:9" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_unknown_profile_suggests_and_prints_nothing(aws_home: Any) -> None:
    done = aws_home.run("env", "acount-a")
    assert done.returncode != 0 and done.stdout == ""
    assert "account-a" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_exec_runs_the_command_with_credentials_and_returns_its_status(aws_home: Any) -> None:
    aws_home.run("auth", "account-b", "--mfa-token", CODE, check=True)
    done = aws_home.run("exec", "account-b", "--", "sh", "-c",
                        'echo "$SHELLVAULT_ACCOUNT ${AWS_PROFILE-none}"; exit 7',
                        env={"AWS_PROFILE": "stale"})
    assert done.returncode == 7
    assert done.stdout.strip() == f"{ACCOUNTS['account-b']} none"


def test_export_json_serves_an_sdk_through_credential_process(aws_home: Any) -> None:
    aws_home.run("auth", "account-a", "--mfa-token", CODE, check=True)
    out = aws_home.run("export", "account-a", "--format", "json", check=True).stdout
    data = json.loads(out)
    assert data["Version"] == 1 and data["Expiration"].endswith("Z")
    shellvault = shutil.which("shellvault", path=aws_home.env["PATH"])
    config = aws_home.config_path.read_text() + (
        f"\n[profile via-process]\ncredential_process = {shellvault} export account-a "
        "--format json\nregion = eu-west-1\n"
    )
    aws_home.config_path.write_text(config)
    code = (
        "import boto3; s = boto3.Session(profile_name='via-process');"
        "print([b['Name'] for b in s.client('s3').list_buckets()['Buckets']])"
    )
    env = dict(aws_home.env)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str([BUCKETS["account-a"]])


def test_min_ttl_refreshes_the_role_without_a_new_mfa_session(aws_home: Any,
                                                             moto_server: Any) -> None:
    short = {"SHELLVAULT_ROLE_TTL": "900"}
    aws_home.run("auth", "account-a", "--mfa-token", CODE, env=short, check=True)
    first = env_dict(aws_home.run("env", "--shell", "bash", "account-a", check=True).stdout)
    moto_server.mark()
    refreshed = aws_home.run("env", "--shell", "bash", "--no-input", "--min-ttl", "1000",
                             "account-a")
    assert refreshed.returncode == 0, refreshed.stderr
    assert moto_server.sts_calls() == ["AssumeRole"]
    second = env_dict(refreshed.stdout)
    assert int(second["SHELLVAULT_EXPIRES"] or 0) > int(first["SHELLVAULT_EXPIRES"] or 0)


def test_ten_concurrent_cold_envs_ask_once_and_call_getsessiontoken_once(
    aws_home: Any, moto_server: Any, tmp_path: Path
) -> None:
    counter = tmp_path / "mfa-asked"
    script = tmp_path / "mfa.sh"
    script.write_text(f"#!/bin/sh\necho asked >> {counter}\nsleep 1\necho {CODE}\n")
    script.chmod(0o755)
    text = aws_home.config_path.read_text().replace(
        "[profile central]", f"[profile central]\nmfa_process = {script}"
    )
    text = text.replace("[profile account-a]", f"[profile account-a]\nmfa_process = {script}")
    aws_home.config_path.write_text(text)
    moto_server.mark()
    procs = [
        subprocess.Popen(["shellvault", "env", "--shell", "bash", "account-a"],
                         env=aws_home.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, text=True)
        for _ in range(10)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 10, [e for _, e in outputs]
    assert counter.read_text().splitlines() == ["asked"]
    assert moto_server.sts_calls() == ["GetSessionToken", "AssumeRole"]
    keys = {env_dict(out)["AWS_ACCESS_KEY_ID"] for out, _ in outputs}
    assert len(keys) == 1


def _login_holding_the_locks(home: Any, tmp_path: Path, seconds: int) -> tuple[Any, Path]:
    """Start `auth account-a` whose mfa_process takes `seconds`; return once it asks."""
    started = tmp_path / "mfa-started"
    script = tmp_path / "slow-mfa.sh"
    script.write_text(f"#!/bin/sh\necho asked >> {started}\nsleep {seconds}\necho {CODE}\n")
    script.chmod(0o755)
    text = home.config_path.read_text().replace(
        "[profile account-a]", f"[profile account-a]\nmfa_process = {script}")
    home.config_path.write_text(text)
    holder = subprocess.Popen(["shellvault", "auth", "account-a"], env=home.env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    while not started.exists():  # it now holds the refresh locks, waiting for its "MFA code"
        assert time.monotonic() < deadline and holder.poll() is None
        time.sleep(0.05)
    return holder, started


def test_a_lock_left_by_a_dead_process_blocks_nobody(aws_home: Any, tmp_path: Path) -> None:
    holder, _ = _login_holding_the_locks(aws_home, tmp_path, 60)
    os.killpg(holder.pid, 9)
    holder.wait(timeout=10)
    done = aws_home.run("auth", "account-a", "--mfa-token", CODE)
    assert done.returncode == 0, done.stderr
    assert "waiting for" not in done.stderr  # it did not sit out the lock timeout


def test_switching_profiles_never_uses_credentials_from_the_environment(aws_home: Any) -> None:
    aws_home.run("auth", "account-a", "--mfa-token", CODE, check=True)
    a = env_dict(aws_home.run("env", "--shell", "bash", "account-a", check=True).stdout)
    shell_env = {k: v for k, v in a.items() if k.startswith(("AWS_", "SHELLVAULT_")) and v}
    b = aws_home.run("env", "--shell", "bash", "account-b", env=shell_env)
    assert b.returncode == 0, b.stderr
    values = env_dict(b.stdout)
    assert values["SHELLVAULT_ACCOUNT"] == ACCOUNTS["account-b"]
    assert values["AWS_REGION"] == "us-west-2"  # account-a's eu-west-1 did not leak


def test_hint_on_stderr_when_stdout_is_a_terminal(aws_home: Any) -> None:
    aws_home.run("auth", "account-a", "--mfa-token", CODE, check=True)
    child = pexpect.spawn("shellvault", ["env", "account-a"], env=aws_home.env,
                          encoding="utf-8", timeout=30)
    child.expect(pexpect.EOF)
    assert 'eval "$(shellvault env account-a)"' in (child.before or "")


def test_sso_profile_without_a_sign_in_and_no_input_exits_5(aws_home: Any) -> None:
    # (IAM Identity Center itself: tests/test_sso_*.py, against a stand-in server)
    aws_home.config_path.write_text(aws_home.config_path.read_text() + (
        "\n[profile sso-dev]\nsso_start_url = https://example.awsapps.com/start\n"
        "sso_region = us-east-1\nsso_account_id = 444444444444\nsso_role_name = Dev\n"
    ))
    done = aws_home.run("env", "--no-input", "sso-dev")
    assert (done.returncode, done.stdout) == (5, "")
    assert done.stderr == ("shellvault: the IAM Identity Center session "
                           "https://example.awsapps.com/start is not signed in: run "
                           "'shellvault sso login sso-dev'\n")


def test_state_files_hold_no_secret(aws_home: Any) -> None:
    out = aws_home.run("env", "--shell", "bash", "account-a", "--mfa-token", CODE,
                       check=True).stdout
    values = env_dict(out)
    secrets = [values["AWS_SECRET_ACCESS_KEY"], values["AWS_SESSION_TOKEN"],
               aws_home.env.get("SHELLVAULT_FILE_PASSPHRASE")]
    for root, _, files in os.walk(aws_home.home):
        for name in files:
            data = Path(root, name).read_bytes()
            for secret in secrets:
                assert secret and secret.encode() not in data, Path(root, name)


def _add_config(home: Any, text: str) -> None:
    home.config_path.write_text(home.config_path.read_text() + "\n" + text)


def test_role_settings_reach_assume_role(aws_home: Any, moto_server: Any) -> None:
    _add_config(aws_home, (
        "[profile tagged]\nsource_profile = central\n"
        "role_arn = arn:aws:iam::222222222222:role/Admin\n"
        "mfa_serial = arn:aws:iam::123456789012:mfa/alice\n"
        "external_id = ext-42\nrole_session_name = alice-tagged\n"
        "session_tags = team=platform,env=dev\ntransitive_session_tags = team\n"
        "source_identity = alice\nregion = ap-northeast-1\n"
    ))
    done = aws_home.run("env", "--shell", "bash", "tagged", "--mfa-token", CODE)
    assert done.returncode == 0, done.stderr
    calls = [c for c in moto_server.calls("sts") if c.action == "AssumeRole"]
    assert len(calls) == 1
    params = calls[0].params
    assert params["ExternalId"] == "ext-42"
    assert params["RoleSessionName"] == "alice-tagged"
    assert params["SourceIdentity"] == "alice"
    assert params["DurationSeconds"] == "3600"
    tags = {params[f"Tags.member.{i}.Key"]: params[f"Tags.member.{i}.Value"] for i in (1, 2)}
    assert tags == {"team": "platform", "env": "dev"}
    assert params["TransitiveTagKeys.member.1"] == "team"
    assert "TokenCode" not in params  # the MFA context came with the session token
    assert env_dict(done.stdout)["AWS_REGION"] == "ap-northeast-1"


def test_a_role_longer_than_an_hour_takes_the_code_itself(aws_home: Any, moto_server: Any) -> None:
    _add_config(aws_home, (
        "[profile long]\nsource_profile = central\n"
        "role_arn = arn:aws:iam::222222222222:role/Admin\n"
        "mfa_serial = arn:aws:iam::123456789012:mfa/alice\nduration_seconds = 7200\n"
    ))
    done = aws_home.run("env", "--shell", "bash", "long", "--mfa-token", CODE)
    assert done.returncode == 0, done.stderr
    calls = moto_server.calls("sts")
    assert [c.action for c in calls] == ["AssumeRole"]
    assert calls[0].params["DurationSeconds"] == "7200"
    assert calls[0].params["TokenCode"] == CODE
    assert calls[0].access_key_id == aws_home.world.access_key_id  # straight from the keys
    assert int(env_dict(done.stdout)["SHELLVAULT_EXPIRES"] or 0) > time.time() + 7000


def test_chained_roles_reuse_every_cached_hop(aws_home: Any, moto_server: Any) -> None:
    _add_config(aws_home, (
        "[profile hop2]\nsource_profile = account-a\n"
        "role_arn = arn:aws:iam::333333333333:role/Admin\nduration_seconds = 7200\n"
    ))
    first = aws_home.run("env", "--shell", "bash", "hop2", "--mfa-token", CODE)
    assert first.returncode == 0, first.stderr
    calls = moto_server.calls("sts")
    assert [c.action for c in calls] == ["GetSessionToken", "AssumeRole", "AssumeRole"]
    assert calls[2].params["DurationSeconds"] == "3600"  # capped: role chaining
    assert env_dict(first.stdout)["SHELLVAULT_ACCOUNT"] == "333333333333"
    moto_server.mark()
    direct = aws_home.run("env", "--shell", "bash", "account-a")
    assert direct.returncode == 0 and moto_server.sts_calls() == []  # the first hop is cached


def test_duration_flag_and_ttl_variables(aws_home: Any, moto_server: Any) -> None:
    done = aws_home.run("env", "--shell", "bash", "account-a", "--mfa-token", CODE,
                        "--duration", "45m", env={"AWS_CHAINED_SESSION_TOKEN_TTL": "2h"})
    assert done.returncode == 0, done.stderr
    calls = moto_server.calls("sts")
    assert calls[0].params["DurationSeconds"] == "7200"
    assert calls[1].params["DurationSeconds"] == "2700"
    bad = aws_home.run("env", "account-a", "--duration", "10m")
    assert bad.returncode == 2 and "15m" in bad.stderr and bad.stdout == ""


def test_credential_process_profile_as_a_source(aws_home: Any, tmp_path: Path) -> None:
    creds = aws_home.run("export", "central", "--format", "json", "--mfa-token", CODE,
                         check=True).stdout
    source = tmp_path / "creds.json"
    source.write_text(creds)
    _add_config(aws_home, (
        f"[profile proc]\ncredential_process = cat {source}\n\n"
        "[profile via-proc]\nsource_profile = proc\n"
        "role_arn = arn:aws:iam::333333333333:role/Admin\n"
    ))
    done = aws_home.run("env", "--shell", "bash", "via-proc")
    assert done.returncode == 0, done.stderr
    assert env_dict(done.stdout)["SHELLVAULT_ACCOUNT"] == "333333333333"
    broken = tmp_path / "broken.sh"
    broken.write_text("#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"x\"'\n")
    broken.chmod(0o755)
    _add_config(aws_home, f"[profile badproc]\ncredential_process = {broken}\n")
    bad = aws_home.run("env", "badproc")
    assert bad.returncode == 1 and bad.stdout == "" and "credential JSON" in bad.stderr


def test_sts_specific_endpoint_variable_wins(aws_home: Any, moto_server: Any) -> None:
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ENDPOINT_URL_STS": moto_server.url}
    done = aws_home.run("env", "account-a", "--mfa-token", CODE, env=env)
    assert done.returncode == 0, done.stderr
    assert moto_server.sts_calls() == ["GetSessionToken", "AssumeRole"]


def test_endpoint_url_from_the_config_file(aws_home: Any, moto_server: Any) -> None:
    text = aws_home.config_path.read_text()
    text = text.replace("[profile central]", f"[profile central]\nendpoint_url = {moto_server.url}")
    text = text.replace("[profile account-a]",
                        "[profile account-a]\nservices = local-sts")
    text += f"\n[services local-sts]\nsts =\n  endpoint_url = {moto_server.url}\n"
    aws_home.config_path.write_text(text)
    done = aws_home.run("env", "account-a", "--mfa-token", CODE,
                        env={"AWS_ENDPOINT_URL": None})
    assert done.returncode == 0, done.stderr
    assert moto_server.sts_calls() == ["GetSessionToken", "AssumeRole"]


def test_a_waiting_process_says_who_it_waits_for(aws_home: Any, tmp_path: Path) -> None:
    holder, started = _login_holding_the_locks(aws_home, tmp_path, 2)
    waiter = aws_home.run("env", "--shell", "bash", "account-a")
    assert holder.wait(timeout=30) == 0
    assert waiter.returncode == 0, waiter.stderr
    # pid and subcommand only: the holder's argv may carry an --mfa-token code (issue 10)
    assert f"waiting for pid {holder.pid} (shellvault auth) that is" in waiter.stderr
    assert started.read_text().splitlines() == ["asked"]


# -- the file as botocore would (not) read it (issue 10: items 10 and 18) ---------------------


def _one_line_failure(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    return done.stderr


def test_botocore_never_parses_the_config_file(aws_home: Any, moto_server: Any) -> None:
    # go-ini (and so aws-vault and shellvault) read all of this; botocore's parser rejects
    # a repeated key and a repeated section, and takes minutes over a megabyte-long line.
    # A refresh that works shows that STS clients get the sections shellvault read.
    text = aws_home.config_path.read_text()
    text = text.replace("[profile account-a]\n",
                        "[profile account-a]\nregion = us-west-1\nregion = us-east-1\n")
    text += "\n[profile account-a]\nrole_session_name = again\n"
    text += "\n[profile " + "x" * 1_000_000 + "]\nregion = us-east-1\n"
    aws_home.config_path.write_text(text)
    moto_server.mark()
    done = aws_home.run("env", "--shell", "bash", "account-a", "--mfa-token", CODE)
    assert done.returncode == 0, done.stderr[:500]
    assert moto_server.sts_calls() == ["GetSessionToken", "AssumeRole"]
    assert env_dict(done.stdout)["SHELLVAULT_ACCOUNT"] == ACCOUNTS["account-a"]


def test_settings_botocore_refuses_are_one_line(aws_home: Any, moto_server: Any) -> None:
    base = aws_home.config_path.read_text()
    cases = {  # a setting of the root profile -> a word the message must have
        "region = not a region!": "region",
        "endpoint_url = not-a-url": "endpoint",
        "services = nowhere": "nowhere",
    }
    for line, word in cases.items():
        # Last in central's section: a key set again wins.
        aws_home.config_path.write_text(base.replace("\n[profile account-a]\n",
                                                     f"{line}\n\n[profile account-a]\n"))
        moto_server.mark()
        # The environment would win over the profile's region and endpoint settings.
        env: dict[str, str | None] = {"AWS_REGION": None, "AWS_DEFAULT_REGION": None}
        if word != "region":
            env["AWS_ENDPOINT_URL"] = None
        done = aws_home.run("env", "account-a", "--mfa-token", CODE, env=env)
        message = _one_line_failure(done)
        assert "central" in message and word in message, (line, message)
        assert moto_server.sts_calls() == []
    aws_home.config_path.write_text(base)


def test_a_very_deep_source_chain_is_one_line(aws_home: Any) -> None:
    chain = "".join(f"[profile deep{i}]\nsource_profile = deep{i + 1}\n"
                    "role_arn = arn:aws:iam::222222222222:role/Admin\n" for i in range(500))
    _add_config(aws_home, chain + "[profile deep500]\nsource_profile = central\n")
    message = _one_line_failure(aws_home.run("env", "deep0", "--mfa-token", CODE))
    assert "longer than" in message and "deep0" in message
    # Resolution stops there on the hot path too (a cached session cannot be looked up).
    message = _one_line_failure(aws_home.run("export", "--format", "json", "deep0"))
    assert "longer than" in message


def test_a_cached_env_imports_neither_boto3_nor_click(aws_home: Any) -> None:
    aws_home.run("auth", "account-a", "--mfa-token", CODE, check=True)
    done = aws_home.run_program(
        [sys.executable, "-X", "importtime", "-c", "from shellvault.main import main; main()",
         "env", "--shell", "bash", "account-a"])
    assert done.returncode == 0, done.stderr[-2000:]
    assert "AWS_SESSION_TOKEN" in done.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    assert "shellvault.engine" in imported and "shellvault.config" in imported
    assert not {"boto3", "botocore", "click", "shellvault.sts"} & imported
