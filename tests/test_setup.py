"""`shellvault add` (MFA device and region) and `shellvault role add`: what they write into
~/.aws/config, byte for byte, against a real moto IAM and a throwaway HOME."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pexpect
import pytest

from shellvault.onboard import update_profile

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
KEYS = {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET}
MFA = "arn:aws:iam::123456789012:mfa/alice"
ROLE_A = "arn:aws:iam::222222222222:role/Admin"

USER_CONFIG = (
    "# my AWS settings; keep this comment\n"
    "[default]\n"
    "region = eu-central-1 ; inline comment\n"
    "\n"
    "[profile central]\n"
    "output = json\n"
    "\n"
    "; a comment between sections\n"
    "[profile other]\n"
    "region = ap-south-1\n"
)


def _listing(home: Any) -> dict[str, dict[str, Any]]:
    done = home.run("list", "--json", check=True)
    return {row["profile"]: row for row in json.loads(done.stdout)}


# ----------------------------------------------------------------- the edits themselves


def test_update_profile_rewrites_and_inserts_within_the_section_only(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(USER_CONFIG)
    assert update_profile(path, "central", {"region": "us-east-1", "mfa_serial": MFA})
    after = path.read_text()
    assert after == USER_CONFIG.replace(
        "output = json\n", f"output = json\nregion = us-east-1\nmfa_serial = {MFA}\n")
    assert update_profile(path, "central", {"region": "eu-west-1"})
    assert path.read_text() == after.replace("region = us-east-1", "region = eu-west-1")
    assert not update_profile(path, "central", {"region": "eu-west-1"})  # nothing to do


def test_update_profile_keeps_crlf_and_a_missing_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_bytes(b"[profile central]\r\nregion = r")
    update_profile(path, "central", {"mfa_serial": MFA})
    assert path.read_bytes() == (
        b"[profile central]\r\nregion = r\r\nmfa_serial = " + MFA.encode() + b"\r\n")


# ----------------------------------------------------------------- add


def test_add_with_mfa_serial_writes_it_and_the_region_keeping_every_other_byte(
        sv_home: Any) -> None:
    sv_home.write_config(USER_CONFIG)
    done = sv_home.run("add", "central", "--env", "--mfa-serial", MFA, "--region", "us-east-1",
                       env=KEYS)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and SECRET not in done.stderr
    assert sv_home.config_path.read_text() == USER_CONFIG.replace(
        "output = json\n", f"output = json\nregion = us-east-1\nmfa_serial = {MFA}\n")
    assert "mfa_serial = " + MFA in done.stderr
    assert _listing(sv_home)["central"]["credentials"] == "stored"


@pytest.mark.parametrize(("option", "bad", "says"), [
    ("--mfa-serial", "arn:aws:iam::123:mfa/alice", "MFA device ARN"),
    ("--mfa-serial", "GAHT12345678", "MFA device ARN"),
    ("--mfa-serial", "mfa/alice", "MFA device ARN"),
    ("--region", "us east 1", "region name"),
    ("--region", "eu-west-1 ; x", "region name"),
])
def test_add_refuses_a_malformed_setting_before_asking(sv_home: Any, option: str, bad: str,
                                                       says: str) -> None:
    sv_home.write_config(USER_CONFIG)
    done = sv_home.run("add", "central", "--env", option, bad, env=KEYS)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and says in done.stderr
    assert sv_home.config_path.read_text() == USER_CONFIG
    assert not (sv_home.data_dir / "vault").exists()


@pytest.mark.parametrize("bad", ["", " padded", "two\nlines"])
def test_add_with_an_invalid_profile_name_stores_nothing(sv_home: Any, bad: str) -> None:
    done = sv_home.run("add", bad, "--env", env=KEYS)
    assert done.returncode != 0 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (sv_home.data_dir / "vault").exists()
    assert not sv_home.config_path.exists()


def _spawn(home: Any, *args: str) -> Any:
    child = pexpect.spawn(home.shellvault, list(args), env=home.env, encoding="utf-8",
                          timeout=60, cwd=str(home.home))
    child.logfile_read = io.StringIO()
    return child


def test_add_finds_the_mfa_device_with_the_new_key_and_asks_first(
        sv_home: Any, world: Any, moto_server: Any) -> None:
    sv_home.env.update(world.env())
    sv_home.write_config(USER_CONFIG)
    moto_server.mark()
    child = _spawn(sv_home, "add", "central")
    child.expect("Access key ID: ")
    child.sendline(world.access_key_id)
    child.expect("Secret access key: ")
    child.sendline(world.secret_access_key)
    index = child.expect([r"Use MFA device (\S+) for central\? \[Y/n\] ", pexpect.EOF])
    assert index == 0, child.logfile_read.getvalue()
    assert child.match.group(1) == world.mfa_serial
    child.sendline("")
    child.expect("stored the access key for central")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.logfile_read.getvalue()
    assert world.secret_access_key not in child.logfile_read.getvalue()
    config = sv_home.config_path.read_text()
    # No --region: the one the profile already had (from [default]) is written with it.
    assert config == USER_CONFIG.replace(
        "output = json\n",
        f"output = json\nregion = eu-central-1\nmfa_serial = {world.mfa_serial}\n")
    calls = [(c.service, c.action) for c in moto_server.calls()]
    assert ("sts", "GetCallerIdentity") in calls and ("iam", "ListMFADevices") in calls
    # ... and the stored key with the discovered device really gets an MFA session.
    done = sv_home.run("auth", "central", "--mfa-token", world.mfa_code())
    assert done.returncode == 0, done.stderr


def test_add_declined_device_is_not_written(sv_home: Any, world: Any) -> None:
    sv_home.env.update(world.env())
    child = _spawn(sv_home, "add", "central", "--region", "eu-west-1")
    child.expect("Access key ID: ")
    child.sendline(world.access_key_id)
    child.expect("Secret access key: ")
    child.sendline(world.secret_access_key)
    child.expect(r"\[Y/n\] ")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert sv_home.config_path.read_text() == "[profile central]\nregion = eu-west-1\n"


def test_add_without_a_terminal_does_not_look_up_and_says_how(sv_home: Any, world: Any,
                                                                moto_server: Any) -> None:
    sv_home.env.update(world.env())
    moto_server.mark()
    done = sv_home.run("add", "central", "--env", env={
        "AWS_ACCESS_KEY_ID": world.access_key_id,
        "AWS_SECRET_ACCESS_KEY": world.secret_access_key})
    assert done.returncode == 0, done.stderr
    assert "--mfa-serial" in done.stderr
    assert moto_server.calls() == []
    assert sv_home.config_path.read_text() == "[profile central]\nregion = us-east-1\n"
    # --yes takes the only device without a terminal.
    again = sv_home.run("add", "central", "--env", "--yes", env={
        "AWS_ACCESS_KEY_ID": world.access_key_id,
        "AWS_SECRET_ACCESS_KEY": world.secret_access_key})
    assert again.returncode == 0, again.stderr
    assert sv_home.config_path.read_text() == (
        f"[profile central]\nregion = us-east-1\nmfa_serial = {world.mfa_serial}\n")


# ----------------------------------------------------------------- role add


def test_role_add_appends_the_aws_vault_layout_and_keeps_every_byte(sv_home: Any) -> None:
    base = USER_CONFIG.replace("output = json\n", f"output = json\nmfa_serial = {MFA}\n"
                               "region = us-east-1\n")
    sv_home.write_config(base)
    done = sv_home.run("role", "add", "account-a", "--role-arn", ROLE_A, "--from", "central",
                       "--region", "eu-west-1")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert sv_home.config_path.read_text() == base + (
        "\n[profile account-a]\n"
        "source_profile = central\n"
        f"role_arn = {ROLE_A}\n"
        f"mfa_serial = {MFA}\n"
        "region = eu-west-1\n")
    resolved = sv_home.run("profiles", check=True).stdout.split()
    assert "account-a" in resolved


def test_role_add_takes_region_and_device_from_the_source(sv_home: Any) -> None:
    sv_home.write_config(f"[profile central]\nregion = us-east-1\nmfa_serial = {MFA}\n")
    sv_home.run("role", "add", "b", "--role-arn", ROLE_A, "--from", "central", check=True)
    assert sv_home.config_path.read_text().endswith(
        f"\n[profile b]\nsource_profile = central\nrole_arn = {ROLE_A}\nmfa_serial = {MFA}\n"
        "region = us-east-1\n")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["central", "--role-arn", ROLE_A, "--from", "other"], "already exists"),
        (["new", "--role-arn", "arn:aws:iam::222222222222:user/Admin", "--from", "central"],
         "not an IAM role ARN"),
        (["new", "--role-arn", "Admin", "--from", "central"], "not an IAM role ARN"),
        (["new", "--role-arn", ROLE_A, "--from", "CENTRAL"], "did you mean 'central'"),
        (["new", "--role-arn", ROLE_A, "--from", "nope"], "unknown profile 'nope'"),
        (["new", "--role-arn", ROLE_A, "--from", "central", "--mfa-serial", "x"],
         "not an MFA device ARN"),
        (["new", "--role-arn", ROLE_A, "--from", "central", "--region", "Mars"],
         "not an AWS region name"),
        ([" new", "--role-arn", ROLE_A, "--from", "central"], "invalid profile name"),
    ],
)
def test_role_add_refuses_with_one_line_and_changes_nothing(sv_home: Any, args: list[str],
                                                            says: str) -> None:
    sv_home.write_config(USER_CONFIG)
    done = sv_home.run("role", "add", *args)
    assert done.returncode != 0 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and says in done.stderr, done.stderr
    assert sv_home.config_path.read_text() == USER_CONFIG


def test_role_add_into_a_missing_file_needs_the_source_first(sv_home: Any) -> None:
    done = sv_home.run("role", "add", "a", "--role-arn", ROLE_A, "--from", "central")
    assert done.returncode != 0 and "central" in done.stderr
    assert not Path(sv_home.config_path).exists()


# ----------------------------------------------------------------- messages a newcomer meets


def _one_line(done: Any) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr
    return str(lines[0])


def test_no_config_file_says_so_and_how_to_make_one(sv_home: Any) -> None:
    for args in (("env", "account-a"), ("exec", "account-a", "true"), ("auth", "account-a")):
        done = sv_home.run(*args)
        line = _one_line(done)
        assert done.returncode == 1
        assert "there is no AWS config file" in line and "shellvault add central" in line
    listed = sv_home.run("ls")
    assert listed.returncode == 0 and listed.stdout == ""
    assert "there is no AWS config file" in _one_line(listed)


def test_missing_stored_key_is_exit_1_with_its_fix(sv_home: Any) -> None:
    sv_home.write_config(f"[profile central]\nmfa_serial = {MFA}\n[profile a]\n"
                         f"source_profile = central\nrole_arn = {ROLE_A}\n")
    done = sv_home.run("env", "a", "--mfa-token", "123456")
    assert done.returncode == 1
    assert "shellvault add central" in _one_line(done)


def test_clear_of_an_unknown_profile_says_so_case_insensitively(sv_home: Any) -> None:
    sv_home.write_config("[profile account-a]\nregion = r\n[profile account-b]\nregion = r\n")
    done = sv_home.run("clear", "ACCOUNT-A")
    assert done.returncode == 1
    line = _one_line(done)
    assert "unknown profile 'ACCOUNT-A'" in line and "did you mean 'account-a'" in line
    assert sv_home.run("clear", "account-a").returncode == 0


def test_help_lists_every_command_its_aliases_and_with_role(sv_home: Any) -> None:
    import click

    from shellvault.cli import cli

    text = sv_home.run("--help", check=True).stdout
    assert sv_home.run("help", check=True).stdout == text
    listed = text.split("Commands:")[1]
    visible = [n for n, c in cli.commands.items() if not c.hidden]
    for name in [*visible, "list (ls)", "remove (rm)", "with-role"]:
        assert f"\n  {name} " in listed, name
    # one full sentence each: nothing cut short with "..."
    assert "..." not in listed
    for name in visible:
        assert isinstance(cli.commands[name], click.Command)
        sub = sv_home.run("help", name, check=True).stdout
        assert sub.startswith(f"Usage: shellvault {name}")
        if "Commands:" in sub:  # a group (role, sso): its subcommands in whole sentences too
            assert "..." not in sub.split("Commands:")[1], sub
    assert "eval" in sv_home.run("help", "with-role", check=True).stdout
    wrong = sv_home.run("help", "nope")
    assert wrong.returncode == 2 and "shellvault help" in _one_line(wrong)
    typed = sv_home.run("with-role", "account-b", "terraform", "plan")
    assert typed.returncode == 2 and "shellvault init" in _one_line(typed)


def test_a_closed_stdout_is_one_line(aws_home: Any) -> None:
    aws_home.run("auth", "account-a", "--mfa-token", "123456", check=True)
    for command in ("shellvault env account-a | source",  # the fish form typed into bash
                    "shellvault env account-a | head -c0",
                    "shellvault env account-b --mfa-token 123456 | head -c0",
                    "shellvault init bash | head -c0"):
        done = aws_home.run_program(["bash", "-c", command + '; exit "${PIPESTATUS[0]}"'])
        assert "Traceback" not in done.stderr and "internal error" not in done.stderr
        ours = [line for line in done.stderr.splitlines() if line.startswith("shellvault:")]
        assert len(ours) <= 1, done.stderr


@pytest.mark.parametrize("args", [
    ("env", "--bogus", "x"),              # unknown option
    ("frob",),                            # unknown command
    ("exec",),                            # missing argument
    ("env", "--shell", "klingon", "x"),   # a value outside a choice
    ("env", "--min-ttl", "soon", "x"),    # a value of the wrong type
    ("role", "add", "x"),                 # a missing required option
])
def test_click_usage_errors_are_one_line_exit_2(sv_home: Any, args: tuple[str, ...]) -> None:
    done = sv_home.run(*args)
    assert done.returncode == 2, done.stderr
    line = _one_line(done)
    assert line.startswith("shellvault: "), line
