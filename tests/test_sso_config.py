"""Which IAM Identity Center sign-in a name or a profile means (`shellvault.sso_config`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shellvault.config import AwsConfig
from shellvault.errors import UsageError
from shellvault.sso import SsoTarget
from shellvault.sso_config import parse_scopes, profiles_using, target_for_name
from tests.sso_harness import SSO_REGION, START_URL, sso_config

CORP = SsoTarget("corp", START_URL, SSO_REGION, ("sso:account:access",))
LEGACY = SsoTarget(None, START_URL, SSO_REGION, ())


def _config(tmp_path: Path, text: str) -> AwsConfig:
    path = tmp_path / "config"
    path.write_text(text)
    return AwsConfig.load(path)


def test_names_sessions_profiles_and_chains(tmp_path: Path) -> None:
    config = _config(tmp_path, sso_config())
    assert config.sso_session_names() == ["corp"]
    assert config.sso_session("corp") == {"sso_start_url": START_URL, "sso_region": SSO_REGION,
                                          "sso_registration_scopes": "sso:account:access"}
    assert config.sso_session("nope") is None
    assert target_for_name(config, None, {}) == (CORP, "corp")
    assert target_for_name(config, "corp", {}) == (CORP, "corp")
    target, subject = target_for_name(config, "sso-b", {})
    assert (target._replace(profile=None), target.profile, subject) == (CORP, "sso-b", "sso-b")
    chained, _ = target_for_name(config, "chained-b", {})  # signs in through sso-a
    assert chained._replace(profile=None) == CORP and chained.profile == "sso-a"
    legacy, _ = target_for_name(config, "legacy-a", {})
    assert legacy._replace(profile=None) == LEGACY and legacy.legacy
    assert profiles_using(config, CORP, {}) == {"sso-a", "sso-b", "chained-b"}
    assert profiles_using(config, LEGACY, {}) == {"legacy-a"}


def test_scopes_are_comma_separated() -> None:
    assert parse_scopes(" sso:account:access, codewhisperer:completions ,") == (
        "sso:account:access", "codewhisperer:completions")


@pytest.mark.parametrize(("extra", "name", "message"), [
    ("", "nothing", "no sso-session or profile named 'nothing' in "),
    ("[profile plain]\nregion = x\n", "plain",
     "profile plain does not use IAM Identity Center (no sso_session or sso_start_url in its "
     "chain)"),
    ("[sso-session half]\nsso_start_url = https://x/start\n", "half",
     "[sso-session half] has no sso_region; set it in the config file"),
])
def test_unusable_names_are_one_line(tmp_path: Path, extra: str, name: str,
                                     message: str) -> None:
    config = _config(tmp_path, sso_config(extra))
    with pytest.raises(UsageError) as error:
        target_for_name(config, name, {})
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_two_sessions_need_a_name(tmp_path: Path) -> None:
    config = _config(tmp_path, sso_config("[sso-session other]\nsso_start_url = https://o/start\n"
                                          "sso_region = us-east-1\n"))
    with pytest.raises(UsageError, match=r"which sso-session or profile\? \(sso-sessions: "
                                         r"corp, other\)"):
        target_for_name(config, None, {})
