"""The bash plugin (shell/bash/shellvault.bash) in a real interactive bash."""

from __future__ import annotations

import re
import shlex
import time
from pathlib import Path

import pytest

from tests.shellharness import (
    PLUGINS,
    TTL_RE,
    SharedShellTests,
    ShellSession,
    StubShellvault,
    sh_eval_env,
    sh_export,
)

BASH_PLUGIN = PLUGINS["bash"]


def _bash_version(sh: ShellSession) -> tuple[int, int]:
    out = sh.run('echo "V:${BASH_VERSINFO[0]}.${BASH_VERSINFO[1]}"').output
    m = re.search(r"V:(\d+)\.(\d+)", out)
    assert m, out
    return int(m.group(1)), int(m.group(2))


class TestBash(SharedShellTests):
    SHELL = "bash"

    def hook_count(self, sh: ShellSession) -> int:
        out = sh.run(
            'printf "%s\\n" "${PROMPT_COMMAND[@]}" "${precmd_functions[@]}" '
            "| grep -c _shellvault_hook"
        ).output
        return int(out.strip().splitlines()[-1])

    # ---------------------------------------------------------------- PROMPT_COMMAND
    def test_other_prompt_commands_keep_running_with_their_status(
        self, home: Path, stub: StubShellvault
    ) -> None:
        before = (
            'early() { local s=$? p="${PIPESTATUS[*]}"; __early="$s $p"; return $s; }\n'
            "PROMPT_COMMAND='early'\n"
        )
        after = 'late() { __late=$?; }\nPROMPT_COMMAND="$PROMPT_COMMAND;late"\n'
        with self.session(home, stub, before=before, after=after) as sh:
            sh.run_raw("false | sh -c 'exit 5' | true")
            assert sh.last_status == 0
            r = sh.run('echo "E:$__early L:$__late"')
            # `early` ran before our hook and saw the pipeline; `late` (added
            # after the plugin, behind it) saw the true $?.
            assert "E:0 1 5 0" in r.output, r.output
            sh.run_raw("sh -c 'exit 6'")
            assert sh.last_status == 6
            r = sh.run('echo "E:$__early L:$__late"')
            assert "E:6 6 L:6" in r.output
            assert sh.run('echo "$PROMPT_COMMAND"').output.count("_shellvault_hook") == 1
            self.load(sh)
            assert re.fullmatch(rf"aws:account-a {TTL_RE}", sh.segment)

    def test_prompt_command_array(self, home: Path, stub: StubShellvault) -> None:
        before = (
            "a1() { __a1=$((${__a1:-0}+1)); }\na2() { __a2=$((${__a2:-0}+1)); }\n"
            "PROMPT_COMMAND=(a1 a2)\n"
        )
        with self.session(home, stub, before=before) as sh:
            if _bash_version(sh) < (5, 1):
                pytest.skip("PROMPT_COMMAND arrays need bash 5.1")
            out = sh.run("declare -p PROMPT_COMMAND").output
            assert 'declare -a PROMPT_COMMAND=([0]="a1" [1]="a2" [2]="_shellvault_hook")' in out, (
                out
            )
            sh.enter()
            sh.enter()
            out = sh.run('echo "C:$__a1:$__a2"').output
            assert re.search(r"C:(\d+):\1", out), out
            self.load(sh)
            assert re.fullmatch(rf"aws:account-a {TTL_RE}", sh.segment)
            # sourcing again adds nothing
            sh.run(f"source {shlex.quote(str(BASH_PLUGIN))}")
            assert self.hook_count(sh) == 1

    def test_bash_preexec_style_precmd_functions(self, home: Path, stub: StubShellvault) -> None:
        # What bash-preexec offers (precmd_functions run from one PROMPT_COMMAND
        # entry); the plugin joins that list instead of PROMPT_COMMAND.
        before = (
            "bash_preexec_imported=defined\nprecmd_functions=()\n"
            '__bp_run() { local s=$? f; for f in "${precmd_functions[@]}"; '
            'do (exit $s); "$f"; done; }\n'
            "PROMPT_COMMAND=__bp_run\n"
        )
        with self.session(home, stub, before=before) as sh:
            out = sh.run('echo "PC:$PROMPT_COMMAND F:${precmd_functions[*]}"').output
            assert "PC:__bp_run F:_shellvault_hook" in out, out
            self.load(sh)
            assert re.fullmatch(rf"aws:account-a {TTL_RE}", sh.segment)

    # ---------------------------------------------------------------- set -u
    def test_works_under_set_u(self, home: Path, stub: StubShellvault) -> None:
        proj = home / "proj"
        proj.mkdir()
        with self.session(home, stub, before="set -u") as sh:
            self.load(sh)
            sh.run(sh_export(self.SHELL, "SHELLVAULT_EXPIRES", int(time.time()) + 100))
            r = sh.run(f"cd {shlex.quote(str(proj))} && with-role account-b && cd .. && with-role")
            assert r.status == 0, r
            r = sh.run("with-role account-b sh -c 'echo ok:$SHELLVAULT_PROFILE'")
            assert "ok:account-b" in r.output
            assert sh.complete("with-role cen") == ["with-role", "central"]
            assert sh.complete("shellvault env --sh") == ["shellvault", "env", "--shell"]
            sh.run("unset SHELLVAULT_PROFILE SHELLVAULT_EXPIRES")
            sh.enter()
            text = sh.run("echo done").output + sh.run("with-role").output
            assert "unbound variable" not in text

    def test_sourced_under_set_u_before_anything_else(
        self, home: Path, stub: StubShellvault
    ) -> None:
        with self.session(home, stub, before="set -u\nunset PROMPT_COMMAND") as sh:
            out, _ = sh.run_raw("")
            assert "unbound" not in out
            assert self.hook_count(sh) == 1

    # ---------------------------------------------------------------- completion
    def test_completion_with_bash_completion_loaded(self, home: Path, stub: StubShellvault) -> None:
        bc = Path("/usr/share/bash-completion/bash_completion")
        if not bc.exists():
            from tests.conftest import require_program

            require_program("bash-completion-is-missing")  # fails in CI, skips locally
        apt = Path("/usr/share/bash-completion/completions/apt-get")
        with self.session(home, stub, before=f"source {bc}") as sh:
            assert sh.complete("with-role cen") == ["with-role", "central"]
            assert sh.complete("with-role central whoam") == ["with-role", "central", "whoami"]
            if apt.exists():
                # the command's own completion, loaded by bash-completion
                assert sh.complete("with-role central apt-get instal") == [
                    "with-role",
                    "central",
                    "apt-get",
                    "install",
                ]
            assert sh.complete("shellvault exec account-a -- whoam") == [
                "shellvault",
                "exec",
                "account-a",
                "--",
                "whoami",
            ]
            assert sh.complete("shellvault env acc") == ["shellvault", "env", "account-"]

    def test_completion_without_bash_completion_falls_back_to_files(
        self, sh: ShellSession, home: Path
    ) -> None:
        (home / "somefile-xyz.txt").write_text("")
        assert sh.complete("with-role central cat somefile-x") == [
            "with-role",
            "central",
            "cat",
            "somefile-xyz.txt",
        ]

    # ---------------------------------------------------------------- auto placement
    def test_prompt_auto_prepends_to_ps1(self, home: Path, stub: StubShellvault) -> None:
        after = (
            "SHELLVAULT_PROMPT_AUTO=1\nSHELLVAULT_PROMPT_COLOR=\n"
            "PS1='SVPROMPT<$((__svn+=1))>[]{$?}> '"
        )
        with self.session(home, stub, after=after) as sh:
            out, _ = sh.run_raw(sh_eval_env("bash", "account-a"))
            assert re.search(rf"aws:account-a {TTL_RE} SVPROMPT<", out + "SVPROMPT<"), out
            assert sh.run('echo "$PS1"').output.count("SHELLVAULT_PROMPT_SEGMENT") == 2
            out, _ = sh.run_raw("unset SHELLVAULT_PROFILE")
            assert out.endswith("\n") or "aws:" not in out.splitlines()[-1]

    def test_shellvault_prompt_function(self, sh: ShellSession) -> None:
        self.load(sh)
        out = sh.run("shellvault_prompt --plain; echo").output
        assert re.search(rf"^aws:account-a {TTL_RE}$", out, re.M), out
        out = sh.run("shellvault_prompt --ansi | od -c | head -2").output
        assert "033   [   3   2   m" in out


def test_sourcing_in_posix_mode_and_other_shells_is_harmless() -> None:
    import subprocess

    from tests.conftest import require_program

    bash = require_program("bash")
    r = subprocess.run(
        [bash, "--posix", "-c", f'source "{BASH_PLUGIN}"; echo "ok:$PROMPT_COMMAND"'],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert r.returncode == 0 and "ok:_shellvault_hook" in r.stdout, r.stderr
    sh = require_program("sh")
    r = subprocess.run(
        [sh, "-c", f'. "{BASH_PLUGIN}"; echo "ok:${{PROMPT_COMMAND-unset}}"'],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert r.returncode == 0 and "ok:unset" in r.stdout, r.stdout + r.stderr
