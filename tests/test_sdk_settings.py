"""botocore never parses ~/.aws/config (`shellvault/sdk.py`): the IAM Identity Center
clients get the sections shellvault read, and settings botocore refuses are one line.
(The STS side is in test_engine_e2e.py.)"""

from __future__ import annotations

from tests.conftest import SvHome
from tests.sso_harness import SsoServer, sso_config, sso_home, sso_server

__all__ = ["sso_home", "sso_server"]


def test_sso_clients_read_the_file_as_shellvault_does(sso_home: SvHome,
                                                      sso_server: SsoServer) -> None:
    # A key and a section set twice (botocore's parser refuses both) and a long header.
    text = sso_config().replace("[profile sso-a]\n", "[profile sso-a]\nregion = us-east-1\n")
    text += "\n[profile sso-a]\nregion = eu-west-1\n\n[profile " + "x" * 200_000 + "]\n"
    sso_home.write_config(text)
    done = sso_home.run("env", "--shell", "bash", "sso-a")
    assert done.returncode == 0, done.stderr[:500]
    assert "AWS_REGION=eu-west-1" in done.stdout.replace("'", "").replace('"', "")


def test_a_region_botocore_refuses_is_one_line(sso_home: SvHome, sso_server: SsoServer) -> None:
    sso_home.write_config(sso_config().replace("sso_region = ", "sso_region = not a region! ", 1))
    done = sso_home.run("env", "--shell", "bash", "sso-a")
    assert done.returncode != 0 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "internal error" not in done.stderr and "region" in done.stderr
