"""`shellvault doctor`: each failure it claims to detect, staged for real (a missing or
broken config, an unusable keyring, no plugin, an unreachable STS, no stored key, an
expired session), and a healthy setup that passes. moto plays AWS."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest

from tests.conftest import require_program


def _doctor(home: Any, **env: str | None) -> tuple[int, dict[str, dict[str, str]], str]:
    done = home.run("doctor", env=env)
    assert "Traceback" not in done.stderr
    as_json = home.run("doctor", "--json", env=env)
    assert as_json.returncode == done.returncode
    checks = {c["check"]: c for c in json.loads(as_json.stdout)}
    lines = done.stdout.splitlines()
    assert len(lines) == len(checks)  # one line per check
    for line in lines:
        assert line[:2] in ("\u2713 ", "\u2717 ", "! "), line
        if line.startswith("\u2717"):
            assert "\u2192" in line, line  # every failure names its fix
    return done.returncode, checks, done.stdout


def _healthy(home: Any) -> dict[str, str | None]:
    """What a working setup has: a session, the plugin loaded, direnv's extension."""
    home.run("auth", "account-a", "--mfa-token", home.world.mfa_code(), check=True)
    require_program("direnv")
    lib = home.home / ".config" / "direnv" / "lib"
    lib.mkdir(parents=True, exist_ok=True)
    (lib / "shellvault.sh").write_text(home.run("init", "direnv", check=True).stdout)
    return {"SHELLVAULT_PLUGIN": "bash"}


def test_a_healthy_setup_passes(aws_home: Any) -> None:
    env = _healthy(aws_home)
    code, checks, text = _doctor(aws_home, **env)
    assert code == 0, text
    assert all(c["status"] == "ok" for c in checks.values()), text
    for name in ("config", "profiles", "vault", "shell plugin", "direnv", "STS", "key central",
                 "central", "account-a"):
        assert name in checks, text
    assert aws_home.world.user_arn in checks["key central"]["detail"]
    assert "MFA session" in checks["central"]["detail"]
    assert "role session" in checks["account-a"]["detail"] and "left" in text
    assert "clock within" in checks["STS"]["detail"]
    assert "SHELLVAULT_BACKEND=file" in checks["vault"]["detail"]


def _failed(checks: dict[str, dict[str, str]], name: str) -> dict[str, str]:
    assert checks[name]["status"] == "fail", checks
    assert checks[name]["fix"], checks[name]
    return checks[name]


def test_no_config_file(sv_home: Any) -> None:
    code, checks, _ = _doctor(sv_home)
    assert code == 1
    assert "shellvault add central" in _failed(checks, "config")["fix"]


def test_broken_config_and_unresolvable_profile(aws_home: Any) -> None:
    aws_home.write_config("[profile a]\nregion = r\n[profile b\n")
    code, checks, _ = _doctor(aws_home, **_healthy_env())
    assert code == 1 and "unclosed section header" in _failed(checks, "config")["detail"]
    aws_home.write_config(aws_home.world.config_text("[profile c]\nsource_profile = gone\n"))
    code, checks, _ = _doctor(aws_home, **_healthy_env())
    assert code == 1 and "'gone'" in _failed(checks, "profiles")["detail"]


def _healthy_env() -> dict[str, str]:
    return {"SHELLVAULT_PLUGIN": "bash"}


def test_keyring_unavailable(aws_home: Any) -> None:
    code, checks, _ = _doctor(aws_home, SHELLVAULT_BACKEND="keyring",
                              DBUS_SESSION_BUS_ADDRESS="unix:path=/nonexistent",
                              **_healthy_env())
    assert code == 1
    assert "SHELLVAULT_BACKEND=file" in _failed(checks, "vault")["fix"]


@pytest.mark.parametrize(("shell", "fix"), [("/bin/bash", 'eval "$(shellvault init bash)"'),
                                            ("/usr/bin/zsh", "~/.zshrc"),
                                            ("/usr/bin/fish", "shellvault init fish | source")])
def test_plugin_not_loaded(aws_home: Any, shell: str, fix: str) -> None:
    code, checks, _ = _doctor(aws_home, SHELL=shell, SHELLVAULT_PLUGIN=None)
    assert code == 1
    assert fix in _failed(checks, "shell plugin")["fix"]


def test_direnv_without_the_extension(aws_home: Any) -> None:
    require_program("direnv")
    code, checks, _ = _doctor(aws_home, **_healthy_env())
    assert checks["direnv"]["status"] == "warn"  # direnv without shellvault is no failure
    assert "shellvault init direnv >" in checks["direnv"]["fix"]
    assert code == 0


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends


def test_sts_unreachable(aws_home: Any) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    code, checks, _ = _doctor(aws_home, AWS_ENDPOINT_URL=url, **_healthy_env())
    assert code == 1
    failed = _failed(checks, "STS")
    assert url in failed["detail"] and "network" in failed["fix"]
    assert "not tested" in checks["key central"]["detail"]


def test_no_key_stored(sv_home: Any, world: Any) -> None:
    sv_home.write_config(world.config_text())
    sv_home.env.update(world.env())
    code, checks, _ = _doctor(sv_home, **_healthy_env())
    assert code == 1
    assert _failed(checks, "key central")["fix"] == "shellvault add central"


def test_expired_session(aws_home: Any) -> None:
    env = _healthy(aws_home)
    index = aws_home.state_dir / "index.json"
    data = json.loads(index.read_text())
    for entry in data["sessions"].values():
        if entry["profile"] == "account-a":
            entry["expires"] = int(time.time()) - 600
    index.write_text(json.dumps(data))
    code, checks, _ = _doctor(aws_home, **env)
    assert code == 1
    failed = _failed(checks, "account-a")
    assert "expired 10m ago" in failed["detail"]
    assert failed["fix"] == "shellvault auth account-a"
    assert checks["central"]["status"] == "ok"
def test_plugin_loaded_in_a_real_shell(aws_home: Any) -> None:
    """The plugin itself says it is loaded (SHELLVAULT_PLUGIN), as the shell sees it."""
    bash = require_program("bash")
    done = aws_home.run_program(
        [bash, "--norc", "-i", "-c", 'eval "$(shellvault init bash)"; shellvault doctor --json'])
    checks = {c["check"]: c for c in json.loads(done.stdout)}
    assert checks["shell plugin"]["status"] == "ok", checks["shell plugin"]




def test_an_old_key_suggests_rotate(aws_home: Any) -> None:
    index = aws_home.state_dir / "index.json"
    data = json.loads(index.read_text())
    data["masters"]["central"]["added"] = int(time.time()) - 100 * 86400
    index.write_text(json.dumps(data))
    code, checks, _ = _doctor(aws_home, **_healthy_env())
    key = checks["key central"]
    assert key["status"] == "warn" and "stored 100 days ago" in key["detail"]
    assert key["fix"] == "shellvault rotate central"
    assert code == 0  # a warning, not a failure


def test_the_secret_service_backend_answers(aws_keyring_home: Any) -> None:
    _, checks, text = _doctor(aws_keyring_home, **_healthy_env())
    vault = checks["vault"]
    assert vault["status"] == "ok" and "answers" in vault["detail"], text
    assert "SHELLVAULT_BACKEND=keyring" in vault["detail"]
    assert checks["key central"]["status"] == "ok", text
