"""An SSO profile in a real bash with the plugin: the prompt hook's refresh of an ended
IAM Identity Center session prints one line naming `shellvault sso login` and opens no
browser."""

from __future__ import annotations

from tests.conftest import SvHome, require_program
from tests.shellharness import ShellSession
from tests.sso_harness import SsoServer, browser_tabs, sso_home, sso_server
from tests.world import ACCOUNT_B

__all__ = ["sso_home", "sso_server"]


def test_prompt_hook_says_sign_in_once_and_opens_no_browser(sso_home: SvHome,
                                                            sso_server: SsoServer) -> None:
    require_program("bash")
    with ShellSession("bash", sso_home.home, env=dict(sso_home.env), timeout=90) as sh:
        loaded = sh.run('eval "$(shellvault env sso-a)"')
        assert loaded.status == 0, loaded.output
        assert "aws:sso-a" in sh.segment
        other = sh.run("with-role sso-b printenv SHELLVAULT_ACCOUNT")  # same sign-in
        assert (other.status, other.output.strip()) == (0, ACCOUNT_B)
        sso_server.control("end-sessions", {})
        # Make the next prompt refresh now (the credentials have an hour left).
        refreshed = sh.run("export SHELLVAULT_REFRESH_WITHIN=7200")
        lines = [line for line in refreshed.after.splitlines() if line.strip()]
        assert len(lines) == 1, refreshed.after
        assert "shellvault sso login sso-a" in lines[0]
        quiet = sh.run("true")  # not repeated at every prompt
        assert quiet.after == ""
    assert len(browser_tabs(sso_home)) == 1  # the sign-in of the first eval only


def test_direnv_says_sign_in_then_loads_after_sso_login(sso_home: SvHome) -> None:
    from tests.test_direnv import aws_changes, direnv_export_json, install_extension, make_project

    install_extension(sso_home)
    proj = make_project(sso_home, "use shellvault sso-b\n")
    changes, err, _ = direnv_export_json(sso_home, proj)
    assert aws_changes(changes).get("AWS_ACCESS_KEY_ID") is None
    assert ("shellvault: the IAM Identity Center session corp is not signed in: run "
            "'shellvault sso login sso-b'") in err
    assert browser_tabs(sso_home) == []  # direnv never opens a browser
    sso_home.run("sso", "login", "sso-b", check=True)
    changes, err, _ = direnv_export_json(sso_home, proj)
    assert aws_changes(changes).get("SHELLVAULT_PROFILE") == "sso-b", err
    assert str(aws_changes(changes).get("AWS_ACCESS_KEY_ID", "")).startswith("ASIA")
