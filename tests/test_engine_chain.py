"""The provider chain through its seams: a fake STS (`Engine(sts=...)`) and an in-memory
store, no network and no keyring.  The same behaviour against moto is in
test_engine_e2e.py; these tests pin the composition itself (which provider feeds which,
what is cached) and show how a test puts its own STS in place."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from shellvault.config import AwsConfig, Profile
from shellvault.creds import Credentials, Session
from shellvault.engine import Engine, Request
from shellvault.errors import InputNeeded, ShellvaultError
from shellvault.vault import Vault

MFA = "arn:aws:iam::123456789012:mfa/alice"
MASTER = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
CONFIG = f"""
[profile central]
region = us-east-1
mfa_serial = {MFA}

[profile nomfa]
region = us-east-1

[profile admin]
source_profile = central
role_arn = arn:aws:iam::222222222222:role/Admin

[profile deeper]
source_profile = admin
role_arn = arn:aws:iam::333333333333:role/Reader

[profile plain-role]
source_profile = nomfa
role_arn = arn:aws:iam::222222222222:role/Plain
"""


class DictStore:
    """The vault's `Store` protocol over a dict."""

    name = "memory"

    def __init__(self) -> None:
        self.items: dict[str, str] = {}

    def describe(self) -> str:
        return "memory store"

    def get(self, name: str) -> str | None:
        return self.items.get(name)

    def set(self, name: str, secret: str, label: str = "") -> None:
        self.items[name] = secret

    def delete(self, name: str) -> bool:
        return self.items.pop(name, None) is not None

    def names(self) -> list[str]:
        return list(self.items)


class FakeSts:
    """An `StsApi` that records each call and issues numbered temporary credentials."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _issue(self, action: str, signer: Credentials, **details: Any) -> Session:
        self.calls.append((action, {"signer": signer.access_key_id, **details}))
        n = len(self.calls)
        creds = Credentials(f"ASIAFAKE{n:012d}", "s" * 40, f"token-{n}",
                            int(time.time()) + details.get("duration", 3600))
        return Session(creds, "123456789012")

    def get_session_token(self, master: Credentials, *, profile_name: str,
                          region: str | None, duration: int, mfa_serial: str | None,
                          code: str | None) -> Session:
        return self._issue("GetSessionToken", master, duration=duration,
                           mfa_serial=mfa_serial, code=code)

    def caller_account(self, creds: Credentials, *, profile_name: str,
                       region: str | None) -> str | None:
        return "123456789012"

    def assume_role(self, source: Credentials, *, profile_name: str, region: str | None,
                    role_arn: str, session_name: str, duration: int, external_id: str | None,
                    tags: Sequence[tuple[str, str]], transitive_tags: Sequence[str],
                    source_identity: str | None, mfa_serial: str | None = None,
                    code: str | None = None) -> Session:
        return self._issue("AssumeRole", source, role_arn=role_arn, duration=duration,
                           mfa_serial=mfa_serial, code=code)

    def actions(self) -> list[str]:
        return [action for action, _ in self.calls]


@pytest.fixture()
def world(tmp_path: Path) -> tuple[Engine, FakeSts, AwsConfig, DictStore]:
    environ = {"SHELLVAULT_STATE_DIR": str(tmp_path / "state"), "HOME": str(tmp_path)}
    store = DictStore()
    vault = Vault(store, environ)
    vault.set_master("central", MASTER)
    vault.set_master("nomfa", MASTER)
    sts = FakeSts()
    config = AwsConfig(tmp_path / "config", CONFIG.encode())
    return Engine(vault, environ, sts=sts), sts, config, store


def _profile(config: AwsConfig, name: str) -> Profile:
    return config.resolve(name, environ={})


CODE = Request(mfa_token="123456")


def test_a_root_profile_gets_one_mfa_session_then_the_cache(world: Any) -> None:
    engine, sts, config, _ = world
    central = _profile(config, "central")
    assert engine.cached(central, CODE) is None
    first = engine.issue(central, CODE)
    assert sts.actions() == ["GetSessionToken"]
    assert sts.calls[0][1]["mfa_serial"] == MFA and sts.calls[0][1]["code"] == "123456"
    assert sts.calls[0][1]["signer"] == MASTER.access_key_id
    again = engine.issue(central, Request(no_input=True))  # no code needed: cached
    hit = engine.cached(central)
    assert sts.actions() == ["GetSessionToken"]
    assert again.session == first.session and hit is not None and hit.session == first.session


def test_a_role_assumes_from_the_mfa_session_and_shares_it(world: Any) -> None:
    engine, sts, config, _ = world
    engine.issue(_profile(config, "central"), CODE)
    admin = engine.issue(_profile(config, "admin"), Request(no_input=True))
    assert sts.actions() == ["GetSessionToken", "AssumeRole"]
    role_call = sts.calls[1][1]
    assert role_call["signer"] == "ASIAFAKE000000000001"  # the MFA session's key
    assert role_call["code"] is None and role_call["role_arn"].endswith(":role/Admin")
    assert admin.session.credentials.access_key_id == "ASIAFAKE000000000002"


def test_a_chain_of_roles_assumes_each_from_the_one_before(world: Any) -> None:
    engine, sts, config, _ = world
    engine.issue(_profile(config, "deeper"), CODE)
    assert sts.actions() == ["GetSessionToken", "AssumeRole", "AssumeRole"]
    assert sts.calls[2][1]["signer"] == "ASIAFAKE000000000002"
    assert sts.calls[2][1]["role_arn"].endswith(":role/Reader")
    assert sts.calls[2][1]["duration"] <= 3600  # AWS's role-chaining cap
    # Every step is cached: the middle role is served without a call.
    engine.issue(_profile(config, "admin"), Request(no_input=True))
    assert len(sts.calls) == 3


def test_without_mfa_a_role_assumes_straight_from_the_keys(world: Any) -> None:
    engine, sts, config, _ = world
    engine.issue(_profile(config, "plain-role"))
    assert sts.actions() == ["AssumeRole"]
    assert sts.calls[0][1]["signer"] == MASTER.access_key_id


def test_the_cache_lookup_never_calls_sts(world: Any) -> None:
    engine, sts, config, _ = world
    for name in ("central", "admin", "deeper", "plain-role"):
        assert engine.cached(_profile(config, name), CODE) is None
    assert sts.calls == []


def test_no_stored_key_and_no_code_are_errors_before_any_call(world: Any) -> None:
    engine, sts, config, store = world
    store.items.clear()
    with pytest.raises(ShellvaultError, match="no access key stored for profile central"):
        engine.issue(_profile(config, "admin"), CODE)
    vault_has_keys = Engine(Vault(DictStore(), engine.environ), engine.environ, sts=sts)
    vault_has_keys.vault.set_master("central", MASTER)
    with pytest.raises(InputNeeded, match="needs an MFA code"):
        vault_has_keys.issue(_profile(config, "admin"), Request(no_input=True))
    assert sts.calls == []
