"""direnv integration (`use shellvault PROFILE`, shell/direnv/shellvault.sh).

Everything here runs the real direnv, in real bash, zsh (and fish) on a
pseudo-terminal, against the moto world of ``aws_home``: the extension is
installed where the README says (``$XDG_CONFIG_HOME/direnv/lib/``), direnv's
hook is loaded in the shell, and the tests cd in and out and look at the shell's
variables. No test fakes direnv or the shell.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pexpect
import pytest

from shellvault.envvars import CONTRACT_VARS
from tests.conftest import REPO_ROOT, SvHome, lock_default_collection, require_program
from tests.keyring_session import private_keyring  # noqa: F401 (a fixture)

EXTENSION = REPO_ROOT / "shell" / "direnv" / "shellvault.sh"

# The shell's prompt is '[svprompt]...'; typed as '[sv''prompt]' so that the echo of
# the command that sets it never looks like a prompt.
PROMPT = r"\[svprompt\][^\r\n]*?[$#%>] "
UNSET = "__unset__"

CONTRACT = CONTRACT_VARS


# --------------------------------------------------------------------------- helpers


def install_extension(home: SvHome) -> Path:
    """Put the extension where direnv looks for libraries (README's install step)."""
    lib = Path(home.env["XDG_CONFIG_HOME"]) / "direnv" / "lib"
    lib.mkdir(parents=True, exist_ok=True)
    target = lib / "shellvault.sh"
    shutil.copyfile(EXTENSION, target)
    return target


def make_project(home: SvHome, envrc: str, name: str = "proj") -> Path:
    """A directory with ``envrc`` as its .envrc, allowed."""
    proj = home.home / name
    proj.mkdir(exist_ok=True)
    (proj / ".envrc").write_text(envrc)
    home.run_program([require_program("direnv"), "allow", str(proj)], check=True)
    return proj


def prime(home: SvHome, profile: str = "account-a") -> None:
    """Cache PROFILE's sessions without a prompt."""
    home.run("auth", profile, "--mfa-token", "123456", check=True)


def stamp(home: SvHome, profile: str = "account-a") -> Path:
    return home.state_dir / "stamps" / profile


def wait_past_second_of(path: Path) -> None:
    """direnv compares watched files' mtimes in whole seconds: make sure the next
    write to PATH lands in a later second than its current mtime."""
    mtime = int(path.stat().st_mtime) if path.exists() else int(time.time())
    while int(time.time()) <= mtime:
        time.sleep(0.05)


def direnv_export_json(
    home: SvHome, proj: Path, env: Mapping[str, str | None] | None = None, timeout: float = 30
) -> tuple[dict[str, Any], str, float]:
    """``direnv export json`` in PROJ with no terminal: (changes, stderr, seconds)."""
    start = time.monotonic()
    done = home.run_program(
        [require_program("direnv"), "export", "json"], cwd=proj, env=env, timeout=timeout
    )
    elapsed = time.monotonic() - start
    changes = json.loads(done.stdout) if done.stdout.strip() else {}
    return changes, done.stderr, elapsed


def aws_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in changes.items() if not k.startswith("DIRENV_")}


def our_lines(output: str) -> list[str]:
    """Lines the extension or shellvault printed (direnv's own chatter left out)."""
    lines = []
    for raw in output.splitlines():
        line = re.sub(r"\x1b\[[0-9;]*m", "", raw).strip()
        if "shellvault:" in line:
            lines.append(line)
    return lines


class Shell:
    """An interactive shell on a pseudo-terminal with direnv's hook loaded."""

    def __init__(
        self,
        kind: str,
        home: SvHome,
        env: Mapping[str, str | None] | None = None,
        setup: tuple[str, ...] = (),
        cwd: Path | None = None,
    ) -> None:
        self.kind = kind
        program = require_program(kind)
        require_program("direnv")
        full_env = home.merged_env(env)
        full_env["TERM"] = "dumb"
        args = {
            "bash": ["--norc", "--noprofile", "-i"],
            "zsh": ["-f", "-i"],
            "fish": ["--no-config", "-i"],
        }[kind]
        self.child = pexpect.spawn(
            program,
            args,
            env=full_env,
            cwd=str(cwd or home.home),
            encoding="utf-8",
            codec_errors="replace",
            timeout=30,
            dimensions=(40, 200),
        )
        self.transcript: list[str] = []
        if kind == "bash":
            first = [
                "PS1='[sv''prompt]\\$ '",
                "PROMPT_COMMAND=",
                *setup,
                'eval "$(direnv hook bash)"',
            ]
        elif kind == "zsh":
            first = [
                "unsetopt prompt_sp prompt_cr; unset zle_bracketed_paste",
                "PS1='[sv''prompt]%# '",
                *setup,
                'eval "$(direnv hook zsh)"',
            ]
        else:
            first = [
                "function fish_prompt; echo -n '[sv''prompt]> '; end",
                "function fish_greeting; end",
                *setup,
                "direnv hook fish | source",
            ]
        for line in first:
            self.child.sendline(line)
        self.sync()

    def sync(self, timeout: float = 30) -> str:
        """Wait until the shell has done everything typed so far; returns the output."""
        token = f"sync{time.monotonic_ns()}"
        half = len(token) // 2
        self.child.sendline(f"echo '{token[:half]}''{token[half:]}'")
        self.child.expect_exact(token + "\r\n", timeout=timeout)
        before = self.child.before or ""
        self.child.expect(PROMPT, timeout=timeout)
        self.transcript.append(before)
        return before

    def run(self, command: str, timeout: float = 30) -> str:
        """Type COMMAND, wait for the next prompt; returns what was printed meanwhile
        (direnv's hook output included)."""
        if self.kind == "fish":
            # fish redraws the prompt with every keystroke: wait for a token instead.
            self.child.sendline(command)
            return self.sync(timeout)
        self.child.sendline(command)
        self.child.expect(PROMPT, timeout=timeout)
        out = self.child.before or ""
        self.transcript.append(out)
        return out

    def var(self, name: str) -> str:
        if self.kind == "fish":
            out = self.run(
                f"set -q {name}; and printf '<%s=%s>\\n' {name} \"${name}\"; "
                f"or printf '<%s=%s>\\n' {name} {UNSET}"
            )
        else:
            out = self.run(f"printf '<%s=%s>\\n' {name} \"${{{name}-{UNSET}}}\"")
        found = re.search(rf"<{name}=([^>\r\n]*)>", out)
        assert found, f"no value for {name} in {out!r}"
        return found.group(1)

    def vars(self, names: tuple[str, ...] = CONTRACT) -> dict[str, str]:
        return {n: self.var(n) for n in names}

    def close(self) -> None:
        if self.child.isalive():
            self.child.sendline("exit")
            with contextlib.suppress(pexpect.TIMEOUT):
                self.child.expect(pexpect.EOF, timeout=5)
        self.child.close(force=True)


@pytest.fixture
def shells() -> Iterator[list[Shell]]:
    """Collects the shells a test starts and closes them afterwards."""
    started: list[Shell] = []
    yield started
    for sh in started:
        sh.close()


def start(shells: list[Shell], kind: str, home: SvHome, **kw: Any) -> Shell:
    sh = Shell(kind, home, **kw)
    shells.append(sh)
    return sh


@pytest.fixture
def direnv_home(aws_home: SvHome) -> SvHome:
    """``aws_home`` with the extension installed and ``proj/`` using account-a."""
    require_program("direnv")
    install_extension(aws_home)
    make_project(aws_home, "use shellvault account-a\n")
    return aws_home


SHELLS = ("bash", "zsh")


# --------------------------------------------------------------------------- the file


def test_extension_is_shellcheck_clean() -> None:
    shellcheck = require_program("shellcheck")
    done = subprocess.run(
        [shellcheck, "-s", "bash", str(EXTENSION)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_extension_avoids_bash4_features() -> None:
    """macOS runs direnv's stdlib with bash 3.2: nothing newer in the extension
    (BASH_VERSION-free fallbacks only: ${BASHPID:-} is used with a 3.2 fallback)."""
    text = "\n".join(
        line for line in EXTENSION.read_text().splitlines() if not line.lstrip().startswith("#")
    )
    banned = {
        "associative arrays": r"\b(declare|local|typeset)\s+-[a-zA-Z]*A",
        "namerefs": r"\b(declare|local|typeset)\s+-[a-zA-Z]*n\b",
        "mapfile/readarray": r"\b(mapfile|readarray)\b",
        "case modification": r"\$\{[^}]*(,,|\^\^)",
        "coproc": r"\bcoproc\b",
        "|& and &>>": r"\|&|&>>",
        "[[ -v ]]": r"\[\[\s+-v\b",
        "EPOCHSECONDS/EPOCHREALTIME": r"EPOCH(SECONDS|REALTIME)",
        "printf %(...)T": r"%\([^)]*\)T",
        "negative substring offsets": r"\$\{\w+:(\s+|\()-\d",
        "BASHPID without fallback": r"\$BASHPID|\$\{BASHPID\}",
        "wait -n": r"\bwait\s+-n\b",
    }
    found = {what: re.findall(rx, text) for what, rx in banned.items() if re.search(rx, text)}
    assert not found, found


def test_init_direnv_prints_the_extension(sv_home: SvHome) -> None:
    """The README's install step (`shellvault init direnv > .../lib/shellvault.sh`)
    writes exactly this file."""
    done = sv_home.run("init", "direnv", check=True)
    assert done.stdout == EXTENSION.read_text()


@pytest.mark.parametrize(
    ("profile", "env_over", "expected_dir"),
    [
        ("account-a", {}, "{state}/shellvault/stamps/account-a"),
        ("team/a%b", {}, "{state}/shellvault/stamps/team%2Fa%25b"),
        ("x", {"SHELLVAULT_STATE_DIR": "{home}/sv"}, "{home}/sv/stamps/x"),
        ("x", {"XDG_STATE_HOME": "relative/ignored"}, "{home}/.local/state/shellvault/stamps/x"),
    ],
)
def test_watched_paths_are_shellvaults_stamp_and_config(
    sv_home: SvHome, profile: str, env_over: dict[str, str], expected_dir: str
) -> None:
    """The extension names the same stamp file shellvault writes (paths.stamp_path),
    and the config file shellvault reads (~ expanded)."""
    from shellvault.paths import stamp_path

    fill = {"home": str(sv_home.home), "state": sv_home.env["XDG_STATE_HOME"]}
    env = {k: v.format(**fill) for k, v in env_over.items()}
    env["AWS_CONFIG_FILE"] = "~/cfg/aws config"
    script = (
        f'source "{EXTENSION}"\n'
        'watch_file() { printf "<%s>\\n" "$@"; }\n'
        "set -euo pipefail\n"
        '__shellvault_direnv_watch "$1"\n'
    )
    done = sv_home.run_program(["bash", "-c", script, "bash", profile], env=env, check=True)
    watched = re.findall(r"<([^>]*)>", done.stdout)
    merged = sv_home.merged_env(env)
    assert watched == [
        str(stamp_path(profile, merged)),
        f"{sv_home.home}/cfg/aws config",
    ]
    assert watched[0] == expected_dir.format(**fill)


# --------------------------------------------------------------------------- load / unload


@pytest.mark.parametrize("kind", SHELLS)
def test_enter_loads_the_profile_and_leaving_restores_the_shell(
    direnv_home: SvHome, moto_server: Any, shells: list[Shell], kind: str
) -> None:
    home = direnv_home
    world = home.world
    assert world is not None
    prime(home)
    # (An outer AWS_REGION would win over the profile's region, as in aws-vault.)
    sh = start(shells, kind, home, env={"AWS_PROFILE": "outer", "AWS_ACCESS_KEY_ID": "AKIAOUTER"})
    before = sh.vars((*CONTRACT, "AWS_PROFILE"))
    assert before["AWS_ACCESS_KEY_ID"] == "AKIAOUTER"
    moto_server.mark()

    out = sh.run("cd proj")
    assert "direnv: loading" in out
    assert our_lines(out) == [], out  # a cached session: no prompt, no message
    assert "direnv: loading" not in sh.run("")  # and no reload loop
    loaded = sh.vars((*CONTRACT, "AWS_PROFILE"))
    assert loaded["SHELLVAULT_PROFILE"] == "account-a"
    assert loaded["SHELLVAULT_ACCOUNT"] == world.account_a
    assert loaded["AWS_REGION"] == loaded["AWS_DEFAULT_REGION"] == world.regions["account-a"]
    assert loaded["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert loaded["AWS_PROFILE"] == UNSET
    assert int(loaded["SHELLVAULT_EXPIRES"]) > time.time() + 600
    # The cached sessions answered: no STS call at all.
    assert moto_server.sts_calls() == []
    # The credentials are account-a's role, as the AWS CLI sees them.
    ident = sh.run("aws sts get-caller-identity --query Arn --output text")
    assert f"arn:aws:sts::{world.account_a}:assumed-role/" in ident

    for _ in range(2):
        assert "direnv: loading" not in sh.run("")

    out = sh.run("cd ..")
    assert "direnv: unloading" in out
    assert sh.vars((*CONTRACT, "AWS_PROFILE")) == before


@pytest.mark.parametrize("kind", SHELLS)
def test_a_session_change_elsewhere_reloads_on_the_next_prompt(
    direnv_home: SvHome, moto_server: Any, shells: list[Shell], kind: str
) -> None:
    """`shellvault clear account-a` in another process rewrites the stamp: the next
    prompt reloads, and the new credentials come from a fresh AssumeRole (the MFA
    session is still cached: no prompt)."""
    home = direnv_home
    prime(home)
    sh = start(shells, kind, home, cwd=home.home / "proj")
    sh.run("")
    first = sh.var("AWS_ACCESS_KEY_ID")
    assert first.startswith("ASIA")

    wait_past_second_of(stamp(home))
    moto_server.mark()
    home.run("clear", "account-a", check=True)
    out = sh.run("")
    assert "direnv: loading" in out
    assert our_lines(out) == [], out
    second = sh.var("AWS_ACCESS_KEY_ID")
    assert second.startswith("ASIA") and second != first
    assert moto_server.sts_calls() == ["AssumeRole"]


@pytest.mark.parametrize(
    ("kind", "direnv_toml"),
    [("bash", ""), ("zsh", ""), ("bash", "[global]\ndisable_stdin = true\n")],
    ids=["bash", "zsh", "bash-disable_stdin"],
)
def test_mfa_prompt_on_the_terminal_then_loaded(
    direnv_home: SvHome, moto_server: Any, shells: list[Shell], kind: str, direnv_toml: str
) -> None:
    """The code is read from /dev/tty, never stdin: direnv's disable_stdin changes nothing."""
    home = direnv_home
    world = home.world
    assert world is not None
    if direnv_toml:
        (Path(home.env["XDG_CONFIG_HOME"]) / "direnv" / "direnv.toml").write_text(direnv_toml)
    sh = start(shells, kind, home)
    sh.child.sendline("cd proj")
    sh.child.expect(r"account-a needs an MFA code \(60s; Ctrl-C skips it\)")
    sh.child.expect(r"MFA code for arn:aws:iam::\d+:mfa/\S+: ")
    sh.child.sendline(world.mfa_code())
    sh.child.expect(PROMPT)
    # The stamps this very load wrote were recorded after the write: the next
    # prompt does not load again.
    assert "direnv: loading" not in sh.run("")
    assert sh.var("SHELLVAULT_PROFILE") == "account-a"
    assert sh.var("SHELLVAULT_ACCOUNT") == world.account_a
    assert sorted(moto_server.sts_calls()) == ["AssumeRole", "GetSessionToken"]
    # Cached now: another shell loads it without asking.
    other = start(shells, kind, home)
    out = other.run("cd proj")
    assert "MFA code" not in out
    assert other.var("SHELLVAULT_PROFILE") == "account-a"


@pytest.mark.parametrize("kind", SHELLS)
def test_ctrl_c_at_the_prompt_skips_and_leaves_the_shell_as_it_was(
    direnv_home: SvHome, shells: list[Shell], kind: str
) -> None:
    home = direnv_home
    sh = start(shells, kind, home, env={"AWS_PROFILE": "outer"})
    sh.child.sendline("cd proj")
    sh.child.expect(r"MFA code for \S+: ")
    sh.child.sendcontrol("c")
    sh.child.expect(PROMPT, timeout=15)
    assert sh.var("AWS_ACCESS_KEY_ID") == UNSET
    assert sh.var("AWS_PROFILE") == "outer"
    # The terminal is usable and in line mode again.
    assert "icanon" in sh.run("stty -a").replace("-icanon", "")
    assert "hello" in sh.run("echo hel''lo")


@pytest.mark.parametrize(
    ("kind", "envrc"),
    [
        ("bash", ""),
        ("zsh", ""),
        # bash 3.2 (macOS) has no $BASHPID: the watchdog finds its target another way.
        ("bash", "unset BASHPID\n"),
    ],
    ids=["bash", "zsh", "bash-without-BASHPID"],
)
def test_an_unanswered_prompt_times_out_and_the_shell_comes_back(
    direnv_home: SvHome, shells: list[Shell], kind: str, envrc: str
) -> None:
    home = direnv_home
    make_project(home, envrc + "use shellvault account-a\n")
    sh = start(
        shells, kind, home, env={"SHELLVAULT_DIRENV_PROMPT_TIMEOUT": "2", "AWS_PROFILE": "outer"}
    )
    sh.child.sendline("cd proj")
    sh.child.expect(r"needs an MFA code \(2s; Ctrl-C skips it\)")
    sh.child.expect(r"MFA code for \S+: ")
    sh.child.expect(
        r"account-a got no answer within 2s: run 'shellvault auth account-a'"
        r" in a terminal; direnv reloads by itself afterwards",
        timeout=15,
    )
    sh.child.expect(PROMPT, timeout=15)
    assert sh.var("AWS_ACCESS_KEY_ID") == UNSET
    assert sh.var("AWS_PROFILE") == "outer"
    assert "hello" in sh.run("echo hel''lo")
    # Neither shellvault nor the watchdog is left behind.
    deadline = time.monotonic() + 5
    while _processes_of(home) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_of(home) == []


def _processes_of(home: SvHome) -> list[str]:
    """Processes started from the extension for this HOME (shellvault, watchdog sleep)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["cmdline", "environ"]):
        try:
            cmd = " ".join(proc.info["cmdline"] or [])
            env = proc.info["environ"] or {}
        except psutil.Error:
            continue
        if env.get("HOME") == str(home.home) and env.get("DIRENV_IN_ENVRC") == "1":
            found.append(cmd)
    return found


# --------------------------------------------------------------------------- no prompt possible


def test_no_terminal_fails_fast_naming_the_command(direnv_home: SvHome) -> None:
    """`direnv exec` from a process without a controlling terminal: one line naming
    `shellvault auth account-a`, the command runs without credentials, no hang."""
    home = direnv_home
    proj = home.home / "proj"
    done = home.run_program(
        [
            require_program("direnv"),
            "exec",
            str(proj),
            "sh",
            "-c",
            'echo "<${AWS_ACCESS_KEY_ID-unset}>"',
        ],
        timeout=20,
    )
    assert "<unset>" in done.stdout
    lines = our_lines(done.stderr)
    assert lines == [
        "direnv: shellvault: account-a needs an MFA code and direnv will not ask for it "
        "(no terminal): run 'shellvault auth account-a' in a terminal; "
        "direnv reloads by itself afterwards"
    ], done.stderr


def test_no_prompt_setting_fails_fast_then_login_elsewhere_reloads(
    direnv_home: SvHome, shells: list[Shell]
) -> None:
    """With SHELLVAULT_DIRENV_NO_PROMPT=1 in a terminal: fail at once; the stamp is
    watched although loading failed, so `shellvault auth` in another process makes
    the next prompt load the credentials by itself."""
    home = direnv_home
    sh = start(shells, "bash", home, env={"SHELLVAULT_DIRENV_NO_PROMPT": "1"})
    out = sh.run("cd proj", timeout=15)
    assert our_lines(out) == [
        "direnv: shellvault: account-a needs an MFA code and direnv will not ask for it "
        "(SHELLVAULT_DIRENV_NO_PROMPT is set): run 'shellvault auth account-a' in a "
        "terminal; direnv reloads by itself afterwards"
    ], out
    assert "MFA code for" not in out
    assert sh.var("AWS_ACCESS_KEY_ID") == UNSET
    assert "direnv: loading" not in sh.run("")  # failed loads do not loop either

    wait_past_second_of(stamp(home))
    prime(home)  # `shellvault auth account-a` elsewhere
    out = sh.run("")
    assert "direnv: loading" in out
    assert sh.var("SHELLVAULT_PROFILE") == "account-a"


def test_fish_never_prompts_and_fails_fast(direnv_home: SvHome, shells: list[Shell]) -> None:
    """fish's direnv hook keeps the terminal in fish's raw mode (no ICANON, no ICRNL):
    a typed code would never reach shellvault, so the extension does not ask."""
    home = direnv_home
    sh = start(shells, "fish", home)
    out = sh.run("cd proj", timeout=20)
    assert "MFA code for" not in out
    lines = our_lines(out)
    assert len(lines) == 1, out
    assert "fish's direnv hook keeps the terminal from it" in lines[0]
    assert "run 'shellvault auth account-a'" in lines[0]
    assert sh.var("AWS_ACCESS_KEY_ID") == UNSET
    # After a login elsewhere, fish loads it on the next prompt.
    wait_past_second_of(stamp(home))
    prime(home)
    sh.run("")
    assert sh.var("SHELLVAULT_PROFILE") == "account-a"


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        # A background job may not read the terminal (SIGTTIN would stop the reader).
        (
            "direnv exec proj sh -c 'echo \"<${SHELLVAULT_PROFILE-unset}>\"' & wait",
            "direnv runs in the background",
        ),
        # A terminal left in raw mode (what fish does) would never deliver a line.
        (
            "stty -icanon; direnv exec proj sh -c 'echo \"<${SHELLVAULT_PROFILE-unset}>\"'; "
            "stty icanon",
            "the terminal is not in line mode",
        ),
    ],
    ids=["background", "raw-terminal"],
)
def test_no_prompt_where_the_terminal_cannot_answer(
    direnv_home: SvHome, shells: list[Shell], setup: str, reason: str
) -> None:
    home = direnv_home
    sh = start(shells, "bash", home, setup=("set -m",))
    out = sh.run(setup, timeout=20)
    assert "MFA code for" not in out
    assert "<unset>" in out
    lines = our_lines(out)
    assert len(lines) == 1, out
    assert f"direnv will not ask for it ({reason}): run 'shellvault auth account-a'" in lines[0]


def test_fish_is_recognised_from_directs_command_line(sv_home: SvHome) -> None:
    """`direnv export fish` is the parent of the .envrc's bash: that alone keeps the
    extension from asking, whatever the terminal's mode."""
    script = f'source "{EXTENSION}"; __shellvault_direnv_parent_is_fish && echo FISH || echo OTHER'
    launcher = "import subprocess, sys; subprocess.run(['bash', '-c', sys.argv[1]])"
    for shell, expected in (("fish", "FISH"), ("zsh", "OTHER"), ("bash", "OTHER")):
        done = sv_home.run_program(["python3", "-c", launcher, script, "export", shell], check=True)
        assert done.stdout.strip() == expected, (shell, done.stdout, done.stderr)


@pytest.mark.usefixtures("private_keyring")
def test_a_locked_file_store_names_unlock_and_loads_once_unlocked(
    direnv_home: SvHome, shells: list[Shell]
) -> None:
    """Without SHELLVAULT_FILE_PASSPHRASE and not unlocked, the encrypted store is
    locked: direnv says so in shellvault's one line (exit 4), with or without a
    terminal; after `shellvault unlock` in the shell, the project loads without a prompt."""
    home = direnv_home
    prime(home)
    no_passphrase = {"SHELLVAULT_FILE_PASSPHRASE": None}
    line = _only_error(home, home.home / "proj", no_passphrase)
    assert line == "direnv: shellvault: the file store is locked: run 'shellvault unlock'"

    sh = start(shells, "bash", home, env=no_passphrase)
    sh.child.sendline("cd proj")
    sh.child.expect("the file store is locked: run 'shellvault unlock'")
    sh.child.expect(PROMPT)
    sh.child.sendline("cd ~ && shellvault unlock")
    sh.child.expect("shellvault file store passphrase: ")
    sh.child.sendline(home.passphrase)
    sh.child.expect(PROMPT)
    sh.child.sendline("cd proj")
    sh.child.expect(PROMPT)
    assert "passphrase" not in (sh.child.before or "")
    assert sh.var("SHELLVAULT_PROFILE") == "account-a"


def test_errors_show_even_with_direnv_logging_silenced(direnv_home: SvHome) -> None:
    """DIRENV_LOG_FORMAT= silences direnv's chatter, not a project's missing credentials."""
    home = direnv_home
    _, err, _ = direnv_export_json(home, home.home / "proj", {"DIRENV_LOG_FORMAT": ""})
    assert err.splitlines() == [
        "shellvault: account-a needs an MFA code and direnv will not ask for it (no terminal): "
        "run 'shellvault auth account-a' in a terminal; direnv reloads by itself afterwards"
    ]


def test_the_command_to_run_is_quoted_for_the_shell(direnv_home: SvHome) -> None:
    home = direnv_home
    assert home.world is not None
    home.write_config(
        home.world.config_text(
            "[profile my team]\nsource_profile = central\n"
            f"role_arn = {home.world.role_a_arn}\nmfa_serial = {home.world.mfa_serial}\n"
        )
    )
    make_project(home, "use shellvault 'my team'\n", name="spaced")
    line = _only_error(home, home.home / "spaced")
    assert "run 'shellvault auth my\\ team' in a terminal" in line, line


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("kind", SHELLS)
def test_unknown_profile_one_line_and_the_environment_unchanged(
    direnv_home: SvHome, shells: list[Shell], kind: str
) -> None:
    home = direnv_home
    make_project(home, "use shellvault nope\n", name="bad")
    outer = {"AWS_PROFILE": "outer", "AWS_ACCESS_KEY_ID": "AKIAOUTER", "AWS_REGION": "sa-east-1"}
    sh = start(shells, kind, home, env=outer)
    before = sh.vars((*CONTRACT, "AWS_PROFILE"))
    out = sh.run("cd bad")
    lines = our_lines(out)
    assert len(lines) == 1, out
    assert "nope" in lines[0]
    assert sh.vars((*CONTRACT, "AWS_PROFILE")) == before


def _only_error(home: SvHome, proj: Path, env: Mapping[str, str | None] | None = None) -> str:
    changes, err, _elapsed = direnv_export_json(home, proj, env)  # bounded by its timeout
    assert aws_changes(changes) == {}, changes
    lines = our_lines(err)
    assert len(lines) == 1, err
    return lines[0]


def test_broken_config_one_line_nothing_exported(direnv_home: SvHome) -> None:
    home = direnv_home
    assert home.world is not None
    prime(home)
    home.write_config(
        home.world.config_text().replace(
            "[profile account-a]\n", "[profile account-a]\nthis is not ini\n"
        )
    )
    line = _only_error(home, home.home / "proj")
    assert line.startswith(f"direnv: shellvault: {home.config_path}:"), line
    assert "this is not ini" in line


def test_source_profile_loop_one_line_nothing_exported(direnv_home: SvHome) -> None:
    home = direnv_home
    assert home.world is not None
    home.write_config(
        home.world.config_text(
            "[profile loop-a]\nsource_profile = loop-b\n[profile loop-b]\nsource_profile = loop-a\n"
            "role_arn = arn:aws:iam::123456789012:role/x\n"
        )
    )
    make_project(home, "use shellvault loop-a\n", name="loop")
    line = _only_error(home, home.home / "loop")
    assert "loop" in line


def test_locked_keyring_one_line_nothing_exported(
    aws_keyring_home: SvHome, secret_service: dict[str, str]
) -> None:
    home = aws_keyring_home
    install_extension(home)
    proj = make_project(home, "use shellvault account-a\n")
    prime(home)
    lock_default_collection(secret_service)
    line = _only_error(home, proj)
    assert "lock" in line.lower()


def _fake_shellvault(home: SvHome, body: str) -> str:
    path = home.home / "fake-shellvault"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_partial_output_of_a_failed_run_is_never_evaluated(direnv_home: SvHome) -> None:
    home = direnv_home
    fake = _fake_shellvault(
        home,
        (
            "echo \"export AWS_ACCESS_KEY_ID='AKIAPARTIAL'\"\n"
            "echo 'shellvault: the keyring went away' >&2\n"
            "exit 1\n"
        ),
    )
    line = _only_error(home, home.home / "proj", {"SHELLVAULT_BIN": fake})
    assert line == "direnv: shellvault: the keyring went away"


def test_a_successful_run_without_credentials_is_not_evaluated(direnv_home: SvHome) -> None:
    home = direnv_home
    fake = _fake_shellvault(home, "echo \"export AWS_REGION='us-west-2'\"\nexit 0\n")
    line = _only_error(home, home.home / "proj", {"SHELLVAULT_BIN": fake})
    assert "printed no credentials" in line


def test_missing_program_says_so(direnv_home: SvHome) -> None:
    home = direnv_home
    line = _only_error(home, home.home / "proj", {"SHELLVAULT_BIN": None, "PATH": "/usr/bin:/bin"})
    assert "shellvault: command not found" in line


def test_shellvault_bin_overrides_path(direnv_home: SvHome) -> None:
    home = direnv_home
    prime(home)
    env = {"SHELLVAULT_BIN": home.shellvault, "PATH": "/usr/bin:/bin"}
    changes, err, _ = direnv_export_json(home, home.home / "proj", env)
    assert changes.get("SHELLVAULT_PROFILE") == "account-a", err


def test_usage_error_without_profile(direnv_home: SvHome) -> None:
    home = direnv_home
    make_project(home, "use shellvault\n", name="noprofile")
    line = _only_error(home, home.home / "noprofile")
    assert line == "direnv: shellvault: usage: use shellvault PROFILE"


def test_strict_env_says_to_reload_by_hand(direnv_home: SvHome) -> None:
    """Under strict_env a failing `use` ends the .envrc and direnv keeps none of its
    watches, so the message says `direnv reload` instead of promising a reload."""
    home = direnv_home
    make_project(home, "strict_env\nuse shellvault account-a\n", name="strict")
    line = _only_error(home, home.home / "strict")
    assert line.endswith(
        "run 'shellvault auth account-a' in a terminal; then run 'direnv reload'"
    ), line


def test_strict_env_success_loads(direnv_home: SvHome) -> None:
    """`set -euo pipefail` (strict_env) does not trip the extension on success."""
    home = direnv_home
    prime(home)
    make_project(home, "strict_env\nuse shellvault account-a\nexport AFTER=1\n", name="strict")
    changes, err, _ = direnv_export_json(home, home.home / "strict")
    assert changes.get("SHELLVAULT_PROFILE") == "account-a", err
    assert changes.get("AFTER") == "1"


# --------------------------------------------------------------------------- prompt segment


PLUGINS = {
    "bash": (
        REPO_ROOT / "shell" / "bash" / "shellvault.bash",
        "PS1='<seg:$(shellvault_prompt --plain)>[sv''prompt]\\$ '",
    ),
    "zsh": (
        REPO_ROOT / "shell" / "zsh" / "shellvault.plugin.zsh",
        "setopt prompt_subst; PS1='<seg:$(shellvault_prompt --plain)>[sv''prompt]%# '",
    ),
    "fish": (
        REPO_ROOT / "shell" / "fish" / "conf.d" / "shellvault.fish",
        # (an empty command substitution would void the whole word in fish)
        "function fish_prompt; set -l s (shellvault_prompt --plain); "
        'echo -n "<seg:$s>[sv""prompt]> "; end',
    ),
}


@pytest.mark.parametrize("kind", sorted(PLUGINS))
def test_the_prompt_segment_shows_the_direnv_profile(
    direnv_home: SvHome, shells: list[Shell], kind: str
) -> None:
    """The plugins' segment is drawn from SHELLVAULT_PROFILE/EXPIRES, so it shows a
    profile direnv loaded, and nothing once direnv unloads it."""
    plugin, prompt = PLUGINS[kind]
    if not plugin.is_file() or "shellvault_prompt" not in plugin.read_text():
        pytest.skip(f"the {kind} plugin ({plugin.relative_to(REPO_ROOT)}) has not landed yet")
    home = direnv_home
    prime(home)
    sh = start(shells, kind, home, setup=(f"source '{plugin}'", prompt))
    sh.child.sendline("cd proj")
    sh.child.expect(r"<seg:aws:account-a \d+[hm][^>]*>\[svprompt\]")
    sh.sync()
    sh.child.sendline("cd ..")
    sh.child.expect(r"<seg:>\[svprompt\]")
    sh.sync()
    assert sh.var("SHELLVAULT_PROFILE") == UNSET


@pytest.mark.parametrize("kind", sorted(PLUGINS))
def test_the_plugin_refreshes_direnv_credentials_and_direnv_reloads_them(
    direnv_home: SvHome, moto_server: Any, shells: list[Shell], kind: str
) -> None:
    """Near expiry, the plugin's prompt hook refreshes the session of credentials
    direnv loaded without evaluating anything itself: the refresh rewrites the
    stamp, and direnv reloads fresh credentials within a prompt or two, with the
    cached MFA session (no prompt, no GetSessionToken). A short session then does
    not make every prompt refresh and reload again."""
    plugin, _ = PLUGINS[kind]
    if not plugin.is_file():
        pytest.skip(f"the {kind} plugin ({plugin.relative_to(REPO_ROOT)}) has not landed yet")
    home = direnv_home
    short = {"SHELLVAULT_ROLE_TTL": "900", "SHELLVAULT_REFRESH_WITHIN": "1000"}
    home.run("auth", "account-a", "--mfa-token", "123456", env=short, check=True)
    cached = home.run("env", "--shell", "bash", "--no-input", "account-a", env=short, check=True)
    found = re.search(r"SHELLVAULT_EXPIRES=['\"]?(\d+)", cached.stdout)
    assert found, cached.stdout
    old = int(found.group(1))
    assert old - time.time() < 1000  # inside the refresh window from the start
    wait_past_second_of(stamp(home))
    moto_server.mark()

    sh = start(shells, kind, home, env=short, setup=(f"source '{plugin}'",))
    out = sh.run("cd proj")
    assert "direnv: loading" in out
    # Within a prompt or two, direnv reloads what the refresh made.
    new = old
    for _ in range(3):
        new = int(sh.var("SHELLVAULT_EXPIRES"))
        if new != old:
            break
    assert new > old, sh.transcript
    everything = "".join(sh.transcript)
    if kind != "fish":  # (fish's harness drops what its last prompt printed)
        assert everything.count("direnv: loading") >= 2, everything
    assert sh.var("SHELLVAULT_PROFILE") == "account-a"
    assert sh.var("AWS_ACCESS_KEY_ID").startswith("ASIA")
    everything = "".join(sh.transcript)
    assert "MFA" not in everything
    assert our_lines(everything) == [], everything
    assert moto_server.sts_calls() == ["AssumeRole"]
    # The new session is short too (900 s < 1000 s): no refresh-and-reload loop.
    for _ in range(3):
        assert "direnv: loading" not in sh.run("")
    assert moto_server.sts_calls() == ["AssumeRole"]
    assert int(sh.var("SHELLVAULT_EXPIRES")) == new
