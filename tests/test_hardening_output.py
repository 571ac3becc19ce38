"""Issue 10, injection and output classes: every output format against every consumer it
claims, hostile names never reach a terminal or a shell, one line on stderr.

Consumers run for real where Debian has them: sh (dash), bash, zsh, fish, tcsh, and
python-dotenv's parser. Docker's --env-file and PowerShell's verbatim strings are checked
against their documented rules (docker's CLI parses the file client-side but needs a
daemon to show the result; PowerShell is not packaged by Debian at all, only by
Microsoft's own repository and as a NuGet .NET tool, neither of which CI installs).
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shellvault.envvars import render
from shellvault.errors import UsageError
from tests.conftest import REPO_ROOT, require_program

# Anything an environment variable can hold: no NUL, no lone surrogates.
VALUES = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
)
HOSTILE = [
    "`touch pwned`", "$(touch pwned)", "${HOME}", "'", '"', "\\", "a'b\"c", "!x", "!!",
    "a\nb", "\r", "\t", "~", "*", "#x", " lead", "trail ", "x\u2019y", "x\u2018;y",
    "\x1b]0;title\x07", "\u202eevil", "日本語", "$1", "%PATH%", "a=b", "-e",
]
AWS_LIKE = st.text(
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+="),
    min_size=1, max_size=60,
)
ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def _run(argv: list[str], stdin: bytes | None = None) -> bytes:
    done = subprocess.run(argv, input=stdin, capture_output=True, timeout=20, env=ENV)
    assert done.returncode == 0, (argv, done.stderr)
    return done.stdout


def _printenv_after(argv_prefix: list[str], script: str, source: str) -> bytes:
    """`source` the rendered file in a shell, then print SV_VALUE exactly (printenv)."""
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False, encoding="utf-8") as f:
        f.write(script)
    try:
        return _run([*argv_prefix, f"{source} {f.name}; printenv SV_VALUE"])
    finally:
        os.unlink(f.name)


# ----------------------------------------------------------------------------- tcsh


@settings(max_examples=80, deadline=None)
@given(value=VALUES)
def test_tcsh_reads_back_any_value_or_it_is_refused(value: str) -> None:
    require_program("tcsh")
    try:
        script = render({"SV_VALUE": value}, "tcsh")
    except UsageError:
        assert "\n" in value  # tcsh cannot hold a newline: the only refusal
        return
    assert _printenv_after(["tcsh", "-f", "-c"], script, "source") == value.encode() + b"\n"


def test_tcsh_hostile_values() -> None:
    require_program("tcsh")
    for value in (v for v in HOSTILE if "\n" not in v):
        script = render({"SV_VALUE": value}, "tcsh")
        out = _printenv_after(["tcsh", "-f", "-c"], script, "source")
        assert out == value.encode() + b"\n", value


# ----------------------------------------------------------------------------- dotenv


def _docker_env_file(text: str) -> dict[str, str]:
    """docker's --env-file rules (docker/cli opts/envfile.go, parseKeyValueFile): lines
    split on \\n, leading whitespace dropped, blank and '#' lines skipped, the name is
    what precedes the first '=' and must hold no whitespace, the value is every byte after
    it: no quotes, no escapes, no expansion."""
    values: dict[str, str] = {}
    for raw in text.split("\n"):
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep and not re.search(r"\s", name), raw
        values[name] = value
    return values


def _python_dotenv(text: str) -> dict[str, str | None]:
    from dotenv import dotenv_values

    return dict(dotenv_values(stream=io.StringIO(text)))


def _sh_set_a(text: str) -> bytes:
    require_program("sh")
    return _printenv_after(["sh", "-c"], text, "set -a; .")


def _check_dotenv(value: str) -> bool:
    """Every consumer reads `value` back, or render refuses it. True if written."""
    try:
        text = render({"SV_VALUE": value}, "dotenv")
    except UsageError:
        return False
    assert _docker_env_file(text) == {"SV_VALUE": value}
    assert _python_dotenv(text) == {"SV_VALUE": value}
    assert _sh_set_a(text) == value.encode() + b"\n"
    return True


@settings(max_examples=60, deadline=None)
@given(value=VALUES)
def test_dotenv_any_value_reads_alike_everywhere_or_is_refused(value: str) -> None:
    _check_dotenv(value)


@settings(max_examples=30, deadline=None)
@given(value=AWS_LIKE)
def test_dotenv_writes_every_aws_shaped_value(value: str) -> None:
    assert _check_dotenv(value)


def test_dotenv_hostile_values_are_refused_never_run(tmp_path: Path) -> None:
    for value in HOSTILE:
        written = _check_dotenv(value)
        assert written == (value in ("日本語", "a=b", "-e", "%PATH%")), value
    assert not list(Path.cwd().glob("pwned")) and not (tmp_path / "pwned").exists()


def test_dotenv_keeps_real_contract_values() -> None:
    assert _check_dotenv("2026-12-01T18:00:00Z")
    assert _check_dotenv("arn:aws:iam::123456789012:mfa/alice")
    assert _check_dotenv("org/prod-admin@eu-west-1")


# ----------------------------------------------------------------------------- PowerShell

_PS_QUOTES = "'\u2018\u2019\u201a\u201b"


def _powershell_verbatim(text: str) -> tuple[str, str]:
    """PowerShell's tokenizer for a single-quoted string (ScanStringLiteral): any of the
    five single-quote characters opens and closes it; two in a row stand for the second.
    Returns (the string's value, what follows it)."""
    assert text[0] in _PS_QUOTES
    out, i = [], 1
    while i < len(text):
        c = text[i]
        if c in _PS_QUOTES:
            if i + 1 < len(text) and text[i + 1] in _PS_QUOTES:
                out.append(text[i + 1])
                i += 2
                continue
            return "".join(out), text[i + 1:]
        out.append(c)
        i += 1
    raise AssertionError("unterminated string")


@settings(max_examples=200, deadline=None)
@given(value=st.text(st.sampled_from([*_PS_QUOTES, "a", "$", "`", "\n", " ", ";"])) | VALUES)
def test_powershell_string_ends_where_shellvault_ends_it(value: str) -> None:
    line = render({"SV_VALUE": value}, "powershell")
    prefix = "$Env:SV_VALUE = "
    assert line.startswith(prefix)
    parsed, rest = _powershell_verbatim(line[len(prefix):])
    assert (parsed, rest) == (value, ";\n")


# ----------------------------------------------------------------------------- hostile names


CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]")


def _hostile_config(sv_home: Any, name: str) -> None:
    sv_home.write_config(f"[profile ok]\nregion = r\n\n[profile {name}]\nregion = r\n")


@pytest.mark.parametrize("name", ["\x1b]0;pwned\x07x", "evil\x1b[2J", "a\u202eb", "c\x9bd"])
def test_terminal_control_bytes_never_reach_the_terminal(sv_home: Any, name: str) -> None:
    """Class: control bytes in a name (item 17) through ls, profiles and error lines."""
    _hostile_config(sv_home, name)
    for argv in (["list"], ["profiles"], ["env", "--no-input", name], ["remove", "-f", name]):
        done = sv_home.run(*argv)
        for stream in (done.stdout, done.stderr):
            assert not CONTROL.search(stream), (argv, stream)
        if done.returncode:
            assert done.stdout == "" and len(done.stderr.splitlines()) == 1, (argv, done.stderr)
    assert "\\" in sv_home.run("profiles").stdout.splitlines()[1]  # shown escaped, not dropped


def test_list_pads_rows_to_a_sane_width(sv_home: Any) -> None:
    """Item 18: one huge name overflows its own row only."""
    sv_home.write_config("[profile short]\n\n[profile " + "x" * 5000 + "]\n")
    rows = sv_home.run("list", check=True).stdout.splitlines()
    short = next(r for r in rows if r.startswith("short"))
    assert len(short) < 120


def test_a_suggested_command_quotes_the_profile_name(sv_home: Any) -> None:
    """A hint a user may copy ('run shellvault auth NAME') quotes a hostile name."""
    name = "x'; touch pwned; echo '"
    sv_home.write_config(
        f"[profile {name}]\nmfa_serial = arn:aws:iam::123456789012:mfa/a\n"
    )
    sv_home.add_keys(name, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    done = sv_home.run("env", "--no-input", name)
    assert done.returncode == 3, done.stderr
    hint = done.stderr.split("run ", 1)[1].split(" in a terminal")[0]
    words = _run(["sh", "-c", 'for w in "$@"; do printf "%s\\n" "$w"; done', "sh", "x"])
    assert words == b"x\n"
    # evaluated by a shell, the hint is exactly: shellvault auth <name>
    argv = _run(["sh", "-c", f'set -- {hint}; for w in "$@"; do printf "%s\\0" "$w"; done'])
    assert argv.split(b"\0")[:-1] == [b"shellvault", b"auth", name.encode()]


# ----------------------------------------------------------------------------- stderr class

# The modules of the hardening pass: their messages go through tty.notice (one line,
# escaped). Everything else is caught at file descriptor 2 by main's escaping stderr.
NOTICE_ONLY = ("tty.py", "output.py", "lock.py", "vault.py", "envvars.py", "dbus.py",
               "secretservice.py", "configedit.py", "process.py", "paths.py", "mfa.py",
               "sts.py", "main.py")


def test_messages_of_the_hardened_modules_go_through_notice() -> None:
    """Class: one line on stderr without control bytes (item 17), at the source."""
    offenders = []
    for name in NOTICE_ONLY:
        text = (REPO_ROOT / "shellvault" / name).read_text()
        for m in re.finditer(r"sys\.stderr\.write\(|err=True|print\(", text):
            if name == "tty.py" and "def notice" in text[max(0, m.start() - 300):m.start()]:
                continue  # notice itself
            if text[m.start():m.start() + 30].startswith('sys.stderr.write("\\n")'):
                continue  # the line break after an echoed ^C
            offenders.append(f"{name}:{text.count(chr(10), 0, m.start()) + 1}")
    assert offenders == [], "write messages with tty.notice"


def test_control_bytes_are_escaped_at_the_file_descriptor(sv_home: Any) -> None:
    """Class, at the last layer: a line written by code that does not use notice (here
    click's own usage error, quoting the unknown command) still cannot drive a terminal."""
    done = sv_home.run("\x1b]0;pwned\x07\x1b[2J")
    assert done.returncode == 2
    assert "\\x1b]0;pwned\\x07" in done.stderr and not CONTROL.search(done.stderr)
