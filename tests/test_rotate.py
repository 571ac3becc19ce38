"""`shellvault rotate`: against moto's IAM and STS, with staged failures from a pass-through
proxy (tests/failproxy.py) where moto cannot fail on its own."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from tests.failproxy import FailProxy, Failure
from tests.test_engine_e2e import run_with_tty
from tests.world import CENTRAL_ACCOUNT, client


class Rotor:
    """An IAM user of its own per test (the world's alice stays untouched)."""

    def __init__(self, home: Any, world: Any) -> None:
        self.home = home
        self.world = world
        self.user = f"rotor-{secrets.token_hex(4)}"
        self.iam = client(world.moto_url, "iam")
        self.iam.create_user(UserName=self.user)
        key = self.iam.create_access_key(UserName=self.user)["AccessKey"]
        self.old = key["AccessKeyId"]
        self.old_secret = key["SecretAccessKey"]
        home.write_config(world.config_text(
            "[profile rotor]\nregion = us-east-1\n"
            f"mfa_serial = arn:aws:iam::{CENTRAL_ACCOUNT}:mfa/{self.user}\n"
            "\n[profile rotor-admin]\nsource_profile = rotor\n"
            f"role_arn = {world.role_a_arn}\n"))
        home.add_keys("rotor", self.old, self.old_secret)

    def keys(self) -> list[str]:
        return sorted(k["AccessKeyId"] for k in
                      self.iam.list_access_keys(UserName=self.user)["AccessKeyMetadata"])

    def arn_of(self, key_id: str, secret: str) -> str:
        sts = client(self.world.moto_url, "sts", credentials=(key_id, secret, None))
        return str(sts.get_caller_identity()["Arn"])

    def stored_key_signs(self, moto_server: Any) -> str:
        """Which key the vault holds: the one a fresh GetSessionToken is signed with."""
        self.home.run("clear", "rotor", check=True)
        moto_server.mark()
        self.home.run("auth", "--mfa-token", "123456", "rotor", check=True)
        [call] = [c for c in moto_server.calls("sts") if c.action == "GetSessionToken"]
        return call.access_key_id

    @property
    def user_arn(self) -> str:
        return f"arn:aws:iam::{CENTRAL_ACCOUNT}:user/{self.user}"


@pytest.fixture
def rotor(aws_home: Any, world: Any, moto_server: Any) -> Rotor:
    made = Rotor(aws_home, world)
    moto_server.mark()
    return made


@pytest.fixture
def proxy(moto_server: Any) -> Iterator[FailProxy]:
    standin = FailProxy(moto_server.url)
    standin.start()
    try:
        yield standin
    finally:
        standin.stop()


def _sessions_of(home: Any, profile: str) -> list[Any]:
    rows = json.loads(home.run("list", "--json", check=True).stdout)
    return next(r["sessions"] for r in rows if r["profile"] == profile)


def test_rotate_end_to_end_asks_one_code(rotor: Rotor, moto_server: Any) -> None:
    home = rotor.home
    home.run("auth", "--mfa-token", "123456", "rotor-admin", check=True)
    assert _sessions_of(home, "rotor-admin")
    moto_server.mark()
    home.run("clear", "rotor", check=True)  # no MFA session cached: rotate must ask, once
    code, stdout = run_with_tty(home, ["rotate", "rotor"])
    assert code == 0, run_with_tty.transcript  # type: ignore[attr-defined]
    assert stdout == ""
    assert run_with_tty.prompts == 1  # type: ignore[attr-defined]
    [new] = rotor.keys()
    assert new != rotor.old
    transcript = run_with_tty.transcript  # type: ignore[attr-defined]
    assert new in transcript and rotor.old in transcript
    # IAM was called with the MFA session, not with the key itself.
    iam_calls = moto_server.calls("iam")
    assert {c.action for c in iam_calls} >= {"CreateAccessKey", "DeleteAccessKey"}
    assert all(c.access_key_id not in (rotor.old, new) for c in iam_calls)
    # Sessions made from the old key are gone; the stored key is the new one and works.
    assert _sessions_of(home, "rotor-admin") == []
    assert rotor.stored_key_signs(moto_server) == new


def test_rotate_reuses_the_cached_mfa_session(rotor: Rotor, moto_server: Any) -> None:
    rotor.home.run("auth", "--mfa-token", "123456", "rotor", check=True)
    moto_server.mark()
    done = rotor.home.run("rotate", "--no-input", "rotor")  # a prompt would fail it
    assert done.returncode == 0, done.stderr
    assert "GetSessionToken" not in moto_server.sts_calls()
    [new] = rotor.keys()
    assert new != rotor.old


def test_a_refused_delete_leaves_the_new_key_stored_and_named(
        rotor: Rotor, proxy: FailProxy, moto_server: Any) -> None:
    proxy.rules.append(lambda s, a, k: Failure(403, "AccessDenied", "not allowed here")
                       if a == "DeleteAccessKey" else None)
    done = rotor.home.run("rotate", "--mfa-token", "123456", "rotor",
                          env={"AWS_ENDPOINT_URL_IAM": proxy.url})
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    keys = rotor.keys()
    [new] = [k for k in keys if k != rotor.old]
    assert len(keys) == 2
    assert f"the new key {new} is stored and works" in done.stderr
    assert rotor.old in done.stderr and "delete-access-key" in done.stderr
    assert rotor.stored_key_signs(moto_server) == new


def test_a_new_key_aws_does_not_accept_leaves_the_old_key(
        rotor: Rotor, proxy: FailProxy, moto_server: Any) -> None:
    proxy.rules.append(
        lambda s, a, k: Failure(403, "InvalidClientTokenId", "The security token included in "
                                "the request is invalid")
        if a == "GetCallerIdentity" and k != rotor.old else None)
    done = rotor.home.run("rotate", "--mfa-token", "123456", "rotor",
                          env={"AWS_ENDPOINT_URL_STS": proxy.url,
                               "SHELLVAULT_ROTATE_VERIFY_TIMEOUT": "2"})
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert f"the stored key is still {rotor.old}" in done.stderr
    assert "deleted again" in done.stderr
    assert rotor.keys() == [rotor.old]
    assert rotor.arn_of(rotor.old, rotor.old_secret) == rotor.user_arn
    assert rotor.stored_key_signs(moto_server) == rotor.old


def test_bad_input_is_one_line_and_changes_nothing(rotor: Rotor, moto_server: Any) -> None:
    home = rotor.home
    index = home.state_dir / "index.json"
    before = index.read_text()
    spare = rotor.iam.create_access_key(UserName=rotor.user)["AccessKey"]["AccessKeyId"]
    keys = rotor.keys()
    moto_server.mark()
    cases = [
        (["rotate", "no-such-profile"], "unknown profile"),
        (["rotate", "account-b", "--no-input"], "needs an MFA code"),
        (["rotate", "--mfa-token", "123456", "rotor"], f"another access key ({spare})"),
        (["rotate", "--mfa-token", "12", "rotor"], "not six digits"),
    ]
    for args, message in cases:
        done = home.run(*args)
        assert done.returncode != 0, args
        assert done.stdout == ""
        assert done.stderr.count("\n") == 1 and message in done.stderr, (args, done.stderr)
    assert rotor.keys() == keys
    assert "CreateAccessKey" not in {c.action for c in moto_server.calls("iam")}
    sessions = json.loads(index.read_text())["sessions"]
    assert all(s["profile"] != "account-b" for s in sessions.values())
    assert json.loads(before)["masters"] == json.loads(index.read_text())["masters"]


def test_a_profile_without_a_stored_key(sv_home: Any, world: Any) -> None:
    sv_home.write_config(world.config_text())
    sv_home.env.update(world.env())
    done = sv_home.run("rotate", "central")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "no access key stored for profile central" in done.stderr
