"""`shellvault sso sync`: a profile per account and role, written into a config with
comments byte for byte, against the stand-in IAM Identity Center."""

from __future__ import annotations

from tests.conftest import SvHome
from tests.sso_harness import (
    SESSION,
    SsoServer,
    browser_tabs,
    sso_config,
    sso_home,
    sso_server,
)
from tests.world import ACCOUNT_A, ACCOUNT_B

__all__ = ["sso_home", "sso_server"]


def _synced(before: str) -> str:
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


def test_sync_writes_profiles_byte_exactly(sso_home: SvHome, sso_server: SsoServer) -> None:
    sso_server.control("settings", {"page_size": 1})  # ListAccounts/ListAccountRoles pages
    before = sso_config() + "# trailing comment, kept\n"
    sso_home.write_config(before)
    done = sso_home.run("sso", "sync", SESSION)
    assert done.returncode == 0 and done.stdout == "", done.stderr
    assert sso_home.config_path.read_text() == _synced(before)
    assert "3 added, 0 updated, 0 unchanged, 0 skipped" in done.stderr

    again = sso_home.run("sso", "sync", SESSION)
    assert "0 added, 0 updated, 3 unchanged, 0 skipped" in again.stderr
    assert sso_home.config_path.read_text() == _synced(before)
    # The new profiles work at once, with the same sign-in.
    assert "Account-B-prod-Admin" in sso_home.run("profiles").stdout.split()
    assert sso_home.run("env", "--no-input", "Account-B-prod-Admin").returncode == 0

    bad = sso_home.run("sso", "sync", SESSION, "--template", "{session}.{account_id}.{role}")
    assert (bad.returncode, bad.stdout, bad.stderr.count("\n")) == (2, "", 1)
    dry = sso_home.run("sso", "sync", SESSION, "--template",
                       "{session}_{account_id}_{role_name}", "--dry-run")
    assert dry.returncode == 0 and f"would add corp_{ACCOUNT_A}_ReadOnly" in dry.stderr
    assert sso_home.config_path.read_text() == _synced(before)
    assert sso_server.stats()["approvals"] == 1
    # The session ended at IAM Identity Center: sync signs in again (input is allowed).
    sso_server.control("end-sessions", {})
    ended = sso_home.run("sso", "sync", SESSION)
    assert ended.returncode == 0 and "3 unchanged" in ended.stderr, ended.stderr
    assert sso_server.stats()["approvals"] == 2 and len(browser_tabs(sso_home)) == 2


def test_sync_never_overwrites_without_force(sso_home: SvHome) -> None:
    mine = ("[profile account-a-Admin]\n# my own notes\nsso_session = corp\n"
            f"sso_account_id = {ACCOUNT_B}\nsso_role_name = Admin\noutput = json\n")
    before = sso_config(mine)
    sso_home.write_config(before)
    done = sso_home.run("sso", "sync", SESSION)
    assert "skipped account-a-Admin" in done.stderr
    text = sso_home.config_path.read_text()
    assert text.startswith(before) and text.count("[profile account-a-Admin]") == 1
    forced = sso_home.run("sso", "sync", SESSION, "--force")
    assert "updated account-a-Admin" in forced.stderr, forced.stderr
    assert sso_home.config_path.read_text() == text.replace(
        before, sso_config(mine.replace(ACCOUNT_B, ACCOUNT_A) + "region = eu-central-1\n"))
