"""Tests of the test harness itself: each asserts something that would break if a
fixture lied (a fake server, a miscount, a leaky environment, an unlocked keyring)."""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import secretstorage
from jeepney.wrappers import DBusErrorResponse

import tests.conftest as harness
from tests.conftest import (
    REPO_ROOT,
    MotoServer,
    SvHome,
    require_program,
)
from tests.world import (
    ACCOUNT_A,
    ACCOUNT_B,
    CENTRAL_ACCOUNT,
    SECRET_SERVICE_PASSWORD,
    World,
    client,
    default_collection_items,
    lock_default_collection,
    secret_service_connection,
    totp,
    unlock_default_collection,
)

Creds = tuple[str, str, str | None]


def _creds(answer: dict[str, object]) -> Creds:
    c = answer["Credentials"]
    assert isinstance(c, dict)
    return (str(c["AccessKeyId"]), str(c["SecretAccessKey"]), str(c["SessionToken"]))


# --------------------------------------------------------------------------- moto


def test_moto_is_a_separate_process_on_loopback(moto_server: MotoServer) -> None:
    import psutil

    assert moto_server.pid != os.getpid()
    proc = psutil.Process(moto_server.pid)
    assert "moto_server" in " ".join(proc.cmdline())
    connections = getattr(proc, "net_connections", None) or proc.connections  # psutil < 6
    listening = {
        (c.laddr.ip, c.laddr.port)
        for c in connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN
    }
    assert listening == {("127.0.0.1", moto_server.port)}
    assert moto_server.url == f"http://127.0.0.1:{moto_server.port}"


def test_moto_answers_sts_as_alice(world: World) -> None:
    alice: Creds = (world.access_key_id, world.secret_access_key, None)
    me = client(world.moto_url, "sts", credentials=alice).get_caller_identity()
    assert me["Account"] == CENTRAL_ACCOUNT
    assert me["Arn"] == world.user_arn


def test_sts_calls_counts_exactly_the_calls_made(moto_server: MotoServer, world: World) -> None:
    alice: Creds = (world.access_key_id, world.secret_access_key, None)
    moto_server.mark()
    assert moto_server.sts_calls() == []

    sts = client(world.moto_url, "sts", credentials=alice)
    session = _creds(
        sts.get_session_token(SerialNumber=world.mfa_serial, TokenCode=world.mfa_code())
    )
    assert moto_server.sts_calls() == ["GetSessionToken"]

    via_session = client(world.moto_url, "sts", credentials=session)
    via_session.assume_role(RoleArn=world.role_a_arn, RoleSessionName="harness")
    via_session.assume_role(RoleArn=world.role_b_arn, RoleSessionName="harness")
    world.bucket_names(alice)  # S3 and IAM traffic is recorded but is not STS
    world.client("iam").list_users()
    via_session.get_caller_identity()
    assert moto_server.sts_calls() == [
        "GetSessionToken",
        "AssumeRole",
        "AssumeRole",
        "GetCallerIdentity",
    ]
    services = [c.service for c in moto_server.calls()]
    assert services.count("s3") == 1 and services.count("iam") == 1

    moto_server.mark()
    assert moto_server.sts_calls() == []
    via_session.get_caller_identity()
    assert moto_server.sts_calls() == ["GetCallerIdentity"]


def test_recorded_calls_carry_parameters_and_signer(moto_server: MotoServer, world: World) -> None:
    alice: Creds = (world.access_key_id, world.secret_access_key, None)
    moto_server.mark()
    client(world.moto_url, "sts", credentials=alice).get_session_token(
        SerialNumber=world.mfa_serial, TokenCode="123456", DurationSeconds=3600
    )
    (call,) = moto_server.calls("sts")
    assert call.action == "GetSessionToken"
    assert call.access_key_id == world.access_key_id
    assert call.params["SerialNumber"] == world.mfa_serial
    assert call.params["TokenCode"] == "123456"
    assert call.params["DurationSeconds"] == "3600"


def test_assumed_role_credentials_act_in_the_role_account(world: World) -> None:
    alice: Creds = (world.access_key_id, world.secret_access_key, None)
    sts = client(world.moto_url, "sts", credentials=alice)
    session = _creds(
        sts.get_session_token(SerialNumber=world.mfa_serial, TokenCode=world.mfa_code())
    )
    assert world.bucket_names(alice) == ["central-bucket"]
    assert world.bucket_names(session) == ["central-bucket"]
    via_session = client(world.moto_url, "sts", credentials=session)
    for profile, account in (("account-a", ACCOUNT_A), ("account-b", ACCOUNT_B)):
        role = _creds(
            via_session.assume_role(RoleArn=world.role_arns[profile], RoleSessionName="harness")
        )
        assert world.bucket_names(role) == [world.buckets[profile]]
        me = client(world.moto_url, "sts", credentials=role).get_caller_identity()
        assert me["Account"] == account
        assert me["Arn"] == f"arn:aws:sts::{account}:assumed-role/Admin/harness"


def test_world_roles_require_mfa_and_device_is_alices(world: World) -> None:
    for profile in ("account-a", "account-b"):
        role = world.client("iam", profile).get_role(RoleName="Admin")["Role"]
        assert role["Arn"] == world.role_arns[profile]
        doc = role["AssumeRolePolicyDocument"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        (statement,) = doc["Statement"]
        assert statement["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
        assert statement["Principal"] == {"AWS": f"arn:aws:iam::{CENTRAL_ACCOUNT}:root"}
    devices = world.client("iam").list_virtual_mfa_devices(AssignmentStatus="Assigned")
    (device,) = devices["VirtualMFADevices"]
    assert device["SerialNumber"] == "arn:aws:iam::123456789012:mfa/alice"
    assert device["User"]["UserName"] == "alice"
    # Each account has exactly its own bucket, with a marker object in it.
    for profile, bucket in world.buckets.items():
        s3 = world.client("s3", profile)
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [bucket]
        body = s3.get_object(Bucket=bucket, Key="whoami.txt")["Body"].read()
        assert body == f"{profile}\n".encode()


def test_totp_matches_rfc6238() -> None:
    seed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # b"12345678901234567890"
    assert totp(seed, at=59, digits=8) == "94287082"
    assert totp(seed, at=1111111109, digits=8) == "07081804"
    assert totp(seed, at=59) == "287082"


def test_config_text_is_the_walkthrough(world: World) -> None:
    parser = configparser.ConfigParser()
    parser.read_string(world.config_text("[profile extra]\nsource_profile = central\n"))
    assert parser.sections() == [
        "profile central",
        "profile account-a",
        "profile account-b",
        "profile extra",
    ]
    central = parser["profile central"]
    assert dict(central) == {"region": "us-east-1", "mfa_serial": world.mfa_serial}
    for profile in ("account-a", "account-b"):
        section = parser[f"profile {profile}"]
        assert section["source_profile"] == "central"
        assert section["role_arn"] == world.role_arns[profile]
        assert section["mfa_serial"] == world.mfa_serial
        assert section["region"] == world.regions[profile]
    assert "endpoint" not in world.config_text()
    assert world.config_text().endswith("\n") and "extra" not in world.config_text()


def test_reset_wipes_moto_and_rebuilds_the_world(moto_server: MotoServer, world: World) -> None:
    iam = world.client("iam")
    iam.create_user(UserName="bob")
    old_key = world.access_key_id
    moto_server.reset()
    users = [u["UserName"] for u in iam.list_users()["Users"]]
    assert users == ["alice"]
    assert world.access_key_id != old_key
    keys = iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [world.access_key_id]
    assert world.client("s3", "account-a").list_buckets()["Buckets"][0]["Name"] == (
        "account-a-bucket"
    )
    assert moto_server.sts_calls() == []


# --------------------------------------------------------------------------- Secret Service


def test_secret_service_is_private_and_real(secret_service: dict[str, str]) -> None:
    import psutil

    assert set(secret_service) == {"DBUS_SESSION_BUS_ADDRESS"}
    outer = harness.OUTER_ENVIRON.get("DBUS_SESSION_BUS_ADDRESS")
    assert secret_service["DBUS_SESSION_BUS_ADDRESS"] != outer
    names = {p.name() for p in psutil.process_iter()}
    assert "gnome-keyring-daemon" in names or "gnome-keyring-d" in names


def test_secret_service_stores_finds_reads_and_locks(secret_service: dict[str, str]) -> None:
    attrs = {"application": "shellvault-harness", "case": str(time.time_ns())}
    with secret_service_connection(secret_service) as conn:
        collection = secretstorage.get_default_collection(conn)
        assert not collection.is_locked()
        collection.create_item("harness item", attrs, b"s3cr3t-value")
    # A new connection (as a new process would) finds it by attributes and reads it.
    with secret_service_connection(secret_service) as conn:
        (item,) = secretstorage.search_items(conn, attrs)
        assert item.get_secret() == b"s3cr3t-value"
        assert item.get_attributes()["case"] == attrs["case"]

    lock_default_collection(secret_service)
    try:
        with secret_service_connection(secret_service) as conn:
            (item,) = secretstorage.search_items(conn, attrs)
            assert item.is_locked()
            with pytest.raises(secretstorage.LockedException):
                item.get_secret()
        with pytest.raises(DBusErrorResponse, match="password was invalid"):
            unlock_default_collection(secret_service, "not-the-password")
        with secret_service_connection(secret_service) as conn:
            assert secretstorage.get_default_collection(conn).is_locked()
    finally:
        unlock_default_collection(secret_service, SECRET_SERVICE_PASSWORD)
    with secret_service_connection(secret_service) as conn:
        (item,) = secretstorage.search_items(conn, attrs)
        assert item.get_secret() == b"s3cr3t-value"
        item.delete()
        assert list(secretstorage.search_items(conn, attrs)) == []


_KEYRING_SCRIPT = """
import sys, time, keyring
from keyring.errors import KeyringLocked
kr = keyring.get_keyring()
print(type(kr).__module__)
if sys.argv[1] == "set":
    keyring.set_password("shellvault-harness", "alice", "pw-from-subprocess")
t = time.monotonic()
try:
    print(keyring.get_password("shellvault-harness", "alice"))
except KeyringLocked as exc:
    print("locked", round(time.monotonic() - t, 1))
"""


def test_keyring_subprocess_uses_the_private_bus(
    sv_home: SvHome, secret_service: dict[str, str]
) -> None:
    sv_home.use_keyring(secret_service)
    assert sv_home.env["SHELLVAULT_BACKEND"] == "keyring"
    assert "SHELLVAULT_FILE_PASSPHRASE" not in sv_home.env
    py = [sys.executable, "-c", _KEYRING_SCRIPT]
    first = sv_home.run_program([*py, "set"], check=True, timeout=30)
    assert first.stdout.splitlines() == ["keyring.backends.SecretService", "pw-from-subprocess"]
    lock_default_collection(secret_service)
    try:
        # keyring tries an unlock prompt; with no GUI it is dismissed at once.
        locked = sv_home.run_program([*py, "get"], check=True, timeout=30)
        lines = locked.stdout.splitlines()
        assert lines[1].startswith("locked"), locked
        assert float(lines[1].split()[1]) < 5
    finally:
        unlock_default_collection(secret_service)
    # use_keyring empties the shared collection for the next test.
    sv_home.use_keyring(secret_service)
    again = sv_home.run_program([*py, "get"], check=True, timeout=30)
    assert again.stdout.splitlines()[1] == "None"


# --------------------------------------------------------------------------- sv_home


def test_sv_home_carries_nothing_from_outside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    leaks = {
        "AWS_ACCESS_KEY_ID": "AKIALEAKEDLEAKEDLEAK",
        "AWS_SECRET_ACCESS_KEY": "leaked-secret",
        "AWS_SESSION_TOKEN": "leaked-token",
        "AWS_PROFILE": "leaked-profile",
        "AWS_DEFAULT_REGION": "leak-1",
        "SHELLVAULT_BACKEND": "keyring",
        "SHELLVAULT_STATE_DIR": "/leaked",
        "DBUS_SESSION_BUS_ADDRESS": "unix:path=/leaked",
        "DISPLAY": ":99",
        "LC_ALL": "de_DE.UTF-8",
    }
    for key, value in leaks.items():
        monkeypatch.setenv(key, value)
    home = SvHome(tmp_path / "home")
    printed = home.run_program(["env", "-0"], check=True).stdout
    child = dict(line.split("=", 1) for line in printed.split("\0") if line)
    for key in leaks:
        if key not in ("SHELLVAULT_BACKEND",):
            assert key not in child, key
    assert child["SHELLVAULT_BACKEND"] == "file"
    aws = {k: v for k, v in child.items() if k.startswith("AWS_")}
    assert aws == {
        "AWS_CONFIG_FILE": str(home.home / ".aws/config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home.home / ".aws/credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    # ... and nothing the machine itself had (this machine sets AWS_CA_BUNDLE, say).
    for key, value in harness.OUTER_ENVIRON.items():
        if key.startswith(("AWS_", "SHELLVAULT_")):
            assert child.get(key) != value or key in ("AWS_EC2_METADATA_DISABLED",), key
    assert child["HOME"] == str(home.home)
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        assert Path(child[var]).is_relative_to(home.home) and Path(child[var]).is_dir()
    assert child["LANG"] == "C.UTF-8"
    assert child["SHELLVAULT_MFA_PROMPT"] == "terminal"
    assert len(child["SHELLVAULT_FILE_PASSPHRASE"]) >= 20
    assert child["PATH"].split(os.pathsep)[0] == str(harness.venv_bin())
    assert home.config_path == home.home / ".aws/config"


def test_sv_home_passphrases_differ(tmp_path: Path) -> None:
    a, b = SvHome(tmp_path / "a"), SvHome(tmp_path / "b")
    assert a.passphrase != b.passphrase


def test_sv_home_run_has_no_tty_and_stdin_from_input(sv_home: SvHome) -> None:
    script = "if (exec 3</dev/tty) 2>/dev/null; then echo tty; else echo no-tty; fi; cat"
    plain = sv_home.run_program(["sh", "-c", script], check=True)
    assert plain.stdout == "no-tty\n"  # stdin was /dev/null: cat printed nothing
    fed = sv_home.run_program(["sh", "-c", script], input="typed\n", check=True)
    assert fed.stdout == "no-tty\ntyped\n"
    env_override = sv_home.run_program(
        ["sh", "-c", 'echo "${SHELLVAULT_BACKEND-unset} $EXTRA"'],
        env={"SHELLVAULT_BACKEND": None, "EXTRA": "x"},
        check=True,
    )
    assert env_override.stdout == "unset x\n"
    assert sv_home.env["SHELLVAULT_BACKEND"] == "file"  # per-call env only


def test_sv_home_run_uses_the_installed_console_script(sv_home: SvHome) -> None:
    assert Path(sv_home.shellvault) == harness.venv_bin() / "shellvault"
    result = sv_home.run("--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout
    with pytest.raises(harness.ShellvaultFailed, match="no-such-command"):
        sv_home.run("no-such-command", check=True)


def test_aws_home_stored_alices_keys_and_reaches_moto(
    aws_home: SvHome, world: World, moto_server: MotoServer
) -> None:
    assert aws_home.config_path.read_text() == world.config_text()
    assert aws_home.env["AWS_ENDPOINT_URL"] == moto_server.url
    assert moto_server.sts_calls() == []  # aws_home marked after its setup
    # The vault holds the keys: the file store exists and holds no plaintext secret.
    stored = [p for p in aws_home.data_dir.rglob("*") if p.is_file()]
    assert stored, "shellvault add wrote nothing"
    for path in stored:
        assert world.secret_access_key.encode() not in path.read_bytes()
    result = aws_home.run(
        "exec",
        "account-a",
        "--mfa-token",
        world.mfa_code(),
        "--",
        sys.executable,
        "-c",
        _LIST_BUCKETS,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [ACCOUNT_A, "account-a-bucket"]
    # shellvault's two calls, then the child's own GetCallerIdentity.
    assert moto_server.sts_calls() == ["GetSessionToken", "AssumeRole", "GetCallerIdentity"]


_LIST_BUCKETS = """
import boto3
s = boto3.session.Session()
print(s.client("sts").get_caller_identity()["Account"])
print(*[b["Name"] for b in s.client("s3").list_buckets()["Buckets"]])
"""


# --------------------------------------------------------------------------- programs & scripts


def test_require_program_finds_skips_or_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    assert require_program("sh") in ("/bin/sh", "/usr/bin/sh")
    assert Path(require_program("moto_server")).parent == harness.venv_bin()
    monkeypatch.setattr(harness, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception):
        require_program("no-such-program-shellvault")
    monkeypatch.setattr(harness, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception):
        require_program("no-such-program-shellvault")


def test_scripts_are_shellcheck_clean_and_executable() -> None:
    shellcheck = require_program("shellcheck")
    scripts = [REPO_ROOT / "scripts" / "test", REPO_ROOT / ".ci" / "run"]
    for script in scripts:
        assert os.access(script, os.X_OK), script
    subprocess.run([shellcheck, *map(str, scripts)], check=True, timeout=60)
    ci = (REPO_ROOT / ".ci" / "run").read_text().splitlines()
    assert ci[0] == "#!/usr/bin/env bash"
    assert ci[1] == "set -euo pipefail"
    assert ci[-1].startswith("exec scripts/test")


def test_scripts_test_counts_no_tests_as_failure() -> None:
    result = subprocess.run(
        [
            str(REPO_ROOT / "scripts" / "test"),
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_harness.py",
            "-k",
            "no_test_is_called_this",
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
        env={**os.environ, "CI": "true"},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no tests" in result.stderr


def test_aws_keyring_home_keeps_the_keys_in_the_private_secret_service(
    aws_keyring_home: SvHome, world: World, secret_service: dict[str, str]
) -> None:
    assert aws_keyring_home.env["SHELLVAULT_BACKEND"] == "keyring"
    assert (
        aws_keyring_home.env["DBUS_SESSION_BUS_ADDRESS"]
        == secret_service["DBUS_SESSION_BUS_ADDRESS"]
    )
    items = default_collection_items(secret_service)
    assert items, "shellvault add stored nothing in the Secret Service"
    assert not aws_keyring_home.data_dir.exists() or not any(
        p.is_file() for p in aws_keyring_home.data_dir.rglob("*")
    )
    result = aws_keyring_home.run(
        "exec",
        "account-b",
        "--mfa-token",
        world.mfa_code(),
        "--",
        sys.executable,
        "-c",
        _LIST_BUCKETS,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [ACCOUNT_B, "account-b-bucket"]


def test_scripts_test_setup_only_prepares_without_running_pytest() -> None:
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "test"), "--setup-only"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        cwd="/",
    )
    assert result.returncode == 0, result.stderr
    assert "environment ready" in result.stderr
    assert "passed" not in result.stdout and "collected" not in result.stdout
    assert (REPO_ROOT / ".venv" / "bin" / "shellvault").exists()


def test_a_lock_left_by_an_earlier_test_is_undone_a(secret_service: dict[str, str]) -> None:
    lock_default_collection(secret_service)  # and "forget" to unlock


def test_a_lock_left_by_an_earlier_test_is_undone_b(secret_service: dict[str, str]) -> None:
    with secret_service_connection(secret_service) as conn:
        assert not secretstorage.get_default_collection(conn).is_locked()
