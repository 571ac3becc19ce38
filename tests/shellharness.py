"""Drive real bash, zsh and fish through a pseudo-terminal (pexpect).

``ShellSession`` (testkit/shellsession.py, shared with the benchmarks) starts a
shell with a clean rc file, the shellvault plugin sourced and a known prompt.

``StubShellvault`` is a stand-in ``shellvault`` executable for the tests that
are about the shell side (prompt, with-role, scopes, refresh policy): it
prints the environment contract for each shell, logs every call, and its
behaviour (exit code, TTL, "MFA needed") is switched through files, so a test
can change it while a shell is running. End-to-end tests use the real CLI.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import textwrap
import time
from pathlib import Path

from testkit.shellsession import (  # noqa: F401  (re-exported for the shell tests)
    COMPINIT,
    FISH_COMPLETIONS,
    PLUGINS,
    PROMPT_RE,
    REPO,
    SHELL_DIR,
    Result,
    ShellSession,
    init_command,
    strip_ansi,
)

_STUB = """#!{python}
import sys
sys.path.insert(0, {repo!r})
from tests.stub_shellvault import main
main()
"""


class StubShellvault:
    """A fake ``shellvault`` on PATH; control files live in ``self.ctl``."""

    def __init__(self, root: Path):
        self.bin = root / "stubbin"
        self.ctl = root / "stubctl"
        self.bin.mkdir(parents=True, exist_ok=True)
        self.ctl.mkdir(parents=True, exist_ok=True)
        exe = self.bin / "shellvault"
        exe.write_text(_STUB.format(python=sys.executable, repo=str(REPO)))
        exe.chmod(0o755)

    def set(self, name: str, value: str | int | None) -> None:
        path = self.ctl / name
        if value is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(str(value))

    def calls(self) -> list[str]:
        path = self.ctl / "calls"
        return path.read_text().splitlines() if path.exists() else []

    def env_calls(self) -> list[str]:
        return [c for c in self.calls() if c.startswith("env")]

    def hook_calls(self) -> list[str]:
        return [c for c in self.calls() if c.startswith("hook")]

    def clear_calls(self) -> None:
        (self.ctl / "calls").unlink(missing_ok=True)


def write_aws_config(home: Path, profiles: list[str], default: bool = False) -> Path:
    cfg = home / ".aws" / "config"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    parts = []
    if default:
        parts.append("[default]\nregion = eu-west-1\n")
    for p in profiles:
        parts.append(f"[profile {p}]\nregion = eu-west-1\n")
    cfg.write_text("\n".join(parts))
    return cfg


def dedent(s: str) -> str:
    return textwrap.dedent(s).strip("\n")


# ------------------------------------------------------------------ shared test cases
# Each tests/test_shell_<shell>.py subclasses SharedShellTests with SHELL set;
# pytest collects the subclass (named Test...), never this base class.

import pytest  # noqa: E402  (only the shared cases below need it)

ANSI_COLOR = re.compile(r"\x1b\[([0-9;]*)m")
TTL_RE = r"(1h00m|59m)"


def sh_eval_env(shell: str, profile: str, extra: str = "") -> str:
    """The command line a user types to load PROFILE into SHELL."""
    if shell == "fish":
        return f"shellvault env --shell fish {extra}{profile} | source"
    return f'eval "$(shellvault env --shell {shell} {extra}{profile})"'


def sh_export(shell: str, name: str, value: str | int) -> str:
    if shell == "fish":
        return f"set -gx {name} {shlex.quote(str(value))}"
    return f"export {name}={shlex.quote(str(value))}"


def sh_unset(shell: str, name: str) -> str:
    return f"set -e {name}" if shell == "fish" else f"unset {name}"


class SharedShellTests:
    """Behaviour every plugin must have, driven in a real SHELL."""

    SHELL = ""

    # ---------------------------------------------------------------- fixtures
    @pytest.fixture
    def home(self, tmp_path: Path) -> Path:
        from tests.conftest import require_program

        require_program(self.SHELL)
        h = tmp_path / "home"
        h.mkdir()
        write_aws_config(h, ["central", "account-a", "account-b"], default=True)
        return h

    @pytest.fixture
    def stub(self, home: Path) -> StubShellvault:
        return StubShellvault(home.parent)

    def session(self, home: Path, stub: StubShellvault, **kw) -> ShellSession:
        env = {
            "PATH": f"{stub.bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "SV_STUB_DIR": str(stub.ctl),
            "SHELLVAULT_STATE_DIR": str(home / ".local" / "state" / "shellvault"),
        }
        env.update(kw.pop("env", {}))
        return ShellSession(self.SHELL, home, env=env, **kw)

    @pytest.fixture
    def sh(self, home: Path, stub: StubShellvault):
        s = self.session(home, stub).start()
        yield s
        s.close()

    # ---------------------------------------------------------------- helpers
    def load(self, sh: ShellSession, profile: str = "account-a") -> Result:
        r = sh.run(sh_eval_env(self.SHELL, profile))
        assert sh.get("SHELLVAULT_PROFILE") == profile, r
        return r

    # ---------------------------------------------------------------- prompt
    def test_prompt_segment_before_and_after_eval(self, sh: ShellSession) -> None:
        assert sh.segment == ""
        sh.run(sh_eval_env(self.SHELL, "account-a"))
        assert re.fullmatch(rf"aws:account-a {TTL_RE}", sh.segment), sh.last_prompt
        assert ANSI_COLOR.findall(sh.last_prompt)[0] == "32"
        sh.run(sh_eval_env(self.SHELL, "account-b"))
        assert re.fullmatch(rf"aws:account-b {TTL_RE}", sh.segment)
        sh.run(sh_unset(self.SHELL, "SHELLVAULT_PROFILE"))
        assert sh.segment == ""

    def test_prompt_format_and_colours_configurable(self, sh: ShellSession) -> None:
        self.load(sh)
        sh.run(
            sh_export(
                self.SHELL, "SHELLVAULT_PROMPT_FORMAT", "[{account}|{profile}|{region}] {ttl}"
            )
        )
        assert re.fullmatch(rf"\[111111111111\|account-a\|eu-west-1\] {TTL_RE}", sh.segment)
        sh.run(sh_export(self.SHELL, "SHELLVAULT_PROMPT_COLOR", "1;35"))
        assert ANSI_COLOR.findall(sh.last_prompt)[0] == "1;35"
        sh.run(sh_export(self.SHELL, "SHELLVAULT_PROMPT_COLOR", ""))
        assert "\x1b" not in sh.last_prompt
        # a profile name with prompt-special characters is shown as it is
        sh.run(sh_export(self.SHELL, "SHELLVAULT_PROFILE", "we%ird&\\$(x)"))
        assert sh.segment.startswith("[111111111111|we%ird&\\$(x)|"), sh.segment

    def test_prompt_never_sends_control_characters_to_the_terminal(self, sh: ShellSession) -> None:
        """ESC/OSC bytes in a profile name are shown as '?' (issue 10, item 17)."""
        self.load(sh)
        name = "printf 'ev\\033]0;pwned\\007il\\033[2J'"
        if self.SHELL == "fish":
            sh.run(f"set -gx SHELLVAULT_PROFILE ({name})")
        else:
            sh.run(f'export SHELLVAULT_PROFILE="$({name})"')
        raw = sh.last_prompt
        assert "\x07" not in raw and "\x1b]" not in raw and "\x1b[2J" not in raw, raw
        assert sh.segment.startswith("aws:ev?]0;pwned?il?[2J "), raw

    def test_prompt_near_expiry_and_expired_states(
        self, sh: ShellSession, stub: StubShellvault
    ) -> None:
        self.load(sh)
        sh.run(sh_export(self.SHELL, "SHELLVAULT_REFRESH_WITHIN", 0))  # no refresh: only the look
        sh.run(sh_export(self.SHELL, "SHELLVAULT_PROMPT_WARN", 600))
        sh.run(sh_export(self.SHELL, "SHELLVAULT_EXPIRES", int(time.time()) + 150))
        assert re.fullmatch(r"aws:account-a (2m|1m)", sh.segment), sh.segment
        assert ANSI_COLOR.findall(sh.last_prompt)[0] == "33"
        sh.run(sh_export(self.SHELL, "SHELLVAULT_EXPIRES", int(time.time()) + 30))
        assert re.fullmatch(r"aws:account-a \d+s", sh.segment), sh.segment
        sh.run(sh_export(self.SHELL, "SHELLVAULT_EXPIRES", int(time.time()) - 5))
        assert sh.segment == "aws:account-a expired"
        assert ANSI_COLOR.findall(sh.last_prompt)[0] == "31"
        sh.run(sh_export(self.SHELL, "SHELLVAULT_PROMPT_EXPIRED_TEXT", "EXPIRED!"))
        assert sh.segment == "aws:account-a EXPIRED!"
        assert len(stub.env_calls()) == 1  # never refreshed: the window is 0

    def test_prompt_counts_down_as_time_passes(self, sh: ShellSession) -> None:
        # nothing but the clock changes between these prompts
        self.load(sh)
        sh.run(sh_export(self.SHELL, "SHELLVAULT_REFRESH_WITHIN", 0))
        sh.run(sh_export(self.SHELL, "SHELLVAULT_PROMPT_WARN", 30))
        sh.run(sh_export(self.SHELL, "SHELLVAULT_EXPIRES", int(time.time()) + 61))
        assert sh.segment == "aws:account-a 1m"
        assert ANSI_COLOR.findall(sh.last_prompt)[0] == "32"
        time.sleep(2.2)
        assert re.fullmatch(r"aws:account-a 5\ds", sh.enter()), sh.segment
        sh.run(sh_export(self.SHELL, "SHELLVAULT_EXPIRES", int(time.time()) + 32))
        assert ANSI_COLOR.findall(sh.last_prompt)[0] == "32"
        time.sleep(3.2)
        sh.enter()
        assert ANSI_COLOR.findall(sh.last_prompt)[0] == "33"  # warn from 30 s on
        sh.run(sh_export(self.SHELL, "SHELLVAULT_EXPIRES", int(time.time()) + 2))
        time.sleep(3.2)
        assert sh.enter() == "aws:account-a expired"
        assert ANSI_COLOR.findall(sh.last_prompt)[0] == "31"

    def test_exit_status_survives_the_hook(self, sh: ShellSession) -> None:
        self.load(sh)
        sh.run_raw("sh -c 'exit 7'")
        assert sh.last_status == 7
        sh.run_raw("true")
        assert sh.last_status == 0
        sh.run(sh_export(self.SHELL, "SHELLVAULT_EXPIRES", int(time.time()) + 100))  # refresh path
        sh.run_raw("sh -c 'exit 9'")
        assert sh.last_status == 9

    # ---------------------------------------------------------------- refresh
    def test_auto_refresh_near_expiry(self, sh: ShellSession, stub: StubShellvault) -> None:
        self.load(sh)
        key = sh.get("AWS_ACCESS_KEY_ID")
        stub.clear_calls()
        r = sh.run(sh_export(self.SHELL, "SHELLVAULT_EXPIRES", int(time.time()) + 100))
        calls = stub.env_calls()
        assert calls == [f"env --shell {self.SHELL} --no-input --min-ttl 600 account-a"], calls
        assert re.fullmatch(rf"aws:account-a {TTL_RE}", sh.segment)
        assert r.after == ""  # nothing printed: it just worked
        assert sh.get("AWS_ACCESS_KEY_ID") not in (None, key)
        for _ in range(3):
            sh.enter()
        assert len(stub.env_calls()) == 1

    def test_refresh_window_is_configurable(self, sh: ShellSession, stub: StubShellvault) -> None:
        sh.run(sh_export(self.SHELL, "SHELLVAULT_REFRESH_WITHIN", 30))
        self.load(sh)
        stub.clear_calls()
        sh.run(sh_export(self.SHELL, "SHELLVAULT_EXPIRES", int(time.time()) + 100))
        assert stub.env_calls() == []  # 100 s left > 30 s window
        sh.run(sh_export(self.SHELL, "SHELLVAULT_EXPIRES", int(time.time()) + 20))
        assert stub.env_calls() == [f"env --shell {self.SHELL} --no-input --min-ttl 60 account-a"]

    def test_refresh_failure_hint_once_then_login_recovers(
        self, sh: ShellSession, stub: StubShellvault
    ) -> None:
        self.load(sh)
        stub.set("need_mfa", 1)
        stub.clear_calls()
        r = sh.run(sh_export(self.SHELL, "SHELLVAULT_EXPIRES", int(time.time()) + 100))
        assert stub.env_calls() == [f"env --shell {self.SHELL} --no-input --min-ttl 600 account-a"]
        assert re.search(
            r"shellvault: account-a expires in 1m; run 'shellvault auth account-a'", r.after
        ), r.after
        assert len(r.after.strip().splitlines()) == 1
        assert re.fullmatch(r"aws:account-a 1m", sh.segment)
        assert ANSI_COLOR.findall(sh.last_prompt)[0] == "33"
        # the failure is remembered: no Python, no hint at the next prompts
        for _ in range(3):
            out, _seg = sh.run_raw("")
            assert "shellvault:" not in out
        assert len(stub.env_calls()) == 1
        # once expired: one more try, one more hint
        r = sh.run(sh_export(self.SHELL, "SHELLVAULT_EXPIRES", int(time.time()) - 1))
        assert "account-a credentials expired; run 'shellvault auth account-a'" in r.after
        assert sh.segment == "aws:account-a expired"
        sh.enter()
        assert len(stub.env_calls()) == 2
        # `shellvault auth` (here or in any shell) rewrites the stamp: the next
        # prompt picks the new session up without asking anything
        r = sh.run("shellvault auth account-a")
        assert len(stub.env_calls()) == 3
        assert re.fullmatch(rf"aws:account-a {TTL_RE}", sh.segment), sh.segment
        assert r.after == ""

    def test_the_prompts_question_is_quiet(self, home: Path, stub: StubShellvault) -> None:
        """What `shellvault hook` writes on stderr at a prompt never reaches the terminal
        (its answer carries the one hint); with-role's own questions may speak."""
        noisy = home / "noisy-shellvault"
        noisy.write_text(f"#!/bin/sh\necho NOISE >&2\nexec {stub.bin / 'shellvault'} \"$@\"\n")
        noisy.chmod(0o755)
        with self.session(home, stub, env={"SHELLVAULT_BIN": str(noisy)}) as sh:
            r = sh.run(sh_export(self.SHELL, "SHELLVAULT_EXPIRES", int(time.time()) + 3000))
            assert "NOISE" not in r.output + r.after
            assert len(stub.hook_calls()) >= 2 and set(stub.hook_calls()) == {"hook prompt"}
            assert "NOISE" in sh.run("with-role").output

    def test_short_sessions_do_not_refresh_at_every_prompt(
        self, sh: ShellSession, stub: StubShellvault
    ) -> None:
        stub.set("ttl", 900)
        sh.run(sh_export(self.SHELL, "SHELLVAULT_REFRESH_WITHIN", 1000))
        stub.clear_calls()
        self.load(sh)  # 900 s < 1000 s: the prompt after it refreshes once
        assert len(stub.env_calls()) == 2
        for _ in range(4):
            sh.enter()
        assert len(stub.env_calls()) == 2

    def test_direnv_credentials_are_refreshed_not_evaluated(
        self, home: Path, stub: StubShellvault
    ) -> None:
        from tests.conftest import require_program

        direnv = require_program("direnv")
        proj = home / "proj"
        plain = home / "plain"
        proj.mkdir()
        plain.mkdir()
        soon = int(time.time()) + 100
        (proj / ".envrc").write_text(
            f"export SHELLVAULT_PROFILE=account-a SHELLVAULT_EXPIRES={soon}\n"
            "export AWS_ACCESS_KEY_ID=FROMDIRENV\n"
        )
        (plain / ".envrc").write_text("export UNRELATED=1\n")
        hook = (
            f"{direnv} hook {self.SHELL} | source"
            if self.SHELL == "fish"
            else f'eval "$({direnv} hook {self.SHELL})"'
        )
        env = {"DIRENV_LOG_FORMAT": "", "XDG_DATA_HOME": str(home / ".local" / "share")}
        with self.session(home, stub, after=hook, env=env) as sh:
            for d in (proj, plain):
                sh.run(f"{direnv} allow {shlex.quote(str(d))}")
            stub.clear_calls()
            sh.run(f"cd {shlex.quote(str(proj))}")
            sh.enter()
            assert sh.get("AWS_ACCESS_KEY_ID") == "FROMDIRENV"
            # Near expiry, the session is refreshed once (the stamp it rewrites
            # makes direnv reload), but its output is not evaluated: direnv's
            # variables stay direnv's.
            assert stub.env_calls() == [
                f"env --shell {self.SHELL} --no-input --min-ttl 600 account-a"
            ]
            assert sh.segment == "aws:account-a 1m"
            for _ in range(3):
                sh.enter()
            assert len(stub.env_calls()) == 1  # not again for the same credentials
            assert sh.get("AWS_ACCESS_KEY_ID") == "FROMDIRENV"
            # An .envrc that has nothing to do with AWS does not stop refreshing
            # what the user loaded by hand.
            sh.run(f"cd {shlex.quote(str(plain))}")
            assert sh.get("AWS_ACCESS_KEY_ID") is None
            sh.run(sh_eval_env(self.SHELL, "account-b"))
            stub.clear_calls()
            sh.run(sh_export(self.SHELL, "SHELLVAULT_EXPIRES", int(time.time()) + 100))
            assert stub.env_calls() == [
                f"env --shell {self.SHELL} --no-input --min-ttl 600 account-b"
            ]

    # ---------------------------------------------------------------- with-role
    def test_with_role_command_leaves_the_shell_unchanged(
        self, sh: ShellSession, stub: StubShellvault
    ) -> None:
        self.load(sh, "account-a")
        sh.run(sh_export(self.SHELL, "AWS_PROFILE", "someprofile"))
        before = sh.environment()
        r = sh.run(
            "with-role account-b sh -c "
            "'echo \"in:$SHELLVAULT_PROFILE:${AWS_PROFILE-none}\"; exit 4'"
        )
        assert r.status == 4
        assert "in:account-b:none" in r.output
        after = sh.environment()
        assert after == before
        assert sh.segment.startswith("aws:account-a")

    def test_with_role_runs_functions_and_aliases(self, sh: ShellSession) -> None:
        if self.SHELL == "fish":
            sh.run('function svfn; echo "fn:$SHELLVAULT_PROFILE:$argv[1]"; return 3; end')
            sh.run("alias svals 'echo \"alias:$SHELLVAULT_PROFILE\"'")
        else:
            sh.run('svfn() { echo "fn:$SHELLVAULT_PROFILE:$1"; return 3; }')
            sh.run("alias svals='echo \"alias:$SHELLVAULT_PROFILE\"'")
        r = sh.run("with-role account-b svfn 'two words'")
        assert "fn:account-b:two words" in r.output
        assert r.status == 3
        r = sh.run("with-role account-a svals")
        assert "alias:account-a" in r.output
        assert sh.get("SHELLVAULT_PROFILE") is None

    def test_with_role_server_and_region_pass_through(
        self, sh: ShellSession, stub: StubShellvault
    ) -> None:
        sh.run("with-role --server --region eu-north-1 account-b sh -c 'exit 0'")
        assert stub.calls()[-1] == "exec --server --region eu-north-1 account-b -- sh -c exit 0"
        r = sh.run("with-role --region eu-north-1 account-b sh -c 'echo in:$SHELLVAULT_PROFILE'")
        assert "in:account-b" in r.output
        assert stub.env_calls()[-1] == f"env --shell {self.SHELL} --region eu-north-1 account-b"
        r = sh.run("with-role --server account-b")
        assert r.status == 2 and "need a COMMAND" in r.output

    def test_with_role_failure_does_not_run_the_command(
        self, sh: ShellSession, home: Path, stub: StubShellvault
    ) -> None:
        marker = home / "ran"
        r = sh.run(f"with-role nosuchprofile touch {shlex.quote(str(marker))}")
        assert r.status == 1
        assert "unknown profile 'nosuchprofile'" in r.output
        assert not marker.exists()
        stub.set("exit", 3)
        r = sh.run(f"with-role account-a touch {shlex.quote(str(marker))}")
        assert r.status == 3
        assert not marker.exists()

    def test_with_role_mfa_prompt_works(self, sh: ShellSession, stub: StubShellvault) -> None:
        stub.set("need_mfa", 1)
        assert sh.child is not None
        sh.child.sendline("with-role account-b sh -c 'echo got:$SHELLVAULT_PROFILE'")
        sh.child.expect("MFA code for account-b: ")
        sh.child.sendline("123456")
        sh.child.expect("got:account-b")
        sh._expect_prompt()
        assert sh.get("SHELLVAULT_PROFILE") is None

    def test_with_role_usage_and_status(self, sh: ShellSession) -> None:
        r = sh.run("with-role")
        assert "no credentials in this shell" in r.output and "scope: none" in r.output
        self.load(sh)
        r = sh.run("with-role")
        assert re.search(r"shellvault: account-a \(111111111111\), (1h00m|59m) left", r.output), (
            r.output
        )
        r = sh.run("with-role --bogus")
        assert r.status == 2 and "usage:" in r.output
        r = sh.run("with-role --off")
        assert r.status == 1

    # ---------------------------------------------------------------- directory scopes
    def test_directory_scope_enter_leave_restore(
        self, sh: ShellSession, home: Path, stub: StubShellvault
    ) -> None:
        proj = home / "proj"
        (proj / "sub").mkdir(parents=True)
        (home / "projother").mkdir()
        sh.run(sh_export(self.SHELL, "AWS_PROFILE", "outside"))
        sh.run(sh_export(self.SHELL, "AWS_REGION", "us-east-2"))
        outside = sh.environment()
        sh.run(f"cd {shlex.quote(str(proj))}")
        stub.clear_calls()
        r = sh.run("with-role account-a")
        assert r.status == 0
        assert stub.env_calls() == [f"env --shell {self.SHELL} account-a"]
        inside = sh.environment()
        assert inside["SHELLVAULT_PROFILE"] == "account-a" and "AWS_PROFILE" not in inside
        assert re.fullmatch(rf"aws:account-a {TTL_RE}", sh.segment)
        sh.run("cd sub")
        assert sh.environment() == inside
        sh.run(f"cd {shlex.quote(str(home / 'projother'))}")  # a prefix, not inside
        assert sh.environment() == outside
        assert sh.segment == ""
        sh.run(f"cd {shlex.quote(str(proj / 'sub'))}")
        assert sh.environment() == inside  # from memory: no new call
        assert len(stub.env_calls()) == 1
        r = sh.run("with-role")
        assert f"scope: {proj} -> account-a (session)" in r.output
        sh.run("with-role --off")
        assert sh.environment() == outside
        sh.run("cd ..")
        sh.run("cd sub")
        assert sh.environment() == outside  # the scope is over
        assert len(stub.env_calls()) == 1

    def test_directory_scope_reentry_gets_fresh_credentials_when_needed(
        self, sh: ShellSession, home: Path, stub: StubShellvault
    ) -> None:
        proj = home / "proj"
        proj.mkdir()
        sh.run(f"cd {shlex.quote(str(proj))}")
        sh.run("with-role account-a")
        sh.run(sh_export(self.SHELL, "SHELLVAULT_REFRESH_WITHIN", 0))
        sh.run(sh_export(self.SHELL, "SHELLVAULT_EXPIRES", int(time.time()) - 1))
        assert sh.segment == "aws:account-a expired"
        sh.run("cd ..")
        assert sh.get("SHELLVAULT_PROFILE") is None
        stub.clear_calls()
        sh.run(f"cd {shlex.quote(str(proj))}")  # remembered ones expired: ask again
        assert stub.env_calls() == [f"env --shell {self.SHELL} --no-input account-a"]
        assert re.fullmatch(rf"aws:account-a {TTL_RE}", sh.segment)

    def test_directory_scope_saved_for_every_shell(self, home: Path, stub: StubShellvault) -> None:
        proj = home / "proj"
        proj.mkdir()
        saved = home / ".config" / "shellvault" / "directories"
        with self.session(home, stub) as sh:
            sh.run(f"cd {shlex.quote(str(proj))}")
            r = sh.run("with-role --save account-b")
            assert r.status == 0
            assert saved.read_text() == f"{proj}\taccount-b\n"
            assert sh.get("SHELLVAULT_PROFILE") == "account-b"
            assert f"scope: {proj} -> account-b (saved)" in sh.run("with-role").output
        with self.session(home, stub) as sh:
            before = sh.environment()
            stub.clear_calls()
            sh.run(f"cd {shlex.quote(str(proj))}")
            assert stub.env_calls() == [f"env --shell {self.SHELL} --no-input account-b"]
            assert sh.get("SHELLVAULT_PROFILE") == "account-b"
            sh.run("cd ..")
            assert sh.environment() == before
            sh.run(f"cd {shlex.quote(str(proj))}")
            r = sh.run("with-role --forget")
            assert r.status == 0
            assert sh.environment() == before
            assert saved.read_text() == ""

    def test_saved_scope_never_prompts_and_fails_closed(
        self, home: Path, stub: StubShellvault
    ) -> None:
        proj = home / "proj"
        proj.mkdir()
        saved = home / ".config" / "shellvault" / "directories"
        saved.parent.mkdir(parents=True)
        saved.write_text(f"# mine\n{proj}/\taccount-b\n")
        stub.set("need_mfa", 1)
        with self.session(home, stub) as sh:
            sh.run(sh_export(self.SHELL, "AWS_ACCESS_KEY_ID", "OUTSIDEKEY"))
            r = sh.run(f"cd {shlex.quote(str(proj))}")
            assert "is scoped to account-b; run 'shellvault auth account-b'" in r.output + r.after
            assert sh.get("AWS_ACCESS_KEY_ID") is None  # not the outside key
            assert sh.segment == "aws:account-b expired"
            sh.enter()
            assert len(stub.env_calls()) == 1
            sh.run("shellvault auth account-b")
            assert sh.get("SHELLVAULT_PROFILE") == "account-b"
            assert re.fullmatch(rf"aws:account-b {TTL_RE}", sh.segment)
            sh.run("cd ..")
            assert sh.get("AWS_ACCESS_KEY_ID") == "OUTSIDEKEY"

    def test_saved_scope_paths_are_literal(self, home: Path, stub: StubShellvault) -> None:
        """`a?c` and `x[y]` in the scopes file name those directories, not patterns
        (issue 10, 12: fish matched them as globs)."""
        for d in ("a?c", "abc", "x[y]", "xy"):
            (home / d).mkdir()
        saved = home / ".config" / "shellvault" / "directories"
        saved.parent.mkdir(parents=True)
        saved.write_text(f"{home / 'a?c'}\taccount-a\n{home / 'x[y]'}\taccount-b\n")
        with self.session(home, stub) as sh:
            for d in ("abc", "xy"):
                sh.run(f"cd {shlex.quote(str(home / d))}")
                assert sh.get("SHELLVAULT_PROFILE") is None, d
            sh.run(f"cd {shlex.quote(str(home / 'a?c'))}")
            assert sh.get("SHELLVAULT_PROFILE") == "account-a"
            assert stub.env_calls() == [f"env --shell {self.SHELL} --no-input account-a"]

    def test_save_refuses_a_directory_with_a_newline(
        self, sh: ShellSession, home: Path, stub: StubShellvault
    ) -> None:
        """A newline in a directory name cannot make `--save` write a scope for another
        path (issue 10, 12)."""
        odd = home / "odd\n" / "etc"
        odd.mkdir(parents=True)
        where = f"printf '%s/odd\\n/etc' {shlex.quote(str(home))}"
        sh.run(f"cd ({where} | string collect)" if self.SHELL == "fish" else f'cd "$({where})"')
        assert sh.run("pwd").output.strip().endswith("/etc")
        r = sh.run("with-role --save account-b")
        assert r.status == 2 and "newline" in r.output
        saved = home / ".config" / "shellvault" / "directories"
        assert not saved.exists() or saved.read_text() == ""
        assert sh.get("SHELLVAULT_PROFILE") is None

    def test_scope_files_inside_projects_are_ignored(
        self, sh: ShellSession, home: Path, stub: StubShellvault
    ) -> None:
        proj = home / "cloned"
        proj.mkdir()
        for name in (".shellvault", "directories", ".aws-profile"):
            (proj / name).write_text(f"{proj}\taccount-b\n")
        sh.run(f"cd {shlex.quote(str(proj))}")
        assert sh.get("SHELLVAULT_PROFILE") is None
        assert stub.env_calls() == []

    # ---------------------------------------------------------------- loading
    def test_sourcing_twice_installs_once(self, home: Path, stub: StubShellvault) -> None:
        plugin = PLUGINS[self.SHELL]
        again = f"source {shlex.quote(str(plugin))}"
        with self.session(home, stub, after=again) as sh:
            self.load(sh)
            stub.clear_calls()
            sh.run(sh_export(self.SHELL, "SHELLVAULT_EXPIRES", int(time.time()) + 100))
            assert len(stub.env_calls()) == 1
            assert self.hook_count(sh) == 1

    def hook_count(self, sh: ShellSession) -> int:
        raise NotImplementedError

    def test_init_script_loads_the_same_plugin(self, home: Path, stub: StubShellvault) -> None:
        with self.session(home, stub, load="init") as sh:
            assert self.hook_count(sh) == 1
            self.load(sh)
            assert re.fullmatch(rf"aws:account-a {TTL_RE}", sh.segment)
            assert sh.complete("shellvault exp") == ["shellvault", "export"]
            assert sh.complete("with-role cen") == ["with-role", "central"]

    # ---------------------------------------------------------------- processes
    def test_no_process_per_prompt_while_credentials_are_valid(
        self, home: Path, stub: StubShellvault
    ) -> None:
        from tests.conftest import require_program

        require_program("strace")
        (home / "a").mkdir()
        (home / "b").mkdir()
        saved = home / ".config" / "shellvault" / "directories"
        saved.parent.mkdir(parents=True)
        saved.write_text(f"{home / 'elsewhere'}\taccount-b\n")
        with self.session(home, stub) as sh:
            self.load(sh)
            sh.enter()  # the first prompt with credentials may take the clock's baseline
            n, trace = sh.count_processes(lambda: [sh.enter() for _ in range(5)])
            assert n == 0, trace
            assert re.fullmatch(rf"aws:account-a {TTL_RE}", sh.segment)
            # changing directories (scope file read, no match) costs no process either
            n, trace = sh.count_processes(
                lambda: [sh.run_raw(f"cd {shlex.quote(str(home / d))}") for d in ("a", "b", "a")]
            )
            assert n == 0, trace
            # the count does see processes when there are some
            n, trace = sh.count_processes(lambda: sh.run_raw("/bin/true; /bin/true"))
            assert n >= 2, trace
            # near expiry the hook does start shellvault (here: once)
            sh.run(sh_export(self.SHELL, "SHELLVAULT_EXPIRES", int(time.time()) + 200))
            assert len(stub.env_calls()) == 2

    # ---------------------------------------------------------------- completion
    def test_complete_commands_and_options(self, sh: ShellSession) -> None:
        assert sh.complete("shellvault exp") == ["shellvault", "export"]
        assert sh.complete("shellvault ex") == ["shellvault", "ex"]  # exec, export
        assert sh.complete("shellvault pro") == ["shellvault", "profiles"]
        assert sh.complete("shellvault env --sh") == ["shellvault", "env", "--shell"]
        assert sh.complete("shellvault env --min") == ["shellvault", "env", "--min-ttl"]
        assert sh.complete("shellvault export --format js")[-1] in ("json", "--format=json")
        assert sh.complete("shellvault remove --fo") == ["shellvault", "remove", "--force"]
        assert sh.complete("shellvault list --js") == ["shellvault", "list", "--json"]
        assert sh.complete("shellvault init fi") == ["shellvault", "init", "fish"]
        assert sh.complete("shellvault --vers") == ["shellvault", "--version"]

    def test_complete_profiles(self, sh: ShellSession, home: Path) -> None:
        cfg = home / ".aws" / "config"
        cfg.write_text(
            cfg.read_text()
            + "\n[sso-session corp]\nsso_region = x\n[profile corp-dev]\n[ profile  spaced ]\n"
        )
        assert sh.complete("shellvault env acc") == ["shellvault", "env", "account-"]
        assert sh.complete("shellvault auth cen") == ["shellvault", "auth", "central"]
        assert sh.complete("shellvault exec --no-input account-b") == [
            "shellvault",
            "exec",
            "--no-input",
            "account-b",
        ]
        assert sh.complete("shellvault rm def") == ["shellvault", "rm", "default"]
        assert sh.complete("shellvault clear cor") == [
            "shellvault",
            "clear",
            "corp-dev",
        ]  # not [sso-session corp]
        # `[ profile  spaced ]` is no profile to config.py (its section name starts with
        # a space), so completion does not offer it either (issue 9: one reading).
        assert sh.complete("with-role spa") == ["with-role", "spa"]
        assert sh.complete("with-role cen") == ["with-role", "central"]
        assert sh.complete("with-role --sa") == ["with-role", "--save"]
        assert sh.complete("with-role --save cen") == ["with-role", "--save", "central"]
        # after the profile: a command, completed as the shell would
        assert sh.complete("with-role central whoam") == ["with-role", "central", "whoami"]
        assert sh.complete("shellvault exec account-a -- whoam") == [
            "shellvault",
            "exec",
            "account-a",
            "--",
            "whoami",
        ]

    def test_complete_profiles_from_aws_config_file(self, home: Path, stub: StubShellvault) -> None:
        other = home / "other-config"
        other.write_text("[profile elsewhere-only]\n")
        with self.session(home, stub, env={"AWS_CONFIG_FILE": str(other)}) as sh:
            assert sh.complete("with-role else") == ["with-role", "elsewhere-only"]
            assert sh.complete("shellvault env cen") == ["shellvault", "env", "cen"]

    def test_complete_profiles_from_odd_headers(self, sh: ShellSession, home: Path) -> None:
        # comments, tabs and spaces, CRLF lines, dots and slashes in names,
        # a commented-out header, another kind of section, and `default`
        # twice ([default] and [profile default]): completed once
        (home / ".aws" / "config").write_bytes(
            b"[default]\nregion = eu-west-1\n"
            b"[profile dev.admin]   # the dev account\n"
            b"\t[ profile \tteam/ops-admin ]\n"
            b"#[profile commented-out]\n"
            b"[sso-session sso.corp]\nsso_region = eu-west-1\n"
            b"[profile default]\n"
            b"[profile crlf-role]\r\nregion = eu-west-1\r\n"
        )
        assert sh.complete("shellvault env dev.") == ["shellvault", "env", "dev.admin"]
        # an indented `[ profile x ]` is no profile to config.py: not offered
        assert sh.complete("with-role team/") == ["with-role", "team/"]
        assert sh.complete("shellvault auth crlf") == ["shellvault", "auth", "crlf-role"]
        assert sh.complete("shellvault rm def") == ["shellvault", "rm", "default"]
        assert sh.complete("shellvault env comm") == ["shellvault", "env", "comm"]
        assert sh.complete("with-role sso") == ["with-role", "sso"]

    def test_complete_profiles_read_like_config_and_quoted(
        self, sh: ShellSession, home: Path
    ) -> None:
        """Completion offers exactly config.py's profile names (one definition of a
        section header), and inserts each as one literal word (issue 10, item 8)."""
        from shellvault.config import AwsConfig

        cfg = home / ".aws" / "config"
        cfg.write_text(
            "[profile a]b]\n[profile  spaced ]\n[profile $(touch pwned)]\n[profile my prof]\n"
        )
        assert AwsConfig.load(cfg).profile_names() == ["a]b", " spaced ", "$(touch pwned)",
                                                      "my prof"]
        assert sh.complete("with-role a]") == ["with-role", "a]b"]
        assert sh.complete("shellvault env my") == ["shellvault", "env", "my prof"]
        assert sh.complete("with-role \\$") == ["with-role", "$(touch pwned)"]
        assert sh.complete("shellvault auth \\ sp") == ["shellvault", "auth", " spaced "]
        assert not (home / "pwned").exists()

    def test_complete_profiles_after_the_config_changes(self, sh: ShellSession, home: Path) -> None:
        cfg = home / ".aws" / "config"
        sh.complete("with-role ")  # every name: read, and cached where the plugin caches
        assert sh.complete("with-role cen") == ["with-role", "central"]
        cfg.write_text("[profile solo-only]\nregion = eu-west-1\n")
        # an edit a second later (fish keys its cache on the mtime in seconds)
        st = cfg.stat()
        os.utime(cfg, (st.st_atime, st.st_mtime + 2))
        assert sh.complete("with-role ") == ["with-role", "solo-only"]
        assert sh.complete("shellvault env cen") == ["shellvault", "env", "cen"]

    def test_no_process_for_a_tab_not_even_the_first(
        self, home: Path, stub: StubShellvault
    ) -> None:
        """The first prompt's answer names the (fresh) name cache: the first TAB of a new shell
        starts no process, nor do later ones; a changed config is read again at the next TAB."""
        from tests.conftest import require_program

        require_program("strace")
        cfg = home / ".aws" / "config"
        with self.session(home, stub) as sh:
            sh.enter()
            got: list[list[str]] = []
            n, trace = sh.count_processes(
                lambda: [got.append(sh.complete(line))
                         for line in ("with-role cen", "shellvault env acc", "with-role cen")])
            assert n == 0, trace
            assert got == [["with-role", "central"], ["shellvault", "env", "account-"],
                           ["with-role", "central"]]
            cfg.write_text(cfg.read_text() + "\n[profile centaur]\n")
            st = cfg.stat()
            os.utime(cfg, (st.st_atime, st.st_mtime + 2))
            n, trace = sh.count_processes(lambda: got.append(sh.complete("with-role centa")))
            assert n >= 1, trace  # shellvault read the changed config
            assert got[-1] == ["with-role", "centaur"]
            n, trace = sh.count_processes(lambda: got.append(sh.complete("with-role centr")))
            assert n == 0, trace
            assert got[-1] == ["with-role", "central"]

    def test_complete_with_ten_thousand_profiles(self, home: Path, stub: StubShellvault) -> None:
        cfg = home / ".aws" / "config"
        with cfg.open("w") as f:
            for i in range(10000):
                f.write(
                    f"[profile team{i:05d}-admin]\nrole_arn = arn:aws:iam::{i:012d}:role/Admin\n"
                    "source_profile = central\nregion = eu-west-1\n"
                    "mfa_serial = arn:aws:iam::1:mfa/x\n\n"
                )
        with self.session(home, stub) as sh:
            assert sh.complete("with-role team09876") == ["with-role", "team09876-admin"]
            assert sh.complete("shellvault env team0000") == ["shellvault", "env", "team0000"]

    # ---------------------------------------------------------------- end to end
    # The real shellvault (console script in the venv), a real moto STS/S3 and
    # the README's world: what the stub stands in for above, for real.
    def real_session(self, aws_home, **kw) -> ShellSession:  # type: ignore[no-untyped-def]
        from tests.conftest import require_program

        require_program(self.SHELL)
        env = {k: v for k, v in aws_home.env.items() if k != "TERM"}
        env.update(kw.pop("env", {}))
        return ShellSession(self.SHELL, aws_home.home, env=env, timeout=60, **kw)

    def _answer_mfa(self, sh: ShellSession, aws_home) -> None:  # type: ignore[no-untyped-def]
        assert sh.child is not None
        sh.child.expect(r"MFA code for arn:aws:iam::\d+:mfa/alice: ", timeout=60)
        sh.child.sendline(aws_home.world.mfa_code())

    def test_e2e_eval_prompt_with_role_and_completion(self, aws_home, moto_server) -> None:  # type: ignore[no-untyped-def]
        from tests.conftest import require_program

        require_program("aws")
        with self.real_session(aws_home) as sh:
            assert sh.child is not None
            # no --shell: shellvault detects the shell it runs under
            load = (
                "shellvault env account-a | source"
                if self.SHELL == "fish"
                else 'eval "$(shellvault env account-a)"'
            )
            sh.child.sendline(load)
            self._answer_mfa(sh, aws_home)
            sh._expect_prompt()
            assert re.fullmatch(r"aws:account-a (1h00m|59m)", sh.segment), sh.last_prompt
            assert sh.get("SHELLVAULT_ACCOUNT") == aws_home.world.account_a
            before = sh.environment()
            moto_server.mark()
            r = sh.run("with-role account-b aws s3 ls", timeout=120)
            assert r.status == 0, r
            assert "account-b-bucket" in r.output and "account-a-bucket" not in r.output
            assert "MFA code" not in r.output  # one MFA session serves both roles
            assert sh.environment() == before
            assert moto_server.sts_calls() == ["AssumeRole"]
            r = sh.run("aws s3 ls", timeout=120)
            assert "account-a-bucket" in r.output and "account-b-bucket" not in r.output
            assert sh.complete("with-role account-") == ["with-role", "account-"]
            assert sh.complete("shellvault auth cen") == ["shellvault", "auth", "central"]

    def test_e2e_auto_refresh_without_prompting(self, aws_home, moto_server) -> None:  # type: ignore[no-untyped-def]
        env = {"SHELLVAULT_ROLE_TTL": "900", "SHELLVAULT_REFRESH_WITHIN": "1000"}
        with self.real_session(aws_home, env=env) as sh:
            assert sh.child is not None
            sh.child.sendline(sh_eval_env(self.SHELL, "account-a"))
            self._answer_mfa(sh, aws_home)
            # The prompt after the eval sees 900 s < 1000 s left and refreshes
            # in place, with the cached MFA session: no prompt, no GetSessionToken.
            out = sh._expect_prompt()
            assert "MFA code" not in out.split("alice: ", 1)[-1]
            assert moto_server.sts_calls() == ["GetSessionToken", "AssumeRole", "AssumeRole"]
            assert re.fullmatch(r"aws:account-a (15m|14m)", sh.segment), sh.last_prompt
            key = sh.get("AWS_ACCESS_KEY_ID")
            # Short sessions: the next refresh waits for half of what was left.
            for _ in range(3):
                sh.enter()
            assert moto_server.sts_calls() == ["GetSessionToken", "AssumeRole", "AssumeRole"]
            assert sh.get("AWS_ACCESS_KEY_ID") == key
            # When no refresh is possible without a code (no MFA session left),
            # the prompt says so once and does not block.
            sh.run("shellvault clear", timeout=60)
            r = sh.run(
                sh_export(self.SHELL, "SHELLVAULT_EXPIRES", int(time.time()) + 120), timeout=60
            )
            assert (
                "shellvault: account-a expires in 2m; run 'shellvault auth account-a'" in r.after
                or "shellvault: account-a expires in 1m; run 'shellvault auth account-a'"
                in r.after
            ), r.after
            assert re.fullmatch(r"aws:account-a (2m|1m)", sh.segment)
            out, _ = sh.run_raw("")
            assert "shellvault:" not in out
