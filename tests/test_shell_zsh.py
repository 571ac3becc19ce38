"""The zsh plugin (shell/zsh/shellvault.plugin.zsh + _shellvault) in a real zsh."""

from __future__ import annotations

import re
import shlex
import time
from pathlib import Path

from tests.shellharness import (
    PLUGINS,
    SHELL_DIR,
    TTL_RE,
    SharedShellTests,
    ShellSession,
    StubShellvault,
    sh_eval_env,
    sh_export,
)


class TestZsh(SharedShellTests):
    SHELL = "zsh"

    def hook_count(self, sh: ShellSession) -> int:
        out = sh.run(
            "__a=(${(M)precmd_functions:#_shellvault_precmd}); "
            "__b=(${(M)chpwd_functions:#_shellvault_chpwd}); "
            'print -r -- "N:${#__a}:${#__b}"'
        ).output
        m = re.search(r"N:(\d+):(\d+)", out)
        assert m, out
        assert m.group(1) == m.group(2)
        return int(m.group(1))

    def test_other_precmd_hooks_and_pipestatus(self, home: Path, stub: StubShellvault) -> None:
        before = (
            "autoload -Uz add-zsh-hook\n"
            'early() { __early="$? ${pipestatus[*]}" }\nadd-zsh-hook precmd early\n'
        )
        after = 'late() { __late="$? ${pipestatus[*]}" }\nadd-zsh-hook precmd late\n'
        with self.session(home, stub, before=before, after=after) as sh:
            sh.run_raw("false | sh -c 'exit 5' | true")
            r = sh.run('print -r -- "E:$__early L:$__late"')
            assert "E:0 1 5 0 L:0 1 5 0" in r.output, r.output
            # the prompt itself still sees $? and $pipestatus
            sh.run(
                "PROMPT='SVPROMPT<$((__svn+=1))>"
                "[${SHELLVAULT_PROMPT_SEGMENT-}|${pipestatus[*]}]{%?}> '"
            )
            sh.run_raw("false | sh -c 'exit 5'")
            assert sh.last_status == 5
            assert sh.segment == "|1 5"
            self.load(sh)
            assert re.fullmatch(rf"aws:account-a {TTL_RE}\|0", sh.segment)

    def test_user_options_do_not_matter(self, home: Path, stub: StubShellvault) -> None:
        proj = home / "proj"
        proj.mkdir()
        opts = "setopt nounset ksh_arrays sh_word_split warn_create_global no_function_argzero"
        with self.session(home, stub, before=opts) as sh:
            self.load(sh)
            sh.run(sh_export("zsh", "SHELLVAULT_EXPIRES", int(time.time()) + 100))
            assert re.fullmatch(rf"aws:account-a {TTL_RE}", sh.segment)
            r = sh.run(f"cd {shlex.quote(str(proj))} && with-role account-b && cd .. && with-role")
            assert r.status == 0, r
            r = sh.run("with-role account-b sh -c 'echo ok:$SHELLVAULT_PROFILE'")
            assert "ok:account-b" in r.output
            assert sh.complete("with-role cen") == ["with-role", "central"]
            text = r.output + r.after + sh.run("with-role").output
            assert "parameter not set" not in text and "created globally" not in text

    def test_compinit_after_the_plugin(self, home: Path, stub: StubShellvault) -> None:
        with self.session(home, stub, compinit="after") as sh:
            assert sh.complete("shellvault exp") == ["shellvault", "export"]
            assert sh.complete("with-role cen") == ["with-role", "central"]

    def test_plugin_manager_style_fpath_then_compinit(
        self, home: Path, stub: StubShellvault
    ) -> None:
        # oh-my-zsh / antidote / zinit: the plugin directory goes on fpath and
        # the *.plugin.zsh is sourced before compinit, which finds #compdef.
        before = f"fpath=({shlex.quote(str(SHELL_DIR / 'zsh'))} $fpath)"
        with self.session(home, stub, compinit="after", before=before) as sh:
            assert sh.complete("shellvault init ba") == ["shellvault", "init", "bash"]
            assert sh.complete("with-role --save acc") == ["with-role", "--save", "account-"]

    def test_many_names_keep_the_users_matchers(self, home: Path, stub: StubShellvault) -> None:
        """Past 1,000 names compadd gets only those starting with the word, unless the
        user's own matching could find others: a case-insensitive matcher-list still
        completes `centr` to `Central`."""
        with (home / ".aws" / "config").open("w") as config:
            config.write("".join(f"[profile team{i:05d}]\n" for i in range(1500)))
            config.write("[profile Central]\n[profile my prof]\n")
        with self.session(home, stub) as sh:
            assert sh.complete("shellvault env centr") == ["shellvault", "env", "centr"]
            assert sh.complete("shellvault env my") == ["shellvault", "env", "my prof"]
            assert sh.complete("with-role team01499") == ["with-role", "team01499"]
        after = "zstyle ':completion:*' matcher-list 'm:{a-z}={A-Z}'"
        with self.session(home, stub, after=after) as sh:
            assert sh.complete("shellvault env centr") == ["shellvault", "env", "Central"]

    def test_completion_file_alone(self, home: Path, stub: StubShellvault) -> None:
        # _shellvault in $fpath without the plugin: commands and profiles
        before = f"fpath=({shlex.quote(str(SHELL_DIR / 'zsh'))} $fpath)"
        with self.session(home, stub, compinit="after", before=before, source_plugin=False) as sh:
            assert sh.complete("shellvault env cen") == ["shellvault", "env", "central"]

    def test_prompt_auto_rprompt(self, home: Path, stub: StubShellvault) -> None:
        after = "SHELLVAULT_PROMPT_AUTO=1\nSHELLVAULT_PROMPT_COLOR=\nRPROMPT='[%n]'"
        with self.session(home, stub, after=after) as sh:
            self.load(sh)
            out = sh.run('print -rP -- "R:$RPROMPT"').output
            assert re.search(rf"R:aws:account-a {TTL_RE} \[\w+\]", out), out
            # without prompt_subst the segment is rendered into RPROMPT itself,
            # around what the user (or a theme) put there, at every precmd
            out = sh.run(
                "( unsetopt prompt_subst; RPROMPT='<%n>'; _shellvault_precmd; _shellvault_precmd; "
                'print -rP -- "R:$RPROMPT"; unset SHELLVAULT_PROFILE; _shellvault_precmd; '
                'print -rP -- "U:$RPROMPT" )'
            ).output
            assert re.search(rf"R:aws:account-a {TTL_RE} <\w+>", out), out
            assert re.search(r"U:<\w+>", out), out

    def test_prompt_segment_escapes_percent(self, sh: ShellSession) -> None:
        self.load(sh)
        sh.run(sh_export("zsh", "SHELLVAULT_PROFILE", "100%done"))
        assert sh.segment.startswith("aws:100%done ")

    def test_shellvault_prompt_function(self, sh: ShellSession) -> None:
        self.load(sh)
        out = sh.run("shellvault_prompt --plain; echo").output
        assert re.search(rf"^aws:account-a {TTL_RE}$", out, re.M), out

    def test_with_role_cd_in_command_does_not_switch_scope(
        self, sh: ShellSession, home: Path, stub: StubShellvault
    ) -> None:
        proj = home / "proj"
        proj.mkdir()
        saved = home / ".config" / "shellvault" / "directories"
        saved.parent.mkdir(parents=True)
        saved.write_text(f"{proj}\taccount-a\n")
        r = sh.run(
            f"with-role account-b sh -c true && "
            f"with-role account-b eval 'cd {proj}; echo p:$SHELLVAULT_PROFILE'"
        )
        assert "p:account-b" in r.output
        assert sh.get("SHELLVAULT_PROFILE") is None

    def test_plugin_file_is_the_init_script(self) -> None:
        from shellvault.shells import init_script

        text = init_script("zsh")
        assert text.startswith(PLUGINS["zsh"].read_text())
        assert "\n_shellvault() {\n#compdef shellvault with-role\n" in text

    def test_init_loads_with_eval(self, home: Path, stub: StubShellvault) -> None:
        with self.session(home, stub, load="init", compinit="after") as sh:
            sh.run_raw(sh_eval_env("zsh", "account-a"))
            assert re.fullmatch(rf"aws:account-a {TTL_RE}", sh.segment)
            assert sh.complete("shellvault auth acc") == ["shellvault", "auth", "account-"]
