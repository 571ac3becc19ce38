"""Unit tests for shellvault.config: aws-vault's reading of ~/.aws/config."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shellvault.config import (
    AwsConfig,
    ConfigError,
    ConfigParseError,
    InvalidValueError,
    MissingReferenceError,
    Profile,
    ProfileLoopError,
    TTLs,
    UnknownProfileError,
    config_path,
    parse_duration,
    profile_names,
    ttls,
)

NOENV: dict[str, str] = {}


def write(tmp_path: Path, text: str | bytes, name: str = "config") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return p


def load(tmp_path: Path, text: str | bytes) -> AwsConfig:
    return AwsConfig.load(write(tmp_path, text))


def resolve(tmp_path: Path, text: str, name: str, env: dict[str, str] | None = None) -> Profile:
    return load(tmp_path, text).resolve(name, environ=NOENV if env is None else env)


def full_parse(cfg: AwsConfig) -> AwsConfig:
    """The same file, but read through the full sequential parser only."""
    other = AwsConfig(cfg.path, cfg.path.read_bytes())
    other.ini.full_parse()
    return other


# ---------------------------------------------------------------------------------------
# config_path and load


def test_config_path_uses_aws_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "x" / "cfg"))
    assert config_path() == tmp_path / "x" / "cfg"


def test_config_path_expands_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", "~/elsewhere/config")
    assert config_path() == tmp_path / "elsewhere" / "config"


def test_config_path_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", "")
    assert config_path() == tmp_path / ".aws" / "config"
    monkeypatch.delenv("AWS_CONFIG_FILE")
    assert config_path() == tmp_path / ".aws" / "config"


def test_load_without_path_reads_config_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    p = write(tmp_path, "[profile envfile]\nregion = eu-north-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(p))
    cfg = AwsConfig.load()
    assert cfg.path == p
    assert cfg.profile_names() == ["envfile"]


def test_missing_file_is_an_empty_config(tmp_path: Path) -> None:
    cfg = AwsConfig.load(tmp_path / "nope" / "config")
    assert cfg.profile_names() == []
    assert not cfg.has_profile("a")
    with pytest.raises(UnknownProfileError):
        cfg.resolve("a", environ=NOENV)
    # default needs no section, as in aws-vault (its keys may be stored all the same)
    d = cfg.resolve("default", environ=NOENV)
    assert d.name == "default" and d.region is None and d.source is None


def test_unreadable_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        AwsConfig.load(tmp_path)  # a directory
    assert str(tmp_path) in str(e.value)


# ---------------------------------------------------------------------------------------
# Sections and names


def test_profile_names_in_file_order_with_default(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        "[profile b]\n[sso-session corp]\nsso_start_url = https://x\n[default]\nregion = x\n"
        "[profile a]\n[something else]\n[profile b]\n[Default]\n[profile c.d]\n",
    )
    assert cfg.profile_names() == ["b", "default", "a", "c.d"]
    assert cfg.has_profile("a") and cfg.has_profile("default") and cfg.has_profile("c.d")
    assert not cfg.has_profile("corp") and not cfg.has_profile("something else")
    assert not cfg.has_profile("Default")


def test_empty_default_section_is_listed(tmp_path: Path) -> None:
    cfg = load(tmp_path, "[default]\n[profile a]\n")
    assert cfg.profile_names() == ["default", "a"]


def test_section_names_are_case_sensitive_and_untrimmed(tmp_path: Path) -> None:
    cfg = load(tmp_path, "[Profile a]\nregion = r1\n[profile  b]\nregion = r2\n")
    assert cfg.profile_names() == [" b"]
    assert not cfg.has_profile("a")
    assert cfg.resolve(" b", environ=NOENV).region == "r2"


def test_header_name_ends_at_last_bracket(tmp_path: Path) -> None:
    # go-ini takes everything up to the line's last ']'
    cfg = load(tmp_path, "[profile a] # old name was [x]\nregion = r\n[profile b] ; note\n")
    assert cfg.profile_names() == ["a] # old name was [x", "b"]


def test_profile_default_section_is_listed_as_default(tmp_path: Path) -> None:
    cfg = load(tmp_path, "[profile default]\nregion = ignored\n")
    assert cfg.profile_names() == ["default"]
    # aws-vault reads the default profile from [default] only
    assert cfg.resolve("default", environ=NOENV).region is None


# ---------------------------------------------------------------------------------------
# Every key


FULL = """\
[profile full]
region = eu-west-1
role_arn = arn:aws:iam::111111111111:role/Admin
mfa_serial = arn:aws:iam::222222222222:mfa/me
mfa_process = ykman oath accounts code --single aws
external_id = ext-123
role_session_name = me-at-work
duration_seconds = 7200
session_tags = team=platform, env = prod ,team=infra
transitive_session_tags = team, env,,
source_identity = me
credential_process = /usr/bin/creds --profile full
sso_account_id = 333333333333
sso_role_name = ReadOnly
endpoint_url = http://127.0.0.1:5000
sts_regional_endpoints = regional
output = json
"""


def test_every_key(tmp_path: Path) -> None:
    p = resolve(tmp_path, FULL, "full")
    assert p.name == "full"
    assert p.region == "eu-west-1"
    assert p.role_arn == "arn:aws:iam::111111111111:role/Admin"
    assert p.mfa_serial == "arn:aws:iam::222222222222:mfa/me"
    assert p.mfa_process == "ykman oath accounts code --single aws"
    assert p.external_id == "ext-123"
    assert p.role_session_name == "me-at-work"
    assert p.duration_seconds == 7200
    # a later duplicate tag key wins, as in aws-vault's map
    assert p.session_tags == (("team", "infra"), ("env", "prod"))
    assert p.transitive_session_tags == ("team", "env")
    assert p.source_identity == "me"
    assert p.credential_process == "/usr/bin/creds --profile full"
    assert p.sso_account_id == "333333333333"
    assert p.sso_role_name == "ReadOnly"
    assert p.endpoint_url == "http://127.0.0.1:5000"
    assert p.sts_regional_endpoints == "regional"
    assert p.source_profile_name is None and p.source is None
    assert p.sso_session is None and p.sso_start_url is None and not p.is_sso
    assert dict(p.raw)["output"] == "json"
    assert dict(p.raw)["session_tags"] == "team=platform, env = prod ,team=infra"


def test_unset_keys_are_none(tmp_path: Path) -> None:
    p = resolve(tmp_path, "[profile bare]\nregion =\n", "bare")
    assert p == Profile(
        name="bare", region=None, role_arn=None, mfa_serial=None, mfa_process=None,
        external_id=None, role_session_name=None, duration_seconds=None, session_tags=(),
        transitive_session_tags=(), source_identity=None, credential_process=None,
        sso_session=None, sso_start_url=None, sso_region=None, sso_account_id=None,
        sso_role_name=None, endpoint_url=None, sts_regional_endpoints=None,
        source_profile_name=None, source=None, raw=(("region", ""),),
    )


def test_legacy_sso_keys(tmp_path: Path) -> None:
    p = resolve(
        tmp_path,
        "[profile sso]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-2\n"
        "sso_account_id = 1\nsso_role_name = R\n",
        "sso",
    )
    assert p.is_sso
    assert (p.sso_start_url, p.sso_region, p.sso_session) == (
        "https://corp.awsapps.com/start", "us-east-2", None,
    )


def test_sso_session_section(tmp_path: Path) -> None:
    text = (
        "[profile dev]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = Dev\n"
        "sso_start_url = https://ignored\n"
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
        "sso_region = eu-central-1\nsso_registration_scopes = sso:account:access\n"
    )
    p = resolve(tmp_path, text, "dev")
    assert p.is_sso and p.sso_session == "corp"
    # [sso-session] overrides the profile's own legacy keys (aws-vault assigns it first)
    assert p.sso_start_url == "https://corp.awsapps.com/start"
    assert p.sso_region == "eu-central-1"
    assert dict(p.raw)["sso_registration_scopes"] == "sso:account:access"
    assert load(tmp_path, text).profile_names() == ["dev"]


def test_sso_session_without_start_url_falls_back_to_profile(tmp_path: Path) -> None:
    text = "[profile dev]\nsso_session = corp\nsso_start_url = https://own\n[sso-session corp]\n"
    p = resolve(tmp_path, text, "dev")
    assert p.sso_start_url == "https://own" and p.sso_region is None


def test_sso_session_overrides_included_start_url(tmp_path: Path) -> None:
    text = (
        "[profile a]\nsso_start_url = https://from-a\ninclude_profile = b\n"
        "[profile b]\nsso_session = s\n[sso-session s]\nsso_start_url = https://from-s\n"
    )
    assert resolve(tmp_path, text, "a").sso_start_url == "https://from-s"


# ---------------------------------------------------------------------------------------
# include_profile and [default]


def test_include_chain_depth_three_first_value_wins(tmp_path: Path) -> None:
    text = """\
[default]
region = from-default
external_id = ext-default
role_session_name = rsn-default

[profile a]
include_profile = b
role_arn = arn:a

[profile b]
include_profile = c
role_arn = arn:b
region = from-b

[profile c]
role_arn = arn:c
region = from-c
mfa_serial = mfa-c
external_id = ext-c
"""
    p = resolve(tmp_path, text, "a")
    assert p.role_arn == "arn:a"
    assert p.region == "from-b"
    assert p.mfa_serial == "mfa-c"
    assert p.external_id == "ext-c"
    # [default] is reached at the end of the include chain
    assert p.role_session_name == "rsn-default"
    assert dict(p.raw)["include_profile"] == "b"


def test_default_supplies_every_setting(tmp_path: Path) -> None:
    text = """\
[default]
region = us-east-1
mfa_serial = arn:aws:iam::1:mfa/me
role_arn = arn:aws:iam::2:role/R
duration_seconds = 900
session_tags = a=b
mfa_process = echo 123456
include_profile = other

[profile other]
region = never

[profile p]
"""
    p = resolve(tmp_path, text, "p")
    assert p.region == "us-east-1"
    assert p.mfa_serial == "arn:aws:iam::1:mfa/me"
    assert p.role_arn == "arn:aws:iam::2:role/R"
    assert p.duration_seconds == 900
    assert p.session_tags == (("a", "b"),)
    assert p.mfa_process == "echo 123456"


def test_include_profile_of_default_is_followed(tmp_path: Path) -> None:
    # aws-vault follows [default]'s include_profile too, then reports a loop when the
    # included profile falls back to [default] again; we stop at that second visit.
    text = "[default]\ninclude_profile = other\n[profile other]\nregion = o\n[profile p]\n"
    assert resolve(tmp_path, text, "p").region == "o"
    assert resolve(tmp_path, text, "default").region == "o"
    assert resolve(tmp_path, text, "other").region == "o"


def test_default_source_profile_is_inherited_and_self_reference_dropped(tmp_path: Path) -> None:
    text = "[default]\nsource_profile = base\n[profile base]\n[profile role]\nrole_arn = arn:r\n"
    cfg = load(tmp_path, text)
    role = cfg.resolve("role", environ=NOENV)
    assert role.source_profile_name == "base"
    assert role.source is not None and role.source.name == "base"
    base = cfg.resolve("base", environ=NOENV)
    assert base.source_profile_name is None and base.source is None


def test_include_of_missing_default_is_fine(tmp_path: Path) -> None:
    p = resolve(tmp_path, "[profile a]\ninclude_profile = default\nregion = r\n", "a")
    assert p.region == "r"


def test_usage_md_mixin_example(tmp_path: Path) -> None:
    # aws-vault USAGE.md, include_profile "mixin" style
    text = """\
; The "common" profile here operates as a "config fragment" rather than a profile
[profile common]
region=eu-west-1
mfa_serial=arn:aws:iam::123456789:mfa/johnsmith
source_profile = root

[profile root]
include_profile = common

[profile order-dev]
include_profile = common
role_arn=arn:aws:iam::123456789:role/developers
"""
    cfg = load(tmp_path, text)
    dev = cfg.resolve("order-dev", environ=NOENV)
    assert dev.role_arn == "arn:aws:iam::123456789:role/developers"
    assert dev.mfa_serial == "arn:aws:iam::123456789:mfa/johnsmith"
    assert dev.region == "eu-west-1"
    assert [p.name for p in dev.chain()] == ["root", "order-dev"]
    root = dev.root()
    assert root.name == "root" and root.source_profile_name is None
    # the root has the same MFA serial, so aws-vault can chain one GetSessionToken
    assert root.mfa_serial == dev.mfa_serial


def test_usage_md_self_source_example(tmp_path: Path) -> None:
    text = """\
[profile jon]
mfa_serial = arn:aws:iam::111111111111:mfa/jon
source_profile=jon

[profile role1]
role_arn = arn:aws:iam::22222222222:role/role1
include_profile = jon
"""
    cfg = load(tmp_path, text)
    jon = cfg.resolve("jon", environ=NOENV)
    assert jon.source is None and jon.source_profile_name is None
    role1 = cfg.resolve("role1", environ=NOENV)
    assert role1.source_profile_name == "jon"
    assert role1.mfa_serial == "arn:aws:iam::111111111111:mfa/jon"
    assert [p.name for p in role1.chain()] == ["jon", "role1"]


def test_dotted_section_inherits_from_parent_section(tmp_path: Path) -> None:
    # go-ini's GetKey falls back to the section before the last '.'
    text = (
        "[profile corp]\nregion = eu-west-1\nmfa_serial = m\n"
        "[profile corp.prod.admin]\nrole_arn = arn:x\nregion =\n"
        "[sso-session s]\nsso_region = us-east-1\n[sso-session s.x]\nsso_start_url = https://x\n"
        "[profile sso]\nsso_session = s.x\n"
    )
    cfg = load(tmp_path, text)
    p = cfg.resolve("corp.prod.admin", environ=NOENV)
    assert p.mfa_serial == "m"
    # an own key, even empty, shadows the parent's
    assert p.region is None
    sso = cfg.resolve("sso", environ=NOENV)
    assert (sso.sso_start_url, sso.sso_region) == ("https://x", "us-east-1")


# ---------------------------------------------------------------------------------------
# source_profile chains


CHAIN = """\
[default]
region = us-east-1

[profile user]
mfa_serial = arn:aws:iam::1:mfa/me
region = eu-west-1

[profile hop1]
source_profile = user
role_arn = arn:aws:iam::2:role/Hop1
mfa_serial = arn:aws:iam::1:mfa/me

[profile hop2]
source_profile = hop1
role_arn = arn:aws:iam::3:role/Hop2

[profile hop3]
source_profile = hop2
role_arn = arn:aws:iam::4:role/Hop3
duration_seconds = 900
"""


def test_source_chain_depth_three(tmp_path: Path) -> None:
    p = resolve(tmp_path, CHAIN, "hop3")
    assert [x.name for x in p.chain()] == ["user", "hop1", "hop2", "hop3"]
    assert p.root().name == "user"
    assert p.source is not None and p.source.name == "hop2"
    assert p.source_profile_name == "hop2"
    # mfa_serial is per profile: it does not travel along source_profile
    assert p.mfa_serial is None
    assert p.source.mfa_serial is None
    assert p.root().mfa_serial == "arn:aws:iam::1:mfa/me"
    # each profile of the chain gets [default] for what it lacks
    assert p.region == "us-east-1" and p.root().region == "eu-west-1"
    assert p.root().source is None and p.root().chain() == [p.root()]
    assert p.duration_seconds == 900 and p.source.duration_seconds is None


def test_source_profile_default_without_section(tmp_path: Path) -> None:
    p = resolve(tmp_path, "[profile r]\nsource_profile = default\nrole_arn = arn:r\n", "r")
    assert p.source is not None and p.source.name == "default"


# ---------------------------------------------------------------------------------------
# Environment


def test_env_region_beats_file(tmp_path: Path) -> None:
    text = "[profile a]\nregion = from-file\n"
    assert resolve(tmp_path, text, "a", {"AWS_REGION": "r1"}).region == "r1"
    assert resolve(tmp_path, text, "a", {"AWS_DEFAULT_REGION": "r2"}).region == "r2"
    both = {"AWS_REGION": "r1", "AWS_DEFAULT_REGION": "r2"}
    assert resolve(tmp_path, text, "a", both).region == "r1"
    assert resolve(tmp_path, text, "a", {"AWS_REGION": ""}).region == "from-file"


def test_env_applies_to_every_profile_of_the_chain(tmp_path: Path) -> None:
    env = {
        "AWS_REGION": "ap-south-1",
        "AWS_MFA_SERIAL": "arn:env-mfa",
        "AWS_STS_REGIONAL_ENDPOINTS": "legacy",
        "AWS_ENDPOINT_URL": "http://localhost:4566",
    }
    p = resolve(tmp_path, CHAIN, "hop3", env)
    for prof in p.chain():
        assert prof.region == "ap-south-1"
        assert prof.mfa_serial == "arn:env-mfa"  # beats the file's mfa_serial too
        assert prof.sts_regional_endpoints == "legacy"
        assert prof.endpoint_url == "http://localhost:4566"


def test_env_for_the_requested_profile_only(tmp_path: Path) -> None:
    env = {
        "AWS_ROLE_ARN": "arn:env-role",
        "AWS_ROLE_SESSION_NAME": "env-session",
        "AWS_SESSION_TAGS": "k1=v1,k2=v2",
        "AWS_TRANSITIVE_TAGS": "k1",
        "AWS_SOURCE_IDENTITY": "env-id",
    }
    p = resolve(tmp_path, CHAIN, "hop2", env)
    assert p.role_arn == "arn:env-role"
    assert p.role_session_name == "env-session"
    assert p.session_tags == (("k1", "v1"), ("k2", "v2"))
    assert p.transitive_session_tags == ("k1",)
    assert p.source_identity == "env-id"
    assert p.source is not None
    assert p.source.role_arn == "arn:aws:iam::2:role/Hop1"
    assert p.source.role_session_name is None and p.source.session_tags == ()
    assert p.root().role_arn is None and p.root().source_identity is None


def test_environ_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_REGION", "from-os-environ")
    cfg = load(tmp_path, "[profile a]\nregion = file\n")
    assert cfg.resolve("a").region == "from-os-environ"
    assert cfg.resolve("a", environ={}).region == "file"


def test_bad_env_session_tags(tmp_path: Path) -> None:
    with pytest.raises(InvalidValueError) as e:
        resolve(tmp_path, "[profile a]\n", "a", {"AWS_SESSION_TAGS": "novalue"})
    assert "$AWS_SESSION_TAGS" in str(e.value) and "'a'" in str(e.value)


# ---------------------------------------------------------------------------------------
# TTLs


def _p(tmp_path: Path, duration: int | None = None) -> Profile:
    text = "[profile a]\n" + (f"duration_seconds = {duration}\n" if duration else "")
    return resolve(tmp_path, text, "a")


def test_ttl_defaults(tmp_path: Path) -> None:
    assert ttls({}, _p(tmp_path)) == TTLs(
        session=3600, chained_session=8 * 3600, assume_role=3600, min_ttl=300
    )


def test_ttl_aws_variables(tmp_path: Path) -> None:
    env = {
        "AWS_SESSION_TOKEN_TTL": "12h",
        "AWS_CHAINED_SESSION_TOKEN_TTL": "1h30m",
        "AWS_ASSUME_ROLE_TTL": "15m",
        "AWS_MIN_TTL": "90s",
    }
    assert ttls(env, _p(tmp_path)) == TTLs(43200, 5400, 900, 90)


def test_ttl_shellvault_variables_win(tmp_path: Path) -> None:
    env = {
        "AWS_SESSION_TOKEN_TTL": "12h",
        "SHELLVAULT_SESSION_TTL": "2h",
        "AWS_CHAINED_SESSION_TOKEN_TTL": "1h",
        "SHELLVAULT_CHAINED_SESSION_TTL": "3600s",
        "AWS_ASSUME_ROLE_TTL": "15m",
        "SHELLVAULT_ROLE_TTL": "1200",
        "AWS_MIN_TTL": "1m",
        "SHELLVAULT_MIN_TTL": "0",
    }
    assert ttls(env, _p(tmp_path)) == TTLs(7200, 3600, 1200, 0)


def test_ttl_duration_seconds_and_role_variables(tmp_path: Path) -> None:
    prof = _p(tmp_path, 5400)
    assert ttls({}, prof).assume_role == 5400
    # aws-vault fills AssumeRoleDuration from AWS_ASSUME_ROLE_TTL before the file
    assert ttls({"AWS_ASSUME_ROLE_TTL": "20m"}, prof).assume_role == 1200
    assert ttls({"SHELLVAULT_ROLE_TTL": "30m"}, prof).assume_role == 1800
    # 0 and "" mean unset
    assert ttls({"AWS_ASSUME_ROLE_TTL": "0"}, prof).assume_role == 5400
    assert ttls({"SHELLVAULT_ROLE_TTL": ""}, prof).assume_role == 5400
    assert ttls({"AWS_SESSION_TOKEN_TTL": "0s"}, prof).session == 3600


@pytest.mark.parametrize(
    "var", ["SHELLVAULT_SESSION_TTL", "AWS_CHAINED_SESSION_TOKEN_TTL", "AWS_ASSUME_ROLE_TTL",
            "AWS_MIN_TTL", "SHELLVAULT_ROLE_TTL"],
)
@pytest.mark.parametrize("value", ["1 hour", "h", "-1h", "1x", "1h-5m", "abc"])
def test_ttl_bad_value_names_variable(tmp_path: Path, var: str, value: str) -> None:
    with pytest.raises(InvalidValueError) as e:
        ttls({var: value}, _p(tmp_path))
    assert f"${var}" in str(e.value) and "\n" not in str(e.value)
    assert isinstance(e.value, ConfigError) and e.value.exit_code == 1


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1h", 3600), ("15m", 900), ("3600s", 3600), ("1h30m", 5400), ("900", 900),
     ("1.5h", 5400), ("2h0m30s", 7230), ("1500ms", 1), ("+10m", 600), ("0", 0),
     ("90m0s", 5400), ("1h1h", 7200), (".5m", 30), (" 45s ", 45)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "h", "1d", "-5m", "1 h", "m5", "1h 5m", "0x10", "1.h.5", "\u0661\u0662s"]
)
def test_parse_duration_rejects(text: str) -> None:
    assert parse_duration(text) is None


# ---------------------------------------------------------------------------------------
# Errors: one line, naming the file and the profile


def _one_line(e: BaseException, *parts: str) -> None:
    msg = str(e)
    assert "\n" not in msg
    for part in parts:
        assert part in msg, (part, msg)
    assert isinstance(e, ConfigError) and e.exit_code == 1


def test_unknown_profile_suggests(tmp_path: Path) -> None:
    cfg = load(tmp_path, "[profile account-a]\n[profile account-b]\n[profile other]\n")
    with pytest.raises(UnknownProfileError) as e:
        cfg.resolve("acount-a", environ=NOENV)
    assert str(e.value) == (
        f"unknown profile 'acount-a' in {cfg.path}; did you mean 'account-a' or 'account-b'?"
    )
    assert e.value.profile == "acount-a" and e.value.path == cfg.path


def test_unknown_profile_single_suggestion(tmp_path: Path) -> None:
    cfg = load(tmp_path, "[profile production]\n[profile x]\n")
    with pytest.raises(UnknownProfileError) as e:
        cfg.resolve("prodution", environ=NOENV)
    assert str(e.value) == f"unknown profile 'prodution' in {cfg.path}; did you mean 'production'?"


def test_unknown_profile_without_suggestion(tmp_path: Path) -> None:
    cfg = load(tmp_path, "[profile production]\n")
    with pytest.raises(UnknownProfileError) as e:
        cfg.resolve("zzz", environ=NOENV)
    assert str(e.value) == f"unknown profile 'zzz' in {cfg.path}"


def test_source_profile_loop(tmp_path: Path) -> None:
    cfg = load(tmp_path, "[profile a]\nsource_profile = b\n[profile b]\nsource_profile = a\n")
    with pytest.raises(ProfileLoopError) as e:
        cfg.resolve("a", environ=NOENV)
    _one_line(e.value, "a -> b -> a", str(cfg.path))


def test_source_profile_loop_deeper(tmp_path: Path) -> None:
    text = (
        "[profile x]\nsource_profile = a\n[profile a]\nsource_profile = b\n"
        "[profile b]\nsource_profile = c\n[profile c]\nsource_profile = a\n"
    )
    with pytest.raises(ProfileLoopError) as e:
        resolve(tmp_path, text, "x")
    _one_line(e.value, "a -> b -> c -> a", "source_profile")


def test_include_profile_loop(tmp_path: Path) -> None:
    cfg = load(tmp_path, "[profile a]\ninclude_profile = b\n[profile b]\ninclude_profile = a\n")
    with pytest.raises(ProfileLoopError) as e:
        cfg.resolve("a", environ=NOENV)
    _one_line(e.value, "include_profile", "a -> b -> a", str(cfg.path))


def test_missing_source_profile(tmp_path: Path) -> None:
    cfg = load(tmp_path, "[profile role]\nsource_profile = bsae\n[profile base]\n")
    with pytest.raises(MissingReferenceError) as e:
        cfg.resolve("role", environ=NOENV)
    _one_line(e.value, "source_profile 'bsae'", "'role'", str(cfg.path), "did you mean 'base'")


def test_missing_include_profile(tmp_path: Path) -> None:
    cfg = load(tmp_path, "[profile a]\ninclude_profile = b\n[profile b]\ninclude_profile = zz\n")
    with pytest.raises(MissingReferenceError) as e:
        cfg.resolve("a", environ=NOENV)
    _one_line(e.value, "include_profile 'zz'", "profile 'b'", str(cfg.path))


def test_missing_sso_session(tmp_path: Path) -> None:
    cfg = load(tmp_path, "[profile a]\nsso_session = corp\n")
    with pytest.raises(MissingReferenceError) as e:
        cfg.resolve("a", environ=NOENV)
    _one_line(e.value, "sso_session 'corp'", "'a'", str(cfg.path))


@pytest.mark.parametrize("value", ["abc", "1h", "-5", "1.5", "3600s"])
def test_invalid_duration_seconds(tmp_path: Path, value: str) -> None:
    cfg = load(tmp_path, f"[profile a]\nduration_seconds = {value}\n")
    with pytest.raises(InvalidValueError) as e:
        cfg.resolve("a", environ=NOENV)
    _one_line(e.value, "duration_seconds", repr(value), "'a'", str(cfg.path))


def test_invalid_session_tags(tmp_path: Path) -> None:
    cfg = load(tmp_path, "[profile a]\nsession_tags = a=1,b\n")
    with pytest.raises(InvalidValueError) as e:
        cfg.resolve("a", environ=NOENV)
    _one_line(e.value, "session_tags", "'a'", str(cfg.path))


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("[profile a]\nregion = x\nthis line has no delimiter\n", 3, "delimiter not found"),
        ("[profile a]\n= value\n", 2, "empty key name"),
        ('[profile a]\n"quoted key = v\n', 2, "missing closing key quote"),
    ],
)
def test_malformed_line(tmp_path: Path, text: str, line: int, what: str) -> None:
    cfg = load(tmp_path, text)
    with pytest.raises(ConfigParseError) as e:
        cfg.resolve("a", environ=NOENV)
    _one_line(e.value, f"{cfg.path}:{line}:", what, "[profile a]")
    assert e.value.line == line and e.value.profile == "a"
    # the full parser agrees
    with pytest.raises(ConfigParseError) as e2:
        full_parse(cfg)
    assert e2.value.line == line


def test_unclosed_header(tmp_path: Path) -> None:
    cfg = load(tmp_path, "[profile a]\nregion = x\n[profile b\nregion = y\n")
    with pytest.raises(ConfigParseError) as e:
        cfg.profile_names()
    _one_line(e.value, f"{cfg.path}:3:", "unclosed section header", "profile b")
    with pytest.raises(ConfigParseError):
        cfg.resolve("b", environ=NOENV)


def test_unterminated_backtick_value(tmp_path: Path) -> None:
    cfg = load(tmp_path, "[profile a]\ncredential_process = `run\nmore\n")
    with pytest.raises(ConfigParseError) as e:
        cfg.resolve("a", environ=NOENV)
    _one_line(e.value, f"{cfg.path}:2:", "missing closing quote")


def test_malformed_line_elsewhere_is_not_read(tmp_path: Path) -> None:
    # only the sections a resolution needs are parsed (aws-vault would refuse the file)
    p = resolve(tmp_path, "[profile a]\nregion = r\n[profile broken]\nnonsense\n", "a")
    assert p.region == "r"


# ---------------------------------------------------------------------------------------
# Comments, whitespace, quoting, continuation: go-ini's rules


def test_comments_and_inline_comments(tmp_path: Path) -> None:
    text = """\
# full-line comment
; another
[profile a] ; trailing comment after the header
  # indented comment
region = eu-west-1 # inline
role_arn = arn:aws:iam::1:role/R;inline too
external_id = ab#cd
mfa_process = "quoted value"
role_session_name = 'single'
source_identity = "half
credential_process = 'a' and 'b'
"""
    p = resolve(tmp_path, text, "a")
    assert p.region == "eu-west-1"
    assert p.role_arn == "arn:aws:iam::1:role/R"
    assert p.external_id == "ab"  # any '#' cuts an unquoted value
    assert p.mfa_process == "quoted value"
    assert p.role_session_name == "single"
    assert p.source_identity == '"half'
    assert p.credential_process == "'a' and 'b'"


def test_key_case_separators_and_spacing(tmp_path: Path) -> None:
    text = (
        "[profile a]\n"
        "REGION:us-west-1\n"
        "  Role_Arn   =   arn:x  \n"
        "\tmfa_serial\t=\tm\t\n"
        "external_id=a=b:c\n"
        "role_session_name: x = y\n"
    )
    p = resolve(tmp_path, text, "a")
    assert p.region == "us-west-1"
    assert p.role_arn == "arn:x"
    assert p.mfa_serial == "m"
    assert p.external_id == "a=b:c"
    assert p.role_session_name == "x = y"


def test_duplicate_sections_and_keys_merge_last_wins(tmp_path: Path) -> None:
    text = (
        "[profile a]\nregion = r1\nrole_arn = arn:1\n[profile b]\nregion = rb\n"
        "[profile a]\nregion = r2\nregion = r3\nexternal_id = e\n"
    )
    cfg = load(tmp_path, text)
    p = cfg.resolve("a", environ=NOENV)
    assert (p.region, p.role_arn, p.external_id) == ("r3", "arn:1", "e")
    assert cfg.profile_names() == ["a", "b"]


def test_crlf_bom_and_blank_lines(tmp_path: Path) -> None:
    text = b"\xef\xbb\xbf[profile a]\r\n\r\n   \r\nregion = eu-west-3\r\nrole_arn=arn:x\r\n"
    cfg = load(tmp_path, text)
    assert cfg.profile_names() == ["a"]
    p = cfg.resolve("a", environ=NOENV)
    assert (p.region, p.role_arn) == ("eu-west-3", "arn:x")


def test_unicode_whitespace_is_trimmed(tmp_path: Path) -> None:
    text = "\u00a0[profile a]\nregion\u3000=\u2003eu-west-1\u00a0\n"
    cfg = load(tmp_path, text)
    assert cfg.profile_names() == ["a"]
    assert cfg.resolve("a", environ=NOENV).region == "eu-west-1"


def test_nested_values_are_skipped(tmp_path: Path) -> None:
    text = (
        "[profile a]\nregion = r\ns3 =\n  max_concurrent_requests = 10\n\n"
        "  role_arn = arn:nested\nmfa_serial = m\n  external_id = e\n"
    )
    p = resolve(tmp_path, text, "a")
    assert p.region == "r" and p.role_arn is None and p.mfa_serial == "m"
    assert p.external_id == "e"  # after a non-empty value, indentation means nothing
    assert "max_concurrent_requests" not in dict(p.raw)


def test_nested_values_continue_into_next_section(tmp_path: Path) -> None:
    # go-ini keeps the "last value was empty" flag across a section header
    text = "[profile a]\ns3 =\n[profile b]\n  region = nested\nrole_arn = arn:b\n"
    cfg = load(tmp_path, text)
    b = cfg.resolve("b", environ=NOENV)
    assert b.region is None and b.role_arn == "arn:b"


def test_indented_header_after_empty_value_is_nested(tmp_path: Path) -> None:
    text = "[profile a]\ns3 =\n  [profile b]\nregion = belongs-to-a\n[profile c]\n"
    cfg = load(tmp_path, text)
    assert cfg.profile_names() == ["a", "c"]
    assert cfg.resolve("a", environ=NOENV).region == "belongs-to-a"
    assert not cfg.has_profile("b")


def test_indented_header_after_value_is_a_header(tmp_path: Path) -> None:
    text = "[profile a]\nregion = r\n  [profile b]\nregion = rb\n"
    cfg = load(tmp_path, text)
    assert cfg.profile_names() == ["a", "b"]
    assert cfg.resolve("b", environ=NOENV).region == "rb"


def test_continuation_lines(tmp_path: Path) -> None:
    text = (
        "[profile a]\ncredential_process = /bin/creds \\\n   --profile a \\\n  --json\n"
        "region = r\nrole_arn = arn:x\\\n[profile b]\nregion = rb\n[profile c]\n"
    )
    cfg = load(tmp_path, text)
    p = cfg.resolve("a", environ=NOENV)
    # go-ini trims each line, then drops the backslash: the space before it stays
    assert p.credential_process == "/bin/creds --profile a --json"
    # the header line after a trailing backslash is swallowed into the value
    assert p.role_arn == "arn:x[profile b]"
    assert p.region == "rb"
    assert cfg.profile_names() == ["a", "c"]
    assert not cfg.has_profile("b")


def test_backtick_and_triple_quoted_values(tmp_path: Path) -> None:
    text = (
        "[profile a]\ncredential_process = `sh -c 'x; y' # kept`\n"
        'mfa_process = """multi\n[profile fake]\nline"""\n'
        "region = r\n[profile b]\n"
    )
    cfg = load(tmp_path, text)
    p = cfg.resolve("a", environ=NOENV)
    assert p.credential_process == "sh -c 'x; y' # kept"
    assert p.mfa_process == "multi\n[profile fake]\nline"
    assert p.region == "r"
    assert cfg.profile_names() == ["a", "b"]


def test_backtick_outside_values_keeps_the_fast_scanner(tmp_path: Path) -> None:
    text = "# run `shellvault add`\n[profile a]\nrole_session_name = a`b\nregion = r\n"
    cfg = load(tmp_path, text)
    assert cfg.resolve("a", environ=NOENV).role_session_name == "a`b"
    assert not cfg.ini.parsed_fully  # no full parse was needed
    opener = load(tmp_path, "[profile a]\nregion = `r`\n")
    assert opener.resolve("a", environ=NOENV).region == "r"
    assert opener.ini.parsed_fully


def test_keys_before_first_section_are_ignored(tmp_path: Path) -> None:
    cfg = load(tmp_path, "region = top\n[DEFAULT]\nregion = x\n[profile a]\n")
    assert cfg.profile_names() == ["a"]
    assert cfg.resolve("a", environ=NOENV).region is None


def test_value_with_brackets_and_comment_headers(tmp_path: Path) -> None:
    text = "# [profile commented]\n[profile a]\nrole_session_name = x[1]\n"
    cfg = load(tmp_path, text)
    assert cfg.profile_names() == ["a"]
    assert cfg.resolve("a", environ=NOENV).role_session_name == "x[1]"


# ---------------------------------------------------------------------------------------
# Fingerprint


def test_fingerprint_is_stable_and_sensitive(tmp_path: Path) -> None:
    base = CHAIN
    fp = resolve(tmp_path, base, "hop2").fingerprint()
    assert len(fp) == 16 and int(fp, 16) >= 0
    assert resolve(tmp_path, base, "hop2").fingerprint() == fp
    assert resolve(tmp_path, base, "hop2", {"AWS_REGION": "x"}).fingerprint() == fp
    changed_root = base.replace(
        "mfa_serial = arn:aws:iam::1:mfa/me\nregion", "mfa_serial = o\nregion"
    )
    assert resolve(tmp_path, changed_root, "hop2").fingerprint() != fp
    # AWS_ROLE_ARN wins over the file's role_arn of the requested profile
    assert resolve(tmp_path, base, "hop2", {"AWS_ROLE_ARN": "arn:o"}).fingerprint() != fp
    assert resolve(tmp_path, base.replace("Hop2", "Other"), "hop2").fingerprint() != fp
    assert resolve(tmp_path, base, "hop3").fingerprint() != fp
    assert resolve(tmp_path, base, "hop2", {"AWS_MFA_SERIAL": "x"}).fingerprint() != fp


# ---------------------------------------------------------------------------------------
# add_profile


def test_add_profile_preserves_bytes_exactly(tmp_path: Path) -> None:
    original = (
        b"# my config \xe2\x9c\x93\n;semi\n[default]\nregion   =   us-east-1   ; keep\n\n\n"
        b"[profile odd]  \n\tmfa_serial=arn:odd\n  # indented comment\nrole_arn = arn:x"
    )
    p = write(tmp_path, original)
    cfg = AwsConfig.load(p)
    cfg.add_profile("new", {"region": "eu-west-1", "mfa_serial": "arn:aws:iam::1:mfa/me"})
    data = p.read_bytes()
    assert data.startswith(original)
    assert data[len(original) :] == (
        b"\n\n[profile new]\nregion = eu-west-1\nmfa_serial = arn:aws:iam::1:mfa/me\n"
    )
    fresh = AwsConfig.load(p)
    assert fresh.profile_names() == ["default", "odd", "new"]
    assert fresh.resolve("odd", environ=NOENV).role_arn == "arn:x"
    new = fresh.resolve("new", environ=NOENV)
    assert (new.region, new.mfa_serial) == ("eu-west-1", "arn:aws:iam::1:mfa/me")
    # the instance sees its own addition
    assert cfg.profile_names() == ["default", "odd", "new"]


def test_add_profile_noop_when_present(tmp_path: Path) -> None:
    original = b"[profile a]\nregion = r\n"
    p = write(tmp_path, original)
    AwsConfig.load(p).add_profile("a", {"region": "other"})
    assert p.read_bytes() == original


def test_add_profile_default_and_spacing(tmp_path: Path) -> None:
    p = write(tmp_path, "[profile a]\n\n")
    AwsConfig.load(p).add_profile("default", {"region": "r"})
    assert p.read_bytes() == b"[profile a]\n\n[default]\nregion = r\n"


def test_add_profile_keeps_crlf(tmp_path: Path) -> None:
    p = write(tmp_path, b"[profile a]\r\nregion = r\r\n")
    AwsConfig.load(p).add_profile("b", {"region": "s"})
    assert p.read_bytes() == b"[profile a]\r\nregion = r\r\n\r\n[profile b]\r\nregion = s\r\n"


def test_add_profile_creates_file_and_private_directory(tmp_path: Path) -> None:
    p = tmp_path / "home" / ".aws" / "config"
    cfg = AwsConfig.load(p)
    cfg.add_profile("first", {})
    assert p.read_bytes() == b"[profile first]\n"
    assert stat.S_IMODE(os.stat(p.parent).st_mode) == 0o700
    assert AwsConfig.load(p).profile_names() == ["first"]
    assert [x.name for x in p.parent.iterdir()] == ["config"]  # no temp file left


def test_add_profile_keeps_mode_and_symlink(tmp_path: Path) -> None:
    real = write(tmp_path, "[profile a]\n", "real-config")
    os.chmod(real, 0o640)
    link = tmp_path / "config"
    link.symlink_to(real)
    AwsConfig.load(link).add_profile("b", {"region": "r"})
    assert link.is_symlink()
    assert real.read_bytes() == b"[profile a]\n\n[profile b]\nregion = r\n"
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o640


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("", {}),
        ("two\nlines", {}),
        (" padded", {}),
        ("ok", {"region": "a#b"}),
        ("ok", {"region": "a;b"}),
        ("ok", {"region": "line\nbreak"}),
        ("ok", {"region": "ends with \\"}),
        ("ok", {"region": "'quoted'"}),
        ("ok", {"bad=key": "v"}),
        ("ok", {"": "v"}),
        ("ok", {"[x": "v"}),
    ],
)
def test_add_profile_rejects_unrepresentable(
    tmp_path: Path, name: str, values: dict[str, str]
) -> None:
    p = write(tmp_path, "[profile a]\n")
    with pytest.raises(InvalidValueError):
        AwsConfig.load(p).add_profile(name, values)
    assert p.read_bytes() == b"[profile a]\n"


# ---------------------------------------------------------------------------------------
# A large file


def test_ten_thousand_profiles(tmp_path: Path) -> None:
    parts = ["[default]\nregion = us-east-1\n\n[profile base]\nmfa_serial = arn:mfa/me\n\n"]
    for i in range(10_000):
        parts.append(
            f"[profile acct-{i:05d}]\n# account {i}\nrole_arn = arn:aws:iam::{i:012d}:role/Admin\n"
            f"source_profile = base\nmfa_serial = arn:mfa/me\nduration_seconds = {900 + i}\n\n"
        )
    cfg = load(tmp_path, "".join(parts))
    names = cfg.profile_names()
    assert len(names) == 10_002
    assert names[:3] == ["default", "base", "acct-00000"] and names[-1] == "acct-09999"
    for i in (0, 4321, 9999):
        p = cfg.resolve(f"acct-{i:05d}", environ=NOENV)
        assert p.role_arn == f"arn:aws:iam::{i:012d}:role/Admin"
        assert p.duration_seconds == 900 + i
        assert p.region == "us-east-1"
        assert [x.name for x in p.chain()] == ["base", f"acct-{i:05d}"]
    with pytest.raises(UnknownProfileError) as e:
        cfg.resolve("acct-1234", environ=NOENV)
    assert "did you mean" in str(e.value)


# ---------------------------------------------------------------------------------------
# Property tests

_name_chars = st.characters(exclude_categories=["Cs"], exclude_characters="\n\r")
names = st.text(_name_chars, min_size=1, max_size=20).filter(
    lambda s: s == s.strip(
        "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
        "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
    )
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(names, min_size=1, max_size=8))
def test_names_round_trip_through_add_profile(profile_names: list[str]) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "config"
        for n in profile_names:
            AwsConfig.load(p).add_profile(n, {"region": "r-" + str(len(n))})
        cfg = AwsConfig.load(p)
        expected = list(dict.fromkeys(profile_names))
        assert cfg.profile_names() == expected
        for n in expected:
            assert cfg.has_profile(n)
            assert cfg.resolve(n, environ=NOENV).region == "r-" + str(len(n))


safe_values = st.text(
    st.characters(
        exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), exclude_characters="#;`\\'\""
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(safe_values, safe_values)
def test_values_round_trip_through_add_profile(region: str, role: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "config"
        AwsConfig.load(p).add_profile("x", {"region": region, "role_arn": role})
        got = AwsConfig.load(p).resolve("x", environ=NOENV)
        assert (got.region, got.role_arn) == (region, role)


@given(st.integers(0, 50), st.integers(0, 59), st.integers(0, 59))
def test_parse_duration_compositions(h: int, m: int, s: int) -> None:
    total = h * 3600 + m * 60 + s
    assert parse_duration(f"{h}h{m}m{s}s") == total
    assert parse_duration(f"{total}s") == total
    assert parse_duration(str(total)) == total


# Random files built from the line shapes that matter; the lazy scanner must agree with
# the full sequential parser on every section.
_line = st.sampled_from([
    "[profile a]", "[profile b]", "[default]", "  [profile b]", "[profile a.x]",
    "region = ra", "region = rb", "role_arn = arn:x", "s3 =", "  max = 1", "  region = nested",
    "mfa_serial = m \\", "# c [profile a]", "; c", "", "   ", "role_session_name = x # y",
    "\tregion = tab", "include_profile = b", "external_id = e\r",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(_line, max_size=25), st.booleans())
def test_fast_scanner_agrees_with_full_parse(lines: list[str], trailing_newline: bool) -> None:
    text = "\n".join(lines) + ("\n" if trailing_newline else "")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "config"
        path.write_text(text)
        fast = AwsConfig.load(path)
        full = full_parse(fast)
        assert fast.profile_names() == full.profile_names()
        for section in ("profile a", "profile b", "default", "profile a.x"):
            assert AwsConfig.load(path).ini.section(section) == full.ini.section(section), section
        for name in ("a", "b", "a.x", "default"):
            assert fast.has_profile(name) == full.has_profile(name)


# ---------------------------------------------------------------------------------------
# The one definition of a section header (go-ini's rule; completion reads names through it)


@pytest.mark.parametrize(
    ("header", "profile"),
    [
        ("[profile a]b]", "a]b"),  # the name ends at the line's LAST ']'
        ("[profile  spaced ]", " spaced "),  # untrimmed: exactly 'profile ' is stripped
        ("  [profile indented]", "indented"),  # leading whitespace before '[' is skipped
        ("[profile c] ; comment", "c"),
        ("[profile d] ; a ] in the comment", "d] ; a "),
        ("[default]", "default"),
        ("[Profile e]", None),  # sections are case-sensitive (InsensitiveSections: false)
        ("[profile]", None),
        ("[ profile f]", None),
        ("[sso-session g]", None),
        ("[services h]", None),
    ],
)
def test_a_header_names_the_profile_go_ini_reads(header: str, profile: str | None) -> None:
    data = f"{header}\nregion = r\n".encode()
    assert profile_names(data) == ([] if profile is None else [profile])
    if profile is not None:
        cfg = AwsConfig(Path("config"), data)
        assert cfg.has_profile(profile)
        assert cfg.resolve(profile, environ=NOENV).region == "r"
        assert full_parse_of(data).profile_names() == [profile]


def full_parse_of(data: bytes) -> AwsConfig:
    cfg = AwsConfig(Path("config"), data)
    cfg.ini.full_parse()
    return cfg


def test_a_header_without_a_closing_bracket_is_an_error_with_its_line() -> None:
    with pytest.raises(ConfigParseError) as e:
        profile_names(b"[profile a]\n\n[profile b\n")
    assert e.value.line == 3 and "unclosed section header" in str(e.value)


def test_an_empty_section_name_is_an_error() -> None:
    with pytest.raises(ConfigParseError):
        full_parse_of(b"[]\nregion = r\n").profile_names()


# ---------------------------------------------------------------------------------------
# Hostile sizes: bounded depth, bounded messages


def test_many_dots_in_a_section_name_inherit_without_recursion() -> None:
    name = ".".join(["a"] * 5000)
    data = f"[profile a]\nregion = r\n[profile {name}]\nrole_arn = x\n".encode()
    p = AwsConfig(Path("config"), data).resolve(name, environ=NOENV)
    assert p.region == "r" and p.role_arn == "x"


def test_a_source_chain_longer_than_the_bound_is_one_error(tmp_path: Path) -> None:
    text = "".join(f"[profile p{i}]\nsource_profile = p{i + 1}\n" for i in range(500))
    with pytest.raises(InvalidValueError) as e:
        resolve(tmp_path, text + "[profile p500]\n", "p0")
    assert "longer than 64 profiles" in str(e.value) and "'p0'" in str(e.value)
    chain = load(tmp_path, text + "[profile p500]\n").resolve("p440", environ=NOENV).chain()
    assert chain[0].name == "p500" and len(chain) == 61


def test_messages_quote_at_most_a_little_of_a_huge_value(tmp_path: Path) -> None:
    huge = "x" * 1_000_000
    cases = [
        f"[profile a]\nregion = r\n[profile {huge}\n",
        f"[profile a]\n{huge}\n",
        f"[profile a]\nduration_seconds = {huge}\n",
        f"[profile a]\nsession_tags = {huge}\n",
    ]
    for text in cases:
        with pytest.raises(ConfigError) as e:
            cfg = load(tmp_path, text)
            cfg.resolve("a", environ=NOENV)
            cfg.profile_names()
        assert len(str(e.value)) < 400 and "\n" not in str(e.value)


# ---------------------------------------------------------------------------------------
# What botocore gets instead of the file


def test_sdk_config_is_the_profile_section_and_its_services(tmp_path: Path) -> None:
    cfg = load(tmp_path, (
        "[profile a]\nregion = us-west-1\nregion = eu-west-1\nservices = local\n"
        "s3 =\n  addressing_style = path\n"
        "[services local]\nsts =\n  endpoint_url = http://127.0.0.1:1\n  junk\n"
        "[profile a]\nsts_regional_endpoints = regional\n"
        "[profile other]\nregion = x\n"
    ))
    assert cfg.sdk_config("a") == {
        "profiles": {"a": {
            "region": "eu-west-1", "services": "local", "s3": {"addressing_style": "path"},
            "sts_regional_endpoints": "regional",
        }},
        "services": {"local": {"sts": {"endpoint_url": "http://127.0.0.1:1"}}},
        "sso_sessions": {},
    }
    assert cfg.sdk_config("missing") == {"profiles": {}}
    sso = AwsConfig(Path("config"),
                    b"[profile s]\nsso_session = corp\n[sso-session corp]\nsso_region = r\n")
    assert sso.sdk_config("s")["sso_sessions"] == {"corp": {"sso_region": "r"}}
    # The full parser keeps nested values the same way.
    full = full_parse(cfg)
    assert full.sdk_config("a") == cfg.sdk_config("a")


def test_fingerprint_is_the_sha256_of_the_chain_settings(tmp_path: Path) -> None:
    # The cache keys of sessions already in users' vaults: a change here orphans them.
    import hashlib

    p = resolve(tmp_path, "[profile a]\n[profile b]\nsource_profile = a\nrole_arn = r\n", "b")
    h = hashlib.sha256(b"shellvault-profile-v1")
    for q in p.chain():
        h.update(b"\x00" + q._material().encode())
    assert p.fingerprint() == h.hexdigest()[:16]


_hostile_line = st.one_of(
    st.sampled_from([
        "[profile a]", "[profile b]", "[default]", "[sso-session s]", "[services x]",
        "source_profile = a", "source_profile = b", "include_profile = b",
        "include_profile = default", "sso_session = s", "sso_session = nope",
        "duration_seconds = 12x", "duration_seconds = 900", "session_tags = a=b,c",
        "services = x", "sts =", "  endpoint_url = http://h", "region = r", "region = r",
        "mfa_serial = `unclosed", 'credential_process = """x', "a.b = c \\", "[", "[]",
        "key without delimiter", "= no key", "[profile a.b]", "\t[profile b]", "\ufeff",
    ]),
    st.text(alphabet="[]=:#;`\"' \t\\ab.\r\x00\u3000", max_size=12),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_hostile_line, max_size=20))
def test_any_config_resolves_or_raises_one_config_error(lines: list[str]) -> None:
    """The class behind 'internal error' on bad input: whatever the file holds, reading
    it gives values or a ConfigError whose message is one short line."""
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    for name in ("a", "b", "a.b", "default", "missing"):
        cfg = AwsConfig(Path("config"), data)
        try:
            cfg.profile_names()
            cfg.resolve(name, environ=NOENV).fingerprint()
            cfg.sdk_config(name)
        except ConfigError as e:
            message = str(e)
            assert message and "\n" not in message and len(message) < 600, message
