"""`shellvault policy`: complete IAM documents from the config, and `--apply` against a real
moto IAM (which then lists what was created)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from shellvault.config import AwsConfig
from shellvault.policy import identity_policy, plan, role_profiles, trust_policy


@pytest.fixture
def fresh_world(aws_home: Any, moto_server: Any) -> Iterator[Any]:
    """aws_home, and moto rebuilt afterwards: --apply changes alice and the roles."""
    yield aws_home
    moto_server.reset()


def _statement(document: dict[str, Any], sid: str) -> dict[str, Any]:
    found = [s for s in document["Statement"] if s.get("Sid") == sid]
    assert len(found) == 1, document
    return found[0]


def test_policy_prints_every_document_as_one_json_value(aws_home: Any) -> None:
    world = aws_home.world
    done = aws_home.run("policy")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    [identity] = out["identity_policies"]
    assert identity["user_arn"] == world.user_arn  # asked of AWS with the stored key
    assume = _statement(identity["document"], "ShellvaultAssumeConfiguredRoles")
    assert assume == {"Sid": "ShellvaultAssumeConfiguredRoles", "Effect": "Allow",
                      "Action": "sts:AssumeRole",
                      "Resource": sorted([world.role_a_arn, world.role_b_arn])}
    assert _statement(identity["document"], "BlockMostAccessUnlessSignedInWithMFA")["Effect"] == \
        "Deny"
    trusts = {t["profile"]: t for t in out["trust_policies"]}
    assert set(trusts) == {"account-a", "account-b"}
    document = trusts["account-a"]["document"]
    assert document == {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "ShellvaultAssumeWithMFA",
            "Effect": "Allow",
            "Principal": {"AWS": world.user_arn},
            "Action": "sts:AssumeRole",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        }],
    }


def test_trust_and_identity_print_one_pasteable_document(aws_home: Any) -> None:
    trust = aws_home.run("policy", "account-b", "--trust", "--max-mfa-age", "12h", check=True)
    document = json.loads(trust.stdout)
    assert document["Version"] == "2012-10-17"
    [statement] = document["Statement"]
    assert statement["Condition"]["NumericLessThan"] == {"aws:MultiFactorAuthAge": "43200"}
    identity = aws_home.run("policy", "account-b", "--identity", check=True)
    assume = _statement(json.loads(identity.stdout), "ShellvaultAssumeConfiguredRoles")
    assert assume["Resource"] == aws_home.world.role_b_arn  # exactly the role named


def test_profile_settings_that_need_more_than_assume_role_get_it(tmp_path: Any) -> None:
    path = tmp_path / "config"
    path.write_text(
        "[profile central]\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\n"
        "[profile tagged]\nsource_profile = central\nrole_arn = arn:aws:iam::2:role/x\n"
        "[profile a]\nsource_profile = central\nrole_arn = arn:aws:iam::222222222222:role/A\n"
        "external_id = ext-1\nsession_tags = team=red\nsource_identity = alice\n"
        "[profile chained]\nsource_profile = a\nrole_arn = arn:aws:iam::333333333333:role/B\n")
    config = AwsConfig.load(path)
    profiles = role_profiles(config, ["a", "chained"])
    documents = plan(profiles, {"central": "arn:aws:iam::123456789012:user/alice"})
    a, chained = (t.document["Statement"][0] for t in documents.trust)
    assert a["Action"] == ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]
    assert a["Condition"]["StringEquals"] == {"sts:ExternalId": "ext-1"}
    # a chained role trusts the role before it, without an MFA condition
    assert chained["Principal"] == {"AWS": "arn:aws:iam::222222222222:role/A"}
    assert "Condition" not in chained
    [identity] = documents.identity
    assert _statement(identity.document, "ShellvaultAssumeConfiguredRoles")["Resource"] == \
        "arn:aws:iam::222222222222:role/A"
    with pytest.raises(Exception, match="not a role ARN"):
        plan(role_profiles(config, ["tagged"]), {"central": "arn:aws:iam::1:user/x"})


def test_documents_are_plain_json_values() -> None:
    for document in (identity_policy("arn:aws-cn:iam::123456789012:user/a", []),):
        assert json.loads(json.dumps(document)) == document
        assert all("arn:aws-cn:" in json.dumps(s) or s["Resource"] == "*"
                   for s in document["Statement"])
    assert trust_policy.__doc__


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["central", "--trust"], "has no role_arn"),
        (["account-a", "account-b", "--trust"], "one role"),
        (["--trust", "--identity", "account-a"], "choose one"),
        (["--max-mfa-age", "soon"], "not a duration"),
        (["--user-arn", "arn:aws:iam::1:role/x"], "not an IAM user ARN"),
        (["nope"], "unknown profile 'nope'"),
    ],
)
def test_policy_bad_input_is_one_line(aws_home: Any, args: list[str], says: str) -> None:
    done = aws_home.run("policy", *args)
    assert done.returncode == 2 or (done.returncode == 1 and "unknown" in says)
    assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert says in done.stderr


def test_apply_creates_the_policies_in_iam_and_then_finds_them_unchanged(
        fresh_world: Any) -> None:
    home = fresh_world
    world = home.world
    expected = json.loads(home.run("policy", check=True).stdout)
    done = home.run("policy", "--apply", "--mfa-token", world.mfa_code())
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert lines == [
        "shellvault: created: inline policy shellvault-assume-roles of IAM user alice",
        "shellvault: updated: trust policy of role Admin in account 222222222222 (account-a)",
        "shellvault: updated: trust policy of role Admin in account 333333333333 (account-b)",
    ]
    iam = world.client("iam")
    assert "shellvault-assume-roles" in iam.list_user_policies(UserName="alice")["PolicyNames"]
    stored = iam.get_user_policy(UserName="alice", PolicyName="shellvault-assume-roles")
    assert stored["PolicyDocument"] == expected["identity_policies"][0]["document"]
    for trust in expected["trust_policies"]:
        role_iam = world.client("iam", profile=trust["profile"])
        role = role_iam.get_role(RoleName="Admin")["Role"]
        assert role["AssumeRolePolicyDocument"] == trust["document"]
    again = home.run("policy", "--apply")  # sessions are cached: no code needed
    assert again.returncode == 0, again.stderr
    assert [line.split(":")[1].strip() for line in again.stderr.strip().splitlines()] == [
        "unchanged"] * 3


def test_apply_creates_a_missing_role_with_an_administrator_profile(
        fresh_world: Any, moto_server: Any) -> None:
    """--using: the IAM calls in account-b are made with another profile's credentials
    there (an administrator role), as a real account needs when the role does not exist."""
    home = fresh_world
    world = home.world
    role_iam = world.client("iam", profile="account-b")
    role_iam.create_role(RoleName="OrgAdmin", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
         "Principal": {"AWS": world.user_arn}}]}))
    role_iam.delete_role_policy(RoleName="Admin", PolicyName="admin")
    role_iam.delete_role(RoleName="Admin")
    home.write_config(world.config_text(
        f"[profile admin-b]\nsource_profile = central\nmfa_serial = {world.mfa_serial}\n"
        f"role_arn = arn:aws:iam::{world.account_b}:role/OrgAdmin\n"))
    admin_key = json.loads(home.run("export", "admin-b", "--mfa-token", world.mfa_code(),
                                    check=True).stdout)["AccessKeyId"]
    moto_server.mark()
    done = home.run("policy", "account-b", "--apply", "--using", "admin-b")
    assert done.returncode == 0, done.stderr
    assert "shellvault: created: role Admin in account 333333333333" in done.stderr
    [create] = [c for c in moto_server.calls("iam") if c.action == "CreateRole"]
    assert create.access_key_id == admin_key
    role = role_iam.get_role(RoleName="Admin")["Role"]
    trust = json.loads(home.run("policy", "account-b", "--trust", check=True).stdout)
    assert role["AssumeRolePolicyDocument"] == trust
    assert home.run("policy", "--using", "admin-b").returncode == 2  # only with --apply
