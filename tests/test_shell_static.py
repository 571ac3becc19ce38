"""Static checks of the shell plugins, and shellvault/shells.py.

* shellcheck on the bash plugin; `bash -n`, `zsh -n`, `fish -n` on every file;
* the bash plugin stays within bash 3.2 (macOS): no bash-4+ syntax except on
  lines that say which version guards them (`# bash>=X.Y`), each of which must
  sit in a branch that checks BASH_VERSINFO (or a flag derived from it);
* every plugin saves/restores exactly the environment contract's variables;
* shells.py: shell_dir, detect_shell, init_script.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from shellvault import shells
from tests.conftest import require_program
from tests.shellharness import PLUGINS, SHELL_DIR

BASH_FILES = [
    SHELL_DIR / "bash" / "shellvault.bash",
    SHELL_DIR / "bash" / "shellvault-completion.bash",
]
ZSH_FILES = [SHELL_DIR / "zsh" / "shellvault.plugin.zsh", SHELL_DIR / "zsh" / "_shellvault"]
FISH_FILES = [
    SHELL_DIR / "fish" / "conf.d" / "shellvault.fish",
    SHELL_DIR / "fish" / "completions" / "shellvault.fish",
    SHELL_DIR / "fish" / "completions" / "with-role.fish",
]


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


# ------------------------------------------------------------------ syntax / lint
@pytest.mark.parametrize("path", BASH_FILES, ids=lambda p: p.name)
def test_shellcheck_clean(path: Path) -> None:
    shellcheck = require_program("shellcheck")
    r = _run([shellcheck, "--shell=bash", "--severity=style", str(path)])
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("path", BASH_FILES, ids=lambda p: p.name)
def test_bash_syntax(path: Path) -> None:
    r = _run([require_program("bash"), "-n", str(path)])
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("path", ZSH_FILES, ids=lambda p: p.name)
def test_zsh_syntax(path: Path) -> None:
    r = _run([require_program("zsh"), "-n", str(path)])
    assert r.returncode == 0 and not r.stderr, r.stderr


@pytest.mark.parametrize("path", FISH_FILES, ids=lambda p: p.name)
def test_fish_syntax(path: Path) -> None:
    r = _run([require_program("fish"), "-n", str(path)])
    assert r.returncode == 0 and not r.stderr, r.stderr


def test_init_scripts_parse() -> None:
    for shell, flag in (("bash", "-n"), ("zsh", "-n"), ("fish", "-n")):
        exe = require_program(shell)
        r = subprocess.run(
            [exe, flag],
            input=shells.init_script(shell),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert r.returncode == 0 and not r.stderr, (shell, r.stderr)


# ------------------------------------------------------------------ bash 3.2
# (pattern, what it is). Checked on each line with its comment removed.
BASH4_SYNTAX = [
    (r"\bdeclare\s+-[a-zA-Z]*A", "associative arrays (declare -A, bash 4)"),
    (r"\blocal\s+-[a-zA-Z]*A", "associative arrays (local -A, bash 4)"),
    (r"\bdeclare\s+-[a-zA-Z]*[gn]", "declare -g / -n (bash 4.2 / 4.3)"),
    (r"\blocal\s+-[a-zA-Z]*n", "namerefs (bash 4.3)"),
    (r"\$\{[^}]*(,,|\^\^)", "case conversion ${var,,} ${var^^} (bash 4)"),
    (r"\$\{[^}]*[^,],\}|\$\{[^}]*[^^]\^\}", "case conversion ${var,} ${var^} (bash 4)"),
    (r"\b(mapfile|readarray)\b", "mapfile/readarray (bash 4)"),
    (r"&>>", "&>> (bash 4)"),
    (r"\|&", "|& (bash 4)"),
    (r";;&|;&", "case fall-through ;& ;;& (bash 4)"),
    (r"\bcoproc\b", "coproc (bash 4)"),
    (r"%\([^)]*\)T", "printf %(...)T (bash 4.2)"),
    (r"\$\{[^}]*@[QEPAaKkuUL]\}", "${var@X} transformations (bash 4.4/5)"),
    (r"\$\{[^}]*\[\s*-\d+\s*\]\}", "negative array index (bash 4.3)"),
    (r"\[\[\s+-v\b", "[[ -v (bash 4.2)"),
    (r"\$\{[A-Za-z_][A-Za-z0-9_]*:(\s+-\d|\(-)", "negative substring offset (bash 4.2)"),
    (r"\bcompopt\b", "compopt (bash 4)"),
    (r"\$BASHPID|\$\{BASHPID", "BASHPID (bash 4)"),
    (r"\bwait\s+-n\b", "wait -n (bash 4.3)"),
    (r"\bread\b[^\n]*\s-[a-zA-Z]*i\b", "read -i (bash 4)"),
    (r"\bshopt\s+-s\s+(globstar|autocd|lastpipe|checkjobs|direxpand)", "bash 4 shopt"),
]
GUARD = re.compile(r"#\s*bash>=(\d+)\.(\d+)")


def _strip_comment(line: str) -> str:
    # Drop a trailing comment (a # at a word start, outside quotes).
    out, quote = [], ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t;"):
            break
        out.append(ch)
    return "".join(out)


def bash4_violations(text: str) -> list[str]:
    """Lines using bash-4+ syntax without a `# bash>=X.Y` guard marker."""
    bad = []
    for no, line in enumerate(text.splitlines(), 1):
        code = _strip_comment(line)
        if not code.strip():
            continue
        for pattern, what in BASH4_SYNTAX:
            if re.search(pattern, code) and not GUARD.search(line):
                bad.append(f"line {no}: {what}: {line.strip()}")
    return bad


@pytest.mark.parametrize("path", BASH_FILES, ids=lambda p: p.name)
def test_bash_plugin_has_no_unguarded_bash4_syntax(path: Path) -> None:
    assert bash4_violations(path.read_text()) == []


def test_guarded_lines_sit_behind_a_version_check() -> None:
    lines = BASH_FILES[0].read_text().splitlines()
    guarded = [i for i, ln in enumerate(lines) if GUARD.search(ln)]
    assert guarded, "expected some guarded bash>=X.Y lines (printf %(...)T, ${var@a})"
    for i in guarded:
        window = "\n".join(lines[max(0, i - 8) : i + 1])
        assert re.search(r"BASH_VERSINFO|__sv_printf_time", window), lines[i]
        # and inside eval (bash 3.2 must not even parse it) unless it is a
        # runtime-only construct (printf's format is only read when it runs)
        if "@" in _strip_comment(lines[i]):
            assert "eval '" in lines[i], lines[i]


def test_the_bash4_check_can_fail() -> None:
    samples = [
        "declare -A m",
        "x=${y,,}",
        "mapfile -t a <f",
        "cmd &>> log",
        "a |& b",
        "printf -v n '%(%s)T' -1",
        'echo "${v@Q}"',
        "echo ${a[-1]}",
        "[[ -v x ]]",
        "coproc cat",
        "case x in a) ;& esac",
        "compopt -o nospace",
        "echo ${s: -2}",
    ]
    for sample in samples:
        assert bash4_violations(sample), sample
    assert bash4_violations("printf -v n '%(%s)T' -1 # bash>=4.2 (guarded)") == []
    assert bash4_violations("x=${y:-0} z=${w:-1}") == []


# ------------------------------------------------------------------ contract
def _plugin_vars(shell: str) -> list[str]:
    text = PLUGINS[shell].read_text()
    if shell == "bash":
        m = re.search(r"__sv_vars=\(([^)]*)\)", text)
    elif shell == "zsh":
        m = re.search(r"set -A __sv_vars ((?:[^\n]*\\\n)*[^\n]*)", text)
    else:
        m = re.search(r"set -g __sv_vars ((?:[^\n]*\\\n)*[^\n]*)", text)
    assert m, shell
    return m.group(1).replace("\\", " ").split()


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_plugins_track_the_whole_environment_contract(shell: str) -> None:
    from shellvault.envvars import CONTRACT_VARS, STALE_VARS

    assert sorted(_plugin_vars(shell)) == sorted(CONTRACT_VARS + STALE_VARS)


# ------------------------------------------------------------------ shells.py
def test_shell_dir_holds_the_plugins() -> None:
    d = shells.shell_dir()
    assert d == SHELL_DIR
    for shell in shells.SHELLS:
        assert shells.plugin_path(shell).is_file()


def test_init_script_is_the_plugin_text() -> None:
    assert shells.init_script("bash").startswith(PLUGINS["bash"].read_text())
    assert (SHELL_DIR / "bash" / "shellvault-completion.bash").read_text() in shells.init_script(
        "bash")
    assert shells.init_script("zsh").startswith(PLUGINS["zsh"].read_text())
    assert shells.init_script("fish").startswith(PLUGINS["fish"].read_text())
    direnv = SHELL_DIR / "direnv" / "shellvault.sh"
    if direnv.exists():
        assert shells.init_script("direnv") == direnv.read_text()


@pytest.mark.parametrize("bad", ["tcsh", "powershell", "", "../bash"])
def test_init_script_unknown_shell(bad: str) -> None:
    with pytest.raises(ValueError) as exc:
        shells.init_script(bad)
    message = str(exc.value)
    assert "\n" not in message and "unknown shell" in message


def test_detect_shell_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELLVAULT_SHELL", "/usr/local/bin/fish")
    assert shells.detect_shell() == "fish"
    monkeypatch.delenv("SHELLVAULT_SHELL")
    # Next the parent process (/proc/PPID/comm), when it is a shell...
    monkeypatch.setattr(shells, "_parent_shell", lambda: "fish")
    assert shells.detect_shell() == "fish"
    # ...then shellingham, then $SHELL.
    monkeypatch.setattr(shells, "_parent_shell", lambda: None)
    import shellingham

    monkeypatch.setattr(shellingham, "detect_shell", lambda: ("zsh", "/bin/zsh"))
    assert shells.detect_shell() == "zsh"

    def fail() -> tuple[str, str]:
        raise shellingham.ShellDetectionFailure()

    monkeypatch.setattr(shellingham, "detect_shell", fail)
    monkeypatch.setenv("SHELL", "/bin/bash")
    assert shells.detect_shell() == "bash"
    monkeypatch.delenv("SHELL")
    assert shells.detect_shell() is None
    monkeypatch.setenv("SHELLVAULT_SHELL", "-zsh")
    assert shells.detect_shell() == "zsh"


def test_shells_module_imports_cheaply() -> None:
    import sys

    code = (
        "import shellvault.shells, sys; print('shellingham' in sys.modules, 'click' in sys.modules)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.split() == ["False", "False"]


def test_shellvault_init_prints_the_plugin(sv_home) -> None:  # type: ignore[no-untyped-def]
    for shell in shells.SHELLS:
        r = sv_home.run("init", shell, check=True)
        assert r.stdout == shells.init_script(shell)
    r = sv_home.run("init", "tcsh")
    assert r.returncode == 2 and r.stdout == ""
