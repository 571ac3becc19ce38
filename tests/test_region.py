"""`--region REGION` on env, export and exec: this call's region instead of the profile's,
with the cached `env`/`export` still answered without click or boto3."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from tests.test_engine_e2e import env_dict


@pytest.fixture
def home(aws_home: Any, world: Any) -> Any:
    aws_home.run("auth", "--mfa-token", world.mfa_code(), "account-a", check=True)
    return aws_home


def _imported(home: Any, *args: str) -> tuple[str, set[str]]:
    """stdout of `shellvault ARGS` run with -X importtime, and the modules it imported."""
    code = "import sys; from shellvault.main import main; sys.argv[0] = 'shellvault'; main()"
    done = home.run_program([sys.executable, "-X", "importtime", "-c", code, *args])
    assert done.returncode == 0, done.stderr
    modules = {line.split("|")[-1].strip().split(".")[0]
               for line in done.stderr.splitlines() if line.startswith("import time:")}
    return done.stdout, modules


def test_env_region_overrides_the_profile_on_the_hot_path(home: Any, moto_server: Any) -> None:
    moto_server.mark()
    stdout, modules = _imported(home, "env", "--shell", "bash", "--region", "ap-southeast-2",
                                "account-a")
    values = env_dict(stdout)
    assert values["AWS_REGION"] == values["AWS_DEFAULT_REGION"] == "ap-southeast-2"
    assert values["SHELLVAULT_PROFILE"] == "account-a"
    assert "click" not in modules and "boto3" not in modules and "botocore" not in modules
    assert moto_server.sts_calls() == []  # the cached session: region is not in its key
    plain = env_dict(home.run("env", "--shell", "bash", "account-a", check=True).stdout)
    assert plain["AWS_REGION"] == "eu-west-1"
    assert plain["AWS_ACCESS_KEY_ID"] == values["AWS_ACCESS_KEY_ID"]


def test_export_and_exec_take_region(home: Any) -> None:
    exported = home.run("export", "--format", "env", "--region=us-east-2", "account-a",
                        check=True)
    assert "AWS_REGION=us-east-2" in exported.stdout.replace("'", "")
    done = home.run("exec", "--region", "sa-east-1", "account-a", "--", "sh", "-c",
                    'echo "$AWS_REGION $AWS_DEFAULT_REGION"', check=True)
    assert done.stdout.split() == ["sa-east-1", "sa-east-1"]


def test_region_reaches_the_sts_calls_of_a_miss(aws_home: Any, world: Any,
                                                moto_server: Any) -> None:
    moto_server.mark()
    done = aws_home.run("env", "--shell", "bash", "--mfa-token", world.mfa_code(),
                        "--region", "ca-central-1", "account-b")
    assert done.returncode == 0, done.stderr
    assert env_dict(done.stdout)["AWS_REGION"] == "ca-central-1"
    assert moto_server.sts_calls() == ["GetSessionToken", "AssumeRole"]


def test_a_bad_region_is_one_line(aws_home: Any) -> None:
    index = aws_home.state_dir / "index.json"
    before = index.read_text()
    for command in (["env", "--shell", "bash"], ["export"], ["exec"], ["login", "--stdout"]):
        for region in ("EU-WEST-1", "eu_west_1", "nowhere", "eu-west-1;rm"):
            tail = ["--", "true"] if command == ["exec"] else []
            done = aws_home.run(*command, "--region", region, "account-a", *tail)
            assert done.returncode == 2, (command, region)
            assert done.stdout == ""
            assert done.stderr.count("\n") == 1 and "not a region name" in done.stderr
    assert index.read_text() == before
