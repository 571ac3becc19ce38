"""add / list / remove / clear on both backends: the real Secret Service and the file store."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from tests.world import SECRET_SERVICE_PASSWORD, lock_default_collection, unlock_default_collection

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
KEYS = {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET}


@pytest.fixture(params=["file", "keyring"])
def home(request: pytest.FixtureRequest, sv_home: Any) -> Any:
    if request.param == "keyring":
        sv_home.use_keyring(request.getfixturevalue("secret_service"))
    return sv_home


def _listing(home: Any) -> dict[str, dict[str, Any]]:
    done = home.run("list", "--json", check=True)
    return {row["profile"]: row for row in json.loads(done.stdout)}


def test_add_list_remove(home: Any) -> None:
    home.write_config("# my settings\n[profile other]\nregion = eu-west-1\n")
    before = home.config_path.read_text()
    done = home.run("add", "central", "--env", env=KEYS)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert SECRET not in done.stderr
    config = home.config_path.read_text()
    assert config.startswith(before) and "[profile central]" in config
    rows = _listing(home)
    assert rows["central"]["credentials"] == "stored"
    assert rows["other"]["credentials"] is None
    table = home.run("ls", check=True).stdout
    assert "central" in table and "stored" in table

    refused = home.run("rm", "central")  # no terminal to confirm on, no --force
    assert refused.returncode != 0
    assert _listing(home)["central"]["credentials"] == "stored"

    gone = home.run("rm", "central", "--force")
    assert gone.returncode == 0, gone.stderr
    assert _listing(home)["central"]["credentials"] is None
    again = home.run("rm", "central", "--force")
    assert again.returncode != 0 and "no access key" in again.stderr


def test_add_refuses_malformed_keys_and_stores_nothing(home: Any) -> None:
    for bad in ({"AWS_ACCESS_KEY_ID": "nope", "AWS_SECRET_ACCESS_KEY": SECRET},
                {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": "short"},
                {"AWS_ACCESS_KEY_ID": "ASIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": SECRET}):
        done = home.run("add", "central", "--env", env=bad)
        assert done.returncode == 2, done.stderr
        assert SECRET not in done.stderr and "short" not in done.stderr
    assert not home.config_path.exists() or "central" not in home.config_path.read_text()
    assert "central" not in _listing(home)


def test_add_env_without_variables_is_a_usage_error(home: Any) -> None:
    done = home.run("add", "central", "--env")
    assert done.returncode == 2 and "AWS_ACCESS_KEY_ID" in done.stderr


def test_clear_removes_sessions_only(aws_home: Any) -> None:
    aws_home.run("auth", "account-a", "--mfa-token", "123456", check=True)
    rows = _listing(aws_home)
    assert [s["kind"] for s in rows["account-a"]["sessions"]] == ["role"]
    assert [s["kind"] for s in rows["central"]["sessions"]] == ["mfa"]
    assert 0 < rows["account-a"]["sessions"][0]["seconds_left"] <= 3600
    assert rows["account-a"]["source"] == "central" and rows["central"]["source"] is None
    table = aws_home.run("ls", check=True).stdout.splitlines()
    assert any(line.split()[:2] == ["account-a", "via"] for line in table), table
    stamp = aws_home.state_dir / "stamps" / "account-a"
    assert stamp.exists()
    stamp_before = stamp.stat().st_mtime_ns

    cleared = aws_home.run("clear", "account-a", check=True)
    assert "1 cached session" in cleared.stderr
    rows = _listing(aws_home)
    assert rows["account-a"]["sessions"] == [] and rows["central"]["sessions"]
    assert stamp.stat().st_mtime_ns >= stamp_before

    aws_home.run("clear", check=True)
    rows = _listing(aws_home)
    assert all(not r["sessions"] for r in rows.values())
    assert rows["central"]["credentials"] == "stored"
    no_prompt = aws_home.run("env", "--no-input", "account-a")
    assert no_prompt.returncode == 3  # the MFA session went too


def test_keyring_sessions_work_end_to_end(aws_keyring_home: Any, moto_server: Any) -> None:
    done = aws_keyring_home.run("env", "account-b", "--shell", "bash", "--mfa-token", "123456")
    assert done.returncode == 0, done.stderr
    assert "export SHELLVAULT_ACCOUNT='333333333333';" in done.stdout
    moto_server.mark()
    cached = aws_keyring_home.run("env", "account-b", "--shell", "bash")
    assert cached.returncode == 0 and moto_server.sts_calls() == []
    assert cached.stdout == done.stdout


def test_locked_keyring_is_one_clear_line_and_changes_nothing(
    aws_keyring_home: Any, secret_service: dict[str, str]
) -> None:
    aws_keyring_home.run("auth", "account-a", "--mfa-token", "123456", check=True)
    index = aws_keyring_home.state_dir / "index.json"
    before = index.read_bytes()
    lock_default_collection(secret_service)
    try:
        done = aws_keyring_home.run("env", "account-a")
        assert done.returncode == 1 and done.stdout == ""
        assert "locked" in done.stderr and "SHELLVAULT_BACKEND=file" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        added = aws_keyring_home.run("add", "other", "--env", env=KEYS)
        assert added.returncode == 1 and "locked" in added.stderr
    finally:
        unlock_default_collection(secret_service, SECRET_SERVICE_PASSWORD)
    assert index.read_bytes() == before
    assert aws_keyring_home.run("env", "account-a").returncode == 0


def test_keyring_required_but_absent_says_how_to_choose(sv_home: Any) -> None:
    done = sv_home.run("add", "central", "--env",
                       env={**KEYS, "SHELLVAULT_BACKEND": "keyring",
                            "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent"})
    assert done.returncode == 1
    assert "SHELLVAULT_BACKEND=file" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_auto_without_a_keyring_falls_back_to_the_file_store_with_a_notice(sv_home: Any) -> None:
    env = {**KEYS, "SHELLVAULT_BACKEND": None,
           "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent"}
    done = sv_home.run("add", "central", "--env", env=env)
    assert done.returncode == 0, done.stderr
    assert "using the encrypted file store" in done.stderr
    assert "SHELLVAULT_BACKEND=file" in done.stderr
    assert (sv_home.data_dir / "vault" / "meta.json").exists()


def test_file_store_permissions_and_wrong_passphrase(aws_home: Any) -> None:
    aws_home.run("auth", "account-a", "--mfa-token", "123456", check=True)
    vault = aws_home.data_dir / "vault"
    assert stat.S_IMODE(vault.stat().st_mode) == 0o700

    def snapshot() -> dict[str, bytes]:
        files = {p.name: p.read_bytes() for p in vault.iterdir()}
        files["index"] = (aws_home.state_dir / "index.json").read_bytes()
        return files

    before = snapshot()
    for p in vault.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
        assert aws_home.world.secret_access_key.encode() not in p.read_bytes()
    wrong = {"SHELLVAULT_FILE_PASSPHRASE": "not-it"}
    for args in (("add", "second", "--env"), ("rm", "central", "--force"), ("clear",),
                 ("clear", "account-a"), ("env", "account-a"), ("env", "account-b")):
        done = aws_home.run(*args, env={**KEYS, **wrong})
        assert done.returncode == 1, args
        assert "wrong passphrase" in done.stderr and len(done.stderr.strip().splitlines()) == 1
        assert done.stdout == ""
    assert snapshot() == before


def test_broken_config_is_one_line_naming_the_file(sv_home: Any) -> None:
    sv_home.write_config("[profile a]\nsource_profile = b\n[profile b]\nsource_profile = a\n"
                         "role_arn = arn:aws:iam::1:role/x\n")
    done = sv_home.run("env", "a")
    assert done.returncode == 1 and done.stdout == ""
    assert str(sv_home.config_path) in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_version_and_module_entry(sv_home: Any) -> None:
    import shellvault

    done = sv_home.run("--version", check=True)
    assert shellvault.__version__ in done.stdout
    module = sv_home.run_program([str(Path(sv_home.shellvault).parent / "python"), "-m",
                                  "shellvault", "--version"], check=True)
    assert shellvault.__version__ in module.stdout


def test_the_fallback_notice_is_said_once_per_command(aws_home: Any) -> None:
    env = {"SHELLVAULT_BACKEND": None, "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent"}
    # The hot path misses (nothing cached) and hands over to the full command.
    done = aws_home.run("env", "--shell", "bash", "account-a", "--no-input", env=env)
    assert done.returncode == 3
    assert done.stderr.count("no OS keyring is usable") == 1


def test_each_session_change_moves_the_stamp_forward_by_whole_seconds(aws_home: Any) -> None:
    stamp = aws_home.state_dir / "stamps" / "account-a"
    aws_home.run("auth", "account-a", "--mfa-token", "123456", check=True)
    seen = [int(stamp.stat().st_mtime)]
    aws_home.run("clear", "account-a", check=True)  # most likely within the same second
    seen.append(int(stamp.stat().st_mtime))
    assert stamp.read_text() == "\n"  # cleared: no expiry, and never a secret
    aws_home.run("auth", "account-a", check=True)  # the MFA session is still cached
    seen.append(int(stamp.stat().st_mtime))
    assert seen[0] < seen[1] < seen[2]
    assert int(stamp.read_text()) > time.time()


def _spawn(home: Any, *args: str) -> Any:
    import io

    import pexpect

    child = pexpect.spawn(home.shellvault, list(args), env=home.env, encoding="utf-8",
                          timeout=30)
    child.logfile_read = io.StringIO()  # everything the terminal showed
    return child


def test_add_asks_on_the_terminal_without_echoing_the_secret(sv_home: Any) -> None:
    child = _spawn(sv_home, "add", "central")
    child.expect("Access key ID: ")
    child.sendline(KEY_ID)
    child.expect("Secret access key: ")
    child.sendline(SECRET)
    child.expect("stored the access key for central")
    child.expect(pexpect_eof())
    child.close()
    assert child.exitstatus == 0
    transcript = child.logfile_read.getvalue()
    assert KEY_ID in transcript  # the key id is echoed, the secret is not
    assert SECRET not in transcript
    assert _listing(sv_home)["central"]["credentials"] == "stored"

    confirm = _spawn(sv_home, "rm", "central")
    confirm.expect(r"\[y/N\] ")
    confirm.sendline("y")
    confirm.expect(pexpect_eof())
    confirm.close()
    assert confirm.exitstatus == 0
    assert _listing(sv_home)["central"]["credentials"] is None


def test_ctrl_c_at_the_add_prompt_stores_nothing(sv_home: Any) -> None:
    child = _spawn(sv_home, "add", "central")
    child.expect("Access key ID: ")
    child.sendline(KEY_ID)
    child.expect("Secret access key: ")
    child.sendcontrol("c")
    child.expect(pexpect_eof())
    child.close()
    assert child.exitstatus == 130
    assert not sv_home.config_path.exists()
    assert not (sv_home.data_dir / "vault").exists()


def pexpect_eof() -> Any:
    import pexpect

    return pexpect.EOF


def test_env_detects_the_calling_shell(aws_home: Any) -> None:
    aws_home.run("auth", "account-a", "--mfa-token", "123456", check=True)
    fish = aws_home.run_program(["fish", "--no-config", "-c", "shellvault env account-a"])
    assert "set -gx SHELLVAULT_PROFILE 'account-a';" in fish.stdout, fish.stderr
    bash = aws_home.run_program(["bash", "--norc", "-c", 'out="$(shellvault env account-a)"; '
                                 'printf %s "$out"'])
    assert "export SHELLVAULT_PROFILE='account-a';" in bash.stdout, bash.stderr


def test_an_unusable_state_directory_is_one_line_not_a_traceback(aws_home: Any) -> None:
    done = aws_home.run("env", "account-a", "--mfa-token", "123456",
                        env={"SHELLVAULT_STATE_DIR": "/dev/null/state"})
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip() == "shellvault: Not a directory (/dev/null/state/locks)"
