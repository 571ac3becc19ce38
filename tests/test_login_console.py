"""`shellvault login`: the AWS console sign-in, against moto (STS) and a stand-in federation
endpoint on 127.0.0.1 that accepts only sessions moto issued."""

from __future__ import annotations

import json
import stat
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shellvault import console
from shellvault.config import AwsConfig
from tests.federation_standin import FederationStandIn, MotoSessions


@pytest.fixture(scope="module")
def federation(moto_server: Any, world: Any) -> Iterator[FederationStandIn]:
    standin = FederationStandIn(MotoSessions(moto_server.url))
    standin.start()
    try:
        yield standin
    finally:
        standin.stop()


@pytest.fixture
def home(aws_home: Any, federation: FederationStandIn, moto_server: Any) -> Any:
    aws_home.env["SHELLVAULT_FEDERATION_URL"] = federation.url
    federation.requests.clear()
    moto_server.mark()
    return aws_home


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).items()}


def _state(home: Any) -> str:
    index = home.state_dir / "index.json"
    return index.read_text() if index.exists() else ""


def test_role_profile_prints_a_url_whose_token_came_for_the_role_session(
        home: Any, federation: FederationStandIn, world: Any, moto_server: Any) -> None:
    done = home.run("login", "--stdout", "--mfa-token", world.mfa_code(), "account-a")
    assert done.returncode == 0, done.stderr
    url = done.stdout.strip()
    assert done.stdout.count("\n") == 1
    assert moto_server.sts_calls() == ["GetSessionToken", "AssumeRole"]
    [request] = federation.requests
    assert request.accepted_as == f"arn:aws:sts::{world.account_a}:assumed-role/Admin/" \
        "shellvault-central"
    assert request.session_duration is None
    assert url.startswith(federation.url + "?")
    query = _query(url)
    assert query == {
        "Action": "login",
        "Issuer": "shellvault",
        "Destination": "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1",
        "SigninToken": str(request.token),
    }


def test_path_region_and_duration(home: Any, federation: FederationStandIn, world: Any,
                                  moto_server: Any) -> None:
    done = home.run("login", "--stdout", "--mfa-token", world.mfa_code(), "--path", "s3",
                    "--region", "us-west-2", "--duration", "2h", "account-b")
    assert done.returncode == 0, done.stderr
    [request] = federation.requests
    assert request.accepted_as and request.accepted_as.startswith(
        f"arn:aws:sts::{world.account_b}:assumed-role/Admin/")
    assert request.session_duration == "7200"
    assert [(c.action, c.params.get("DurationSeconds")) for c in moto_server.calls("sts")][-1] \
        == ("AssumeRole", "7200")
    assert _query(done.stdout.strip())["Destination"] == \
        "https://us-west-2.console.aws.amazon.com/s3?region=us-west-2"


def test_profile_without_role_signs_in_as_a_federated_user(
        home: Any, federation: FederationStandIn, world: Any, moto_server: Any) -> None:
    done = home.run("login", "--stdout", "central")
    assert done.returncode == 0, done.stderr
    [call] = moto_server.calls("sts")
    assert call.action == "GetFederationToken"
    assert call.access_key_id == world.access_key_id  # the stored long-term key, no MFA
    assert call.params["Name"] == "shellvault-central"
    assert json.loads(call.params["Policy"])["Statement"][0]["Action"] == "*"
    [request] = federation.requests
    assert request.accepted_as == "federated-user/shellvault-central"
    assert request.session_duration is None  # AWS refuses it for federated users
    assert "cannot use IAM or STS" in done.stderr
    assert _query(done.stdout)["SigninToken"] == request.token


def test_browser_gets_a_one_time_address_not_the_token(
        home: Any, federation: FederationStandIn, world: Any, tmp_path: Path) -> None:
    record = tmp_path / "browser.json"
    browser = tmp_path / "browser"
    browser.write_text(
        f"#!{sys.executable}\n"
        "import json, sys, urllib.request, urllib.error\n"
        "class NoFollow(urllib.request.HTTPRedirectHandler):\n"
        "    def redirect_request(self, *a, **k):\n"
        "        return None\n"
        "opener = urllib.request.build_opener(NoFollow)\n"
        "try:\n"
        "    opener.open(sys.argv[1], timeout=10)\n"
        "    location = None\n"
        "except urllib.error.HTTPError as exc:\n"
        "    location = exc.headers.get('Location')\n"
        "try:\n"
        "    opener.open(sys.argv[1], timeout=10)\n"
        "    again = 200\n"
        "except urllib.error.HTTPError as exc:\n"
        "    again = exc.code\n"
        "except OSError:\n"
        "    again = 'refused'\n"
        f"open({str(record)!r}, 'w').write(json.dumps("
        "{'argv': sys.argv[1:], 'location': location, 'again': again}))\n"
    )
    browser.chmod(browser.stat().st_mode | stat.S_IXUSR)
    done = home.run("login", "--mfa-token", world.mfa_code(), "account-a",
                    env={"BROWSER": str(browser)})
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    deadline = time.monotonic() + 30  # the browser outlives the command that started it
    while not record.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    seen = json.loads(record.read_text())
    [request] = federation.requests
    assert request.token
    assert _query(seen["location"])["SigninToken"] == request.token
    assert all(request.token not in arg for arg in seen["argv"])
    assert seen["argv"][0].startswith("http://127.0.0.1:")
    assert seen["again"] in (404, "refused")  # the address works once


def test_a_browser_that_fails_is_one_line(home: Any, world: Any) -> None:
    done = home.run("login", "--mfa-token", world.mfa_code(), "account-a",
                    env={"BROWSER": "false"})
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "--stdout" in done.stderr


@pytest.mark.parametrize("args, message", [
    (["--path", "https://example.com/", "account-a"], "not a console path"),
    (["--region", "nowhere", "account-a"], "not a region name"),
    (["--duration", "5m", "account-a"], "--duration"),
    (["no-such-profile"], "unknown profile"),
])
def test_bad_input_is_one_line_and_changes_nothing(home: Any, moto_server: Any,
                                                   federation: FederationStandIn,
                                                   args: list[str], message: str) -> None:
    before = _state(home)
    done = home.run("login", "--stdout", *args)
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert moto_server.sts_calls() == []
    assert federation.requests == []
    assert _state(home) == before


def test_a_refused_session_is_one_line(home: Any, world: Any, tmp_path: Path) -> None:
    # A federation endpoint that knows nothing of these sessions refuses them.
    other = FederationStandIn(lambda session: None)
    other.start()
    try:
        done = home.run("login", "--stdout", "--mfa-token", world.mfa_code(), "account-a",
                        env={"SHELLVAULT_FEDERATION_URL": other.url})
    finally:
        other.stop()
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "HTTP 400" in done.stderr
    assert [r.accepted_as for r in other.requests] == [None]


def _profile(tmp_path: Path, text: str, name: str) -> Any:
    path = tmp_path / "config"
    path.write_text(text)
    return AwsConfig.load(path).resolve(name, {})


@pytest.mark.parametrize("region, arn_partition, federation_url, landing", [
    ("cn-north-1", "aws-cn", "https://signin.amazonaws.cn/federation",
     "https://cn-north-1.console.amazonaws.cn/console/home?region=cn-north-1"),
    ("us-gov-west-1", "aws-us-gov", "https://signin.amazonaws-us-gov.com/federation",
     "https://us-gov-west-1.console.amazonaws-us-gov.com/console/home?region=us-gov-west-1"),
    ("eu-west-1", "aws", "https://signin.aws.amazon.com/federation",
     "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1"),
])
def test_sign_in_host_per_partition(tmp_path: Path, region: str, arn_partition: str,
                                    federation_url: str, landing: str) -> None:
    profile = _profile(tmp_path, f"[profile p]\nregion = {region}\n"
                       f"role_arn = arn:{arn_partition}:iam::111111111111:role/R\n"
                       "source_profile = p\n", "p")
    partition = console.partition_of(profile, profile.region)
    assert partition == arn_partition
    assert console.federation_endpoint(partition, {}) == federation_url
    assert console.destination(partition, profile.region, "") == landing


def test_partition_from_the_role_arn_without_a_region(tmp_path: Path) -> None:
    profile = _profile(tmp_path, "[profile p]\nrole_arn = arn:aws-cn:iam::1:role/R\n", "p")
    assert console.partition_of(profile, None) == "aws-cn"
    assert console.destination("aws-cn", None, "") == "https://console.amazonaws.cn/"


def test_federation_url_override_must_be_a_url() -> None:
    with pytest.raises(Exception, match="not an http"):
        console.federation_endpoint("aws", {"SHELLVAULT_FEDERATION_URL": "file:///etc/passwd"})


def test_login_help_names_the_console(home: Any) -> None:
    helped = home.run("login", "--help")
    assert helped.returncode == 0
    assert "AWS console" in helped.stdout
    assert "--stdout" in helped.stdout and "--path" in helped.stdout
