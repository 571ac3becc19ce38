"""``scripts/demo --check``: the demo's tour, typed by a robot into real bash, zsh
and fish through a pseudo-terminal (pexpect), with a pass/fail line per step.

Each shell gets its own fresh demo HOME (so each one sees the MFA prompt), all of
them share one moto server. The shell is started exactly as the interactive demo
starts it (same rc file, same environment), only TERM is fixed to ``xterm`` (fish
shows no completion pager on a ``dumb`` terminal).

Command lines are wrapped in markers (``printf '__SV_''END_3__'``) so that the echo
of a typed line can never be mistaken for its output.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import pexpect
from demo_env import DEMO_MFA_CODE, PROMPT_LABEL, Demo, DemoError, DemoHome, eval_line

# CSI/OSC escapes, charset selections, keypad modes; then readline's \001 \002.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[=>()][0-9A-Za-z]?"
)
PROMPT_RE = re.compile(re.escape(PROMPT_LABEL) + r" [^\r\n]*?[#$%>] ")
MFA_RE = re.compile(r"MFA code for arn:aws:iam::\d{12}:mfa/[\w+=,.@-]+: ")
SEGMENT_RE = re.compile(r"(?:aws:(\S+) (\S+) )?" + re.escape(PROMPT_LABEL))
TTL_RE = re.compile(r"^(\d+h\d\dm|\d+m|\d+s)$")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text).replace("\x01", "").replace("\x02", "")


class StepFailed(Exception):
    """A check did not hold; the message says what was seen."""


@dataclass
class Ran:
    output: str  # what the command printed (stdout and stderr), escapes removed
    status: int
    segment: tuple[str, str] | None  # (profile, time left) in the next prompt
    mfa_prompts: int


class DemoShell:
    """One demo shell under a pseudo-terminal."""

    def __init__(self, home: DemoHome, timeout: float = 30.0) -> None:
        self.shell = home.shell
        self.timeout = timeout
        env = dict(home.env)
        env["TERM"] = "xterm"
        self.transcript = io.StringIO()
        self.child = pexpect.spawn(
            home.argv[0],
            home.argv[1:],
            env=env,
            cwd=home.cwd,
            encoding="utf-8",
            codec_errors="replace",
            timeout=timeout,
            dimensions=(50, 200),
        )
        self.child.logfile_read = self.transcript
        self.child.delaybeforesend = None
        self._n = 0

    # ------------------------------------------------------------ plumbing
    def _marker(self, word: str) -> tuple[str, str]:
        """A marker and the way to type it so that its echo differs."""
        self._n += 1
        m = f"__SV_{word}_{self._n}__"
        return m, f"'{m[:5]}''{m[5:]}'"

    def _prompt(self) -> tuple[str, str] | None:
        """Wait for the next prompt; return the plugin's segment in it."""
        self.child.expect(PROMPT_RE)
        text = strip_ansi(str(self.child.before) + str(self.child.after))
        found = list(SEGMENT_RE.finditer(text))
        if not found or found[-1].group(1) is None:
            return None
        return found[-1].group(1), found[-1].group(2)

    def run(self, cmd: str, mfa_answer: str | None = None, max_mfa: int = 0) -> Ran:
        """Type ``cmd``, answer up to ``max_mfa`` MFA prompts with ``mfa_answer``;
        a further MFA prompt fails the step (Ctrl-C is sent so the shell goes on)."""
        begin, begin_q = self._marker("BEGIN")
        end, end_q = self._marker("END")
        status = "$status" if self.shell == "fish" else "$?"
        self.child.sendline(f"printf '%s\\n' {begin_q}; {cmd}; printf '%s %s\\n' {end_q} {status}")
        end_re = re.compile(re.escape(end) + r" (\d+)\r?\n")
        prompts = 0
        text = ""
        while True:
            which = self.child.expect([end_re, MFA_RE])
            text += str(self.child.before)
            if which == 0:
                break
            prompts += 1
            if prompts > max_mfa or mfa_answer is None:
                self.child.sendcontrol("c")
                self._prompt()
                raise StepFailed(f"unexpected MFA prompt #{prompts} from `{cmd}`")
            self.child.sendline(mfa_answer)
        assert self.child.match is not None and not isinstance(self.child.match, type)
        code = int(self.child.match.group(1))
        out = strip_ansi(text).replace("\r", "")
        if begin in out:
            out = out.split(begin, 1)[1]
        if self.shell == "fish":  # repaints of the line being typed
            out = "\n".join(ln for ln in out.split("\n") if PROMPT_LABEL not in ln)
        return Ran(output=out.strip("\n"), status=code, segment=self._prompt(), mfa_prompts=prompts)

    def sync(self) -> tuple[str, str] | None:
        """Wait until the shell is at a fresh prompt; return its segment."""
        return self.run(":").segment

    def completions(self, partial: str, wanted: list[str], tabs: int = 6) -> str:
        """Type ``partial``, then TAB until every ``wanted`` word is on the screen (a
        first TAB may only insert the common prefix, bash lists on the third, fish on
        a dumb terminal cycles through the candidates in the line); return the screen
        text; then cancel the line with Ctrl-C."""
        start = len(self.transcript.getvalue())
        self.child.send(partial)
        seen = ""
        for _ in range(tabs):
            self.child.send("\t")
            # Read until the screen is quiet for a moment (the TAB was handled).
            until = time.monotonic() + 3.0
            while time.monotonic() < until:
                try:
                    self.child.read_nonblocking(65536, timeout=0.4)
                except pexpect.TIMEOUT:
                    break
            seen = strip_ansi(self.transcript.getvalue()[start:])
            if all(w in seen for w in wanted):
                break
        # SIGINT overtakes typed keys: wait for the new prompt before typing more.
        self.child.sendcontrol("c")
        self.child.expect(PROMPT_RE)
        time.sleep(0.2)
        self.sync()
        return seen

    def env_dump(self) -> dict[str, str]:
        """The exported AWS_* and SHELLVAULT_* variables, as children see them."""
        ran = self.run("env | grep -E '^(AWS|SHELLVAULT)_' | LC_ALL=C sort")
        pairs = (ln.split("=", 1) for ln in ran.output.splitlines() if "=" in ln)
        return {k: v for k, v in pairs}

    def exit(self) -> int:
        self.child.sendline("exit")
        self.child.expect(pexpect.EOF)
        self.child.close()
        return int(self.child.exitstatus or 0)

    def kill(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)

    def tail(self, chars: int = 1500) -> str:
        return strip_ansi(self.transcript.getvalue())[-chars:].replace("\r", "")


def _buckets(output: str) -> list[str]:
    """Bucket names from `aws s3 ls` output (date time name)."""
    names = []
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 3 and re.fullmatch(r"\d{4}-\d\d-\d\d", parts[0]):
            names.append(parts[2])
    return names


class Checker:
    """Runs the steps, prints one line per step, remembers failures."""

    def __init__(self, out: Callable[[str], None]) -> None:
        self.out = out
        self.passed = 0
        self.failed: list[str] = []

    def step(self, shell: str, name: str, what: str, fn: Callable[[], str]) -> None:
        t0 = time.monotonic()
        try:
            detail = fn()
        except StepFailed as exc:
            self.fail(shell, name, what, str(exc))
            raise
        except (pexpect.TIMEOUT, pexpect.EOF) as exc:
            kind = "timed out" if isinstance(exc, pexpect.TIMEOUT) else "the shell exited"
            self.fail(shell, name, what, kind)
            raise StepFailed(kind) from exc
        self.passed += 1
        dt = time.monotonic() - t0
        self.out(f"PASS [{shell}] {name}: {what}{f' ({detail})' if detail else ''} [{dt:.1f}s]")

    def fail(self, shell: str, name: str, what: str, why: str) -> None:
        self.failed.append(f"[{shell}] {name}")
        self.out(f"FAIL [{shell}] {name}: {what}: {why}")


def check_shell(demo: Demo, shell: str, checker: Checker) -> None:
    """The tour in SHELL; stops at the first failing step."""
    world = demo.world
    assert world is not None
    sh: DemoShell | None = None
    env_before: dict[str, str] = {}

    def start() -> str:
        nonlocal sh
        try:
            home = demo.make_home(shell)
        except DemoError as exc:
            raise StepFailed(str(exc)) from exc
        sh = DemoShell(home)
        seg = sh.sync()
        if seg is not None:
            raise StepFailed(f"the first prompt already shows a segment: {seg}")
        return f"{home.rc_path.name} loaded the plugin, keys stored"

    def shell_() -> DemoShell:
        assert sh is not None
        return sh

    def eval_env() -> str:
        s = shell_()
        ran = s.run(eval_line(shell, "account-a"), mfa_answer=DEMO_MFA_CODE, max_mfa=1)
        if ran.mfa_prompts != 1:
            raise StepFailed(f"expected one MFA prompt, saw {ran.mfa_prompts}: {ran.output!r}")
        got = s.env_dump()
        loaded = got.get("SHELLVAULT_PROFILE") == "account-a" and got.get("AWS_SESSION_TOKEN")
        if ran.status != 0:
            raise StepFailed(
                f"exit status {ran.status} (credentials {'loaded' if loaded else 'not loaded'});"
                f" output: {ran.output!r}"
            )
        if not loaded:
            raise StepFailed(f"account-a's credentials are not in the shell: {sorted(got)}")
        nonlocal env_before
        env_before = got
        return f"MFA prompt answered with {DEMO_MFA_CODE}"

    def prompt() -> str:
        seg = shell_().sync()
        if seg is None or seg[0] != "account-a" or not TTL_RE.match(seg[1]):
            raise StepFailed(f"prompt segment is {seg!r}, expected ('account-a', time left)")
        return f"aws:{seg[0]} {seg[1]}"

    def complete_with_role() -> str:
        screen = shell_().completions("with-role acc", ["account-a", "account-b"])
        missing = [w for w in ("account-a", "account-b") if w not in screen]
        if missing:
            raise StepFailed(f"{missing} not offered; screen: {screen[-300:]!r}")
        return "account-a account-b"

    def complete_shellvault() -> str:
        screen = shell_().completions("shellvault a", ["auth", "add"])
        missing = [w for w in ("auth", "add") if w not in screen]
        if missing:
            raise StepFailed(f"{missing} not offered; screen: {screen[-300:]!r}")
        return "auth add"

    def s3_account_a() -> str:
        ran = shell_().run("aws s3 ls")
        names = _buckets(ran.output)
        if ran.status != 0 or names != [world.account_a_bucket]:
            raise StepFailed(f"exit {ran.status}, buckets {names}, output {ran.output!r}")
        return " ".join(names)

    def with_role_b() -> str:
        s = shell_()
        demo.moto.mark()
        ran = s.run("with-role account-b aws s3 ls", max_mfa=0)
        names = _buckets(ran.output)
        if ran.status != 0 or names != [world.account_b_bucket]:
            raise StepFailed(f"exit {ran.status}, buckets {names}, output {ran.output!r}")
        sts = demo.moto.sts_calls()
        if sts != ["AssumeRole"]:
            raise StepFailed(f"STS calls {sts}, expected only AssumeRole (MFA session reused)")
        return f"{' '.join(names)}, no MFA prompt, STS: AssumeRole only"

    def env_unchanged() -> str:
        s = shell_()
        after = s.env_dump()
        if after != env_before:
            diff = sorted(
                k for k in set(after) | set(env_before) if after.get(k) != env_before.get(k)
            )
            raise StepFailed(f"variables changed by with-role: {diff}")
        seg = s.sync()
        if seg is None or seg[0] != "account-a":
            raise StepFailed(f"prompt segment after with-role is {seg!r}")
        return f"{len(after)} AWS_/SHELLVAULT_ variables as before, prompt aws:{seg[0]}"

    def exit_() -> str:
        code = shell_().exit()
        if code != 0:
            raise StepFailed(f"the shell exited with {code}")
        return ""

    steps: list[tuple[str, str, Callable[[], str]]] = [
        ("start", f"{shell} starts with the plugin loaded, prompt without segment", start),
        ("eval-env", eval_line(shell, "account-a"), eval_env),
        ("prompt", "the prompt shows account-a and the time left", prompt),
        ("complete-with-role", "with-role acc<TAB> offers the profiles", complete_with_role),
        ("complete-shellvault", "shellvault l<TAB> offers the commands", complete_shellvault),
        ("s3-account-a", "aws s3 ls lists only account-a-bucket", s3_account_a),
        ("with-role-account-b", "with-role account-b aws s3 ls", with_role_b),
        ("env-unchanged", "the environment is unchanged after with-role", env_unchanged),
        ("exit", "exit", exit_),
    ]
    try:
        for name, what, fn in steps:
            checker.step(shell, name, what, fn)
    except StepFailed:
        if sh is not None:
            checker.out(f"---- last output of {shell} ----\n{sh.tail()}\n----")
    finally:
        if sh is not None:
            sh.kill()


def run_check(demo: Demo, shells: list[str], out: Callable[[str], None] | None = None) -> bool:
    """Check every shell in ``shells``; True when every step passed."""
    emit = out or (lambda line: print(line, flush=True))
    checker = Checker(emit)
    for shell in shells:
        check_shell(demo, shell, checker)
    if checker.failed:
        emit(f"demo check FAILED: {', '.join(checker.failed)} ({checker.passed} steps passed)")
        return False
    return True
