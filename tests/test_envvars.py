"""`env` output survives eval exactly, in the real shells (property-tested)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shellvault.creds import Credentials, Session
from shellvault.envvars import CONTRACT_VARS, STALE_VARS, contract, render, unset_all
from tests.conftest import require_program

# Anything a shell variable can hold: no NUL, no lone surrogates.
values = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)

SHELL_ARGV = {
    "bash": ["bash", "--norc", "--noprofile", "-c"],
    "zsh": ["zsh", "-f", "-c"],
    "sh": ["sh", "-c"],
    "fish": ["fish", "--no-config", "-c"],
}
PRINT = {
    "bash": 'eval "$1"; printf %s "$SV_VALUE"',
    "zsh": 'eval "$1"; printf %s "$SV_VALUE"',
    "sh": 'eval "$1"; printf %s "$SV_VALUE"',
    "fish": 'eval $argv[1]; printf %s "$SV_VALUE"',
}


def _eval_in(shell: str, script: str) -> bytes:
    argv = [*SHELL_ARGV[shell], PRINT[shell]]
    if shell == "fish":
        argv.append(script)
    else:
        argv += ["shellvault-test", script]
    done = subprocess.run(argv, capture_output=True, timeout=20, env={"PATH": "/usr/bin:/bin",
                                                                        "LANG": "C.UTF-8"})
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "sh", "fish"])
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=values)
def test_any_value_survives_eval(shell: str, value: str) -> None:
    require_program(shell)
    script = render({"SV_VALUE": value}, shell)
    assert _eval_in(shell, script) == value.encode()


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_nasty_values_survive_eval(shell: str) -> None:
    require_program(shell)
    for value in ["it's", "a\\'b", "$(touch /tmp/pwned)", "`id`", "a\nb\n", "\\", "'", "!x",
                  "%s", "*", "~", "$HOME", "{a,b}", "é日本語"]:
        assert _eval_in(shell, render({"SV_VALUE": value}, shell)) == value.encode(), value


def _session() -> Session:
    return Session(Credentials("ASIAEXAMPLEEXAMPLE12", "s3cr3t/+=", "tok'en", 1_900_000_000),
                   "222222222222")


def test_contract_sets_and_unsets_the_documented_names() -> None:
    values = contract(_session(), "account-a", "eu-west-1")
    assert values["AWS_CREDENTIAL_EXPIRATION"] == "2030-03-17T17:46:40Z"
    assert values["SHELLVAULT_EXPIRES"] == "1900000000"
    assert values["SHELLVAULT_ACCOUNT"] == "222222222222"
    assert values["AWS_REGION"] == values["AWS_DEFAULT_REGION"] == "eu-west-1"
    for stale in STALE_VARS:
        assert values[stale] is None
    assert set(unset_all()) == set(CONTRACT_VARS) | set(STALE_VARS)


def test_no_region_unsets_a_previous_one() -> None:
    out = render(contract(_session(), "central", None), "bash")
    assert "unset AWS_REGION;" in out and "unset AWS_DEFAULT_REGION;" in out


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_switching_profile_leaves_no_stale_variable(shell: str) -> None:
    require_program(shell)
    first = render(contract(_session(), "account-a", "eu-west-1"), shell)
    second = render(contract(_session(), "central", None), shell)
    show = {"fish": 'set -q AWS_REGION; and echo set; or echo unset',
            "bash": 'echo ${AWS_REGION+set}${AWS_REGION-unset}',
            "zsh": 'echo ${AWS_REGION+set}${AWS_REGION-unset}'}[shell]
    script = f"{first}\n{second}\n{show}"
    argv = [*SHELL_ARGV[shell], script]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=20,
                          env={"PATH": "/usr/bin:/bin", "AWS_PROFILE": "old"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "unset"


def test_powershell_tcsh_dotenv_quoting() -> None:
    assert render({"A": "it's"}, "powershell") == "$Env:A = 'it''s';\n"
    assert render({"A": None}, "powershell") == "Remove-Item Env:A -ErrorAction SilentlyContinue;\n"
    assert render({"A": "a!b"}, "tcsh") == "setenv A 'a'\\!'b';\n"
    assert render({"A": "ASIA/x+y=:2026-01-01T00:00:00Z"}, "dotenv") == (
        "A=ASIA/x+y=:2026-01-01T00:00:00Z\n"
    )
    assert render({"A": None}, "dotenv") == ""


@pytest.mark.parametrize("shell", ["bash", "zsh", "sh", "fish"])
def test_evaluating_the_output_ends_with_status_zero(shell: str) -> None:
    require_program(shell)
    for values in (contract(_session(), "central", None), unset_all()):
        script = render(values, shell) + "echo status=$" + ("status" if shell == "fish" else "?")
        done = subprocess.run([*SHELL_ARGV[shell], script], capture_output=True, text=True,
                              timeout=20, env={"PATH": "/usr/bin:/bin"})
        assert done.stdout.strip() == "status=0", (shell, done.stdout, done.stderr)


def test_fish_unset_never_erases_a_universal_variable(tmp_path: Path) -> None:
    require_program("fish")
    # Universal variables live in $XDG_CONFIG_HOME/fish (not read with --no-config).
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}

    def fish(script: str) -> str:
        done = subprocess.run(["fish", "-c", script], env=env, capture_output=True, text=True,
                              timeout=20)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    fish("set -Ux AWS_PROFILE from-universal")
    script = render(contract(_session(), "central", None), "fish")
    # Hidden in this session (fish 3.6 still exports an exported universal to children)...
    assert fish(script + "\nset -q AWS_PROFILE[1]; and echo visible; or echo hidden") == "hidden"
    # ...and still there in the next session.
    assert fish("echo $AWS_PROFILE") == "from-universal"
